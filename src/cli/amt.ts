// `driad amt analyze FILE.pcap`: the tunnels of a capture, through the same codec and tunnel
// table as the live tracker.
import { readFile } from 'node:fs/promises';
import { AMT_PORT } from '../amt/messages.ts';
import { readPcap } from '../capture/pcap.ts';
import { decodeCapturedFrame } from '../collectors/ebpf/capture-decode.ts';
import { KINDS, TunnelTable, type Counters } from '../collectors/ebpf/tunnel-table.ts';

export interface Analysis {
  file: string;
  packets: number;
  /** Records that are not UDP to or from the AMT port (other traffic, fragments). */
  skipped: number;
  /** AMT-port datagrams that are not valid AMT, by reason (and Updates whose report does not decode). */
  malformed: Record<string, number>;
  deviations: Record<string, number>;
  /** Whether the file ended cleanly; otherwise why not (what came before is still analysed). */
  pcapError: string | null;
  /** Tunnels active at the time of the last packet. */
  activeTunnels: number;
  activeAddresses: number;
  gateways: Array<{
    address: string;
    port: number;
    firstSeen: string;
    lastSeen: string;
    active: boolean;
    tornDown: boolean;
    groups: string[];
    joins: number;
    leaves: number;
    messages: Partial<Record<keyof Counters, number>>;
    bytes: number;
    nonceMismatches: number;
    kernelShapedRequests: number;
    kernelShapedQueries: number;
  }>;
}

export function analyzePcap(bytes: Uint8Array, o: { file?: string; port?: number; idleMs?: number } = {}): Analysis {
  const port = o.port ?? AMT_PORT;
  const table = new TunnelTable({ idleMs: o.idleMs, maxEntries: 10_000_000 });
  const r = readPcap(bytes);
  const malformed: Record<string, number> = {};
  const deviations: Record<string, number> = {};
  let skipped = 0;
  let last = 0;
  const linktype = r.header?.linktype ?? 1;
  for (const rec of r.records) {
    const at = rec.seconds * 1000 + Math.floor(rec.nanos / 1e6);
    last = Math.max(last, at);
    const d = decodeCapturedFrame(linktype, rec.data, at, port);
    if (d.ok) {
      table.observe(d.observation);
      if (d.deviation) deviations[d.deviation] = (deviations[d.deviation] ?? 0) + 1;
      if (d.reportError) malformed[d.reportError] = (malformed[d.reportError] ?? 0) + 1;
    } else if (d.skip) skipped++;
    else malformed[d.reason] = (malformed[d.reason] ?? 0) + 1;
  }
  // "Active" at the end of the capture: a capture shorter than the idle time shows every tunnel not torn down.
  const now = last + 1;
  const active = table.active(now);
  return {
    file: o.file ?? '-',
    packets: r.records.length,
    skipped,
    malformed,
    deviations,
    pcapError: r.ok ? null : `${r.error.reason}: ${r.error.detail}`,
    activeTunnels: active.tunnels,
    activeAddresses: active.addresses,
    gateways: table.entries().map((e) => ({
      address: e.address,
      port: e.port,
      firstSeen: new Date(e.firstSeen).toISOString(),
      lastSeen: new Date(e.lastSeen).toISOString(),
      active: table.isActive(e, now),
      tornDown: e.tornDown,
      groups: [...e.groups].sort(),
      joins: e.joins,
      leaves: e.leaves,
      messages: Object.fromEntries(KINDS.filter((k) => e.counters[k].packets > 0).map((k) => [k, e.counters[k].packets])),
      bytes: KINDS.reduce((sum, k) => sum + e.counters[k].bytes, 0),
      nonceMismatches: e.deviations.nonceMismatches,
      kernelShapedRequests: e.deviations.kernelShapedRequests,
      kernelShapedQueries: e.deviations.kernelShapedQueries,
    })),
  };
}

export async function analyzeFile(file: string, o: { port?: number } = {}): Promise<Analysis> {
  return analyzePcap(await readFile(file), { ...o, file });
}

export function formatAnalysis(a: Analysis): string {
  const lines = [
    `${a.file}: ${a.packets} packets, ${a.gateways.length} gateways, ${a.activeTunnels} active tunnels (${a.activeAddresses} gateway addresses, the kernel's count)`,
  ];
  if (a.pcapError) lines.push(`pcap: ${a.pcapError}`);
  const counts = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
  lines.push(`malformed: ${counts(a.malformed)}`, `deviations: ${counts(a.deviations)}`, `not AMT: ${a.skipped}`);
  for (const g of a.gateways) {
    const state = g.active ? 'active' : g.tornDown ? 'torn down' : 'idle';
    const where = g.address.includes(':') ? `[${g.address}]:${g.port}` : `${g.address}:${g.port}`;
    lines.push(
      `${where}  ${state}  groups ${g.groups.join(' ') || '-'}  messages ${counts(g.messages)}  bytes ${g.bytes}` +
        (g.nonceMismatches ? `  nonce mismatches ${g.nonceMismatches}` : '') +
        (g.kernelShapedRequests ? `  kernel-shaped requests ${g.kernelShapedRequests}` : ''),
    );
  }
  return lines.join('\n');
}
