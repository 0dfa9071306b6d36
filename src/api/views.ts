import { isIP } from 'node:net';
import type { RelayConfig } from '../config/types.ts';
import { formatAmtRelayText } from '../dns/packet.ts';
import { driadName } from '../driad/names.ts';
import { explain } from '../driad/table.ts';
import type { DecisionTable } from '../driad/table.ts';
import type { HealthStore } from '../health/store.ts';
import type { CollectorStatus, SessionStatus } from '../collectors/context.ts';
import type { InventoryStatus } from '../inventory/traffic-ops.ts';
import type { Served } from '../server.ts';

export interface ViewContext {
  health: HealthStore;
  served: () => Served;
  table: () => DecisionTable;
  inventory: () => InventoryStatus | null;
  collectors: () => CollectorStatus[];
}

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/** GET /api/v1/relays: the inventory, each relay's state and why, every signal with its age. */
export function relaysView(ctx: ViewContext): unknown {
  const { health } = ctx;
  const served = ctx.served();
  const inventory = ctx.inventory();
  const collectors = ctx.collectors();
  return {
    now: iso(Date.now()),
    generation: health.generation,
    policy: { capacityThreshold: served.policy.capacityThreshold, rttBandMs: served.policy.rttBandMs },
    relays: served.relays.map((r) => relayView(r, health, collectors)),
    collectors: collectors.map((c) => ({ ...c, sessions: c.sessions.map(sessionView) })),
    transitions: [...health.transitions()].reverse().map((t) => ({ ...t, at: iso(t.at) })),
    inventory: {
      config: served.relays.filter((r) => r.origin === 'config').map((r) => r.name),
      trafficOps: inventory && {
        relays: inventory.relays.map((r) => r.hostName),
        fromDisk: inventory.fromDisk,
        lastSuccessAt: iso(inventory.lastSuccessAt),
        lastAttemptAt: iso(inventory.lastAttemptAt),
        lastError: inventory.lastError,
        lastErrorAt: iso(inventory.lastErrorAt),
        consecutiveFailures: inventory.consecutiveFailures,
      },
    },
  };
}

function sessionView(s: SessionStatus): unknown {
  return { ...s, since: iso(s.since), lastMessageAt: iso(s.lastMessageAt), lastErrorAt: iso(s.lastErrorAt) };
}

function relayView(r: RelayConfig, health: HealthStore, collectors: CollectorStatus[]): unknown {
  const status = health.get(r.name);
  const utilization = health.utilization(r.name);
  return {
    name: r.name,
    kind: r.kind,
    origin: r.origin,
    ipv4: r.ipv4 ?? null,
    ipv6: r.ipv6 ?? null,
    precedence: r.precedence,
    gnmiTarget: r.gnmiTarget ?? null,
    state: status?.state ?? r.state,
    reason: status?.reason ?? '',
    stateSource: status?.source ?? 'config',
    since: iso(status?.since),
    capacity: { maxTunnels: r.maxTunnels ?? null, linkBps: r.linkBps ?? null, utilization: utilization ?? null },
    rttMs: health.rttMs(r.name) ?? null,
    signals: health.signals(r.name).map((s) => ({
      source: s.source,
      kind: s.kind,
      value: s.value,
      at: iso(s.at),
      ageMs: s.ageMs,
      maxAgeMs: s.maxAgeMs,
      intervalMs: s.intervalMs ?? null,
      reason: s.reason ?? null,
      stale: s.stale,
    })),
    collectors: collectors.flatMap((c) =>
      c.sessions.filter((s) => s.relay === r.name).map((s) => ({ collector: c.collector, ...(sessionView(s) as object) })),
    ),
  };
}

export class BadParameter extends Error {}

