/** Human-readable views of the API's JSON for the CLI. */

interface RelayJson {
  name: string;
  kind: string;
  origin: string;
  ipv4: string | null;
  ipv6: string | null;
  state: string;
  reason: string;
  since: string | null;
  rttMs: number | null;
  capacity: { utilization: number | null };
  signals: Array<{ source: string; kind: string; value: unknown; ageMs: number; stale: boolean }>;
}

export function formatRelays(body: { relays: RelayJson[]; inventory?: { trafficOps?: { lastError: string | null; lastSuccessAt: string | null } | null } }): string {
  const rows = body.relays.map((r) => [
    r.name,
    r.kind,
    r.origin,
    [r.ipv4, r.ipv6].filter(Boolean).join(' '),
    r.state,
    r.capacity.utilization === null ? '-' : `${(r.capacity.utilization * 100).toFixed(1)}%`,
    r.rttMs === null ? '-' : `${r.rttMs.toFixed(1)} ms`,
    r.reason,
  ]);
  const lines = table(['RELAY', 'KIND', 'ORIGIN', 'ADDRESS', 'STATE', 'LOAD', 'RTT', 'REASON'], rows);
  for (const r of body.relays) {
    if (r.signals.length === 0) continue;
    lines.push(`${r.name} signals:`);
    for (const s of r.signals) {
      lines.push(`  ${s.source}/${s.kind} = ${JSON.stringify(s.value)}, ${(s.ageMs / 1000).toFixed(1)} s old${s.stale ? ' (stale)' : ''}`);
    }
  }
  const to = body.inventory?.trafficOps;
  if (to) lines.push(`traffic ops: last success ${to.lastSuccessAt ?? 'never'}${to.lastError ? `; last error: ${to.lastError}` : ''}`);
  return lines.join('\n');
}

interface ExplainJson {
  source: string;
  client: string | null;
  name: string;
  answer: { ttl: number; a: { relay: string; address: string } | null; aaaa: { relay: string; address: string } | null; amtrelay: Array<{ relay: string | null; record: string }> };
  rules: { source: string | null; client: string | null; ecsScope: number };
  trace: Array<{ rule: string; detail: string; removed?: Array<{ relay: string; why: string }>; keys?: Record<string, string>; order?: string[] }>;
}

export function formatExplain(e: ExplainJson): string {
  const lines = [`${e.source}${e.client ? ` for client ${e.client}` : ''}: ${e.name}`, `answer (TTL ${e.answer.ttl} s):`];
  if (e.answer.a) lines.push(`  A         ${e.answer.a.address}  (${e.answer.a.relay})`);
  if (e.answer.aaaa) lines.push(`  AAAA      ${e.answer.aaaa.address}  (${e.answer.aaaa.relay})`);
  for (const r of e.answer.amtrelay) lines.push(`  AMTRELAY  ${r.record}${r.relay ? `  (${r.relay})` : ''}`);
  lines.push(`rules: source ${e.rules.source ?? 'none matched'}, client ${e.rules.client ?? 'none matched'}`, 'trace:');
  e.trace.forEach((step, i) => {
    lines.push(`  ${i + 1}. ${step.rule}: ${step.detail}`);
    for (const r of step.removed ?? []) lines.push(`       removed ${r.relay}: ${r.why}`);
    if (step.keys && Object.keys(step.keys).length) lines.push(`       ${Object.entries(step.keys).map(([k, v]) => `${k}=${v}`).join('  ')}`);
    if (step.order) lines.push(`       -> ${step.order.length ? step.order.join(', ') : '(none)'}`);
  });
  return lines.join('\n');
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return [line(header), ...rows.map(line)];
}