/** GET /api/v1/explain: the answer DNS gives right now for a source (and client), and the trace of how. */
export function explainView(ctx: ViewContext, params: URLSearchParams): unknown {
  const source = params.get('source');
  if (!source) throw new BadParameter('source: required, the multicast source address (e.g. source=69.25.95.10)');
  if (isIP(source) === 0) throw new BadParameter(`source: must be an IPv4 or IPv6 address (got ${JSON.stringify(source)})`);
  const client = params.get('client') || null; // an HTML form sends an empty field as client=
  if (client !== null && isIP(client) === 0) throw new BadParameter(`client: must be an IPv4 or IPv6 address (got ${JSON.stringify(client)})`);
  for (const key of params.keys()) {
    if (key !== 'source' && key !== 'client') throw new BadParameter(`${key}: unknown parameter (use source and client)`);
  }
  const served = ctx.served();
  const { choice, trace, prepared } = explain(served.relays, ctx.health, served.policy, ctx.table(), source, client);
  const d = prepared.decision;
  const family = isIP(source);
  return {
    source,
    client,
    name: driadName(source, family === 4 ? 'amt.in-addr.arpa' : 'amt.ip6.arpa'),
    generation: d.generation,
    answer: {
      ttl: d.ttl,
      a: d.a,
      aaaa: d.aaaa,
      amtrelay: d.amtrelay.map((r) => ({ relay: r.relay, record: formatAmtRelayText(r.data) })),
    },
    rules: {
      source: choice.sourceRule >= 0 ? served.policy.sources[choice.sourceRule]?.prefix.text : null,
      client: choice.clientRule >= 0 ? served.policy.clients[choice.clientRule]?.prefix.text : null,
      ecsScope: choice.scope,
    },
    trace,
  };
}

/**
 * GET /api/v1/candidates: the relays DNS would name for a source, for this client, best first,
 * with what a browser receiver needs to choose one itself (DRIAD steps 4-5): measured RTT, loss,
 * capacity headroom. `requester` is the HTTP client's address (after trusted proxies).
 */
export function candidatesView(ctx: ViewContext, params: URLSearchParams, requester: string): unknown {
  const source = params.get('source');
  if (!source) throw new BadParameter('source: required, the multicast source address (e.g. source=69.25.95.10)');
  if (isIP(source) === 0) throw new BadParameter(`source: must be an IPv4 or IPv6 address (got ${JSON.stringify(source)})`);
  const given = params.get('client') || null;
  if (given !== null && isIP(given) === 0) throw new BadParameter(`client: must be an IPv4 or IPv6 address (got ${JSON.stringify(given)})`);
  const client = given ?? requester;
  const served = ctx.served();
  const { trace, prepared } = explain(served.relays, ctx.health, served.policy, ctx.table(), source, client);
  const d = prepared.decision;
  const sessions = ctx.collectors().flatMap((c) => c.sessions.filter((s) => s.lossRate !== undefined).map((s) => ({ collector: c.collector, ...s })));
  const byName = new Map(served.relays.map((r) => [r.name, r]));
  const candidates = d.ranked.map((name, rank) => {
    const r = byName.get(name) as RelayConfig;
    const utilization = ctx.health.utilization(name);
    const probe = sessions.find((s) => s.relay === name);
    return {
      rank: rank + 1,
      relay: name,
      kind: r.kind,
      ipv4: r.ipv4 ?? null,
      ipv6: r.ipv6 ?? null,
      amtrelay: d.amtrelay.filter((a) => a.relay === name).map((a) => formatAmtRelayText(a.data)),
      state: ctx.health.get(name)?.state ?? r.state,
      rttMs: ctx.health.rttMs(name) ?? null,
      lossRate: probe?.lossRate ?? null,
      capacity: {
        maxTunnels: r.maxTunnels ?? null,
        utilization: utilization ?? null,
        headroom: utilization === undefined ? null : Math.max(0, 1 - utilization),
        belowThreshold: utilization === undefined ? null : utilization < served.policy.capacityThreshold,
      },
    };
  });
  const removed = trace.find((s) => s.rule === 'health')?.removed ?? [];
  return {
    source,
    client,
    name: driadName(source, isIP(source) === 4 ? 'amt.in-addr.arpa' : 'amt.ip6.arpa'),
    generation: d.generation,
    ttl: d.ttl,
    candidates,
    excluded: removed,
  };
}
