import type { PolicyConfig, RelayConfig, RelayState } from '../config/types.ts';
import type { AmtRelayData } from '../dns/rr/amtrelay.ts';
import type { HealthStore } from '../health/store.ts';
import { parsePrefix, type Prefix } from './prefix.ts';

export interface ChosenAddress {
  relay: string;
  address: string;
}

/** The answer for one (source rule, client rule) cell of the decision table. */
export interface Decision {
  generation: number;
  ttl: number;
  /** The relay A answers name (IPv4), or null when no candidate has an IPv4 address. */
  a: ChosenAddress | null;
  aaaa: ChosenAddress | null;
  /** Every usable candidate's addresses, best first, precedence by rank; one "no relay" record (type 0) when none is usable. */
  amtrelay: Array<{ relay: string | null; data: AmtRelayData }>;
  /** Usable candidates, best first. */
  ranked: string[];
}

/** One rule of the selection as it was applied: what it looked at and what it did. */
export interface TraceStep {
  rule: string;
  detail: string;
  removed?: Array<{ relay: string; why: string }>;
  /** Per relay, the value this rule ranks by (lower ranks first). */
  keys?: Record<string, string>;
  order?: string[];
}

export interface CompiledPolicy {
  sources: Array<{ prefix: Prefix; relays: string[] }>;
  clients: Array<{ prefix: Prefix; prefer: string[] }>;
  capacityThreshold: number;
  rttBandMs: number;
  ttl: number;
  degradedTtl: number;
}

export function compilePolicy(policy: PolicyConfig, ttl: { ttl: number; degradedTtl: number }): CompiledPolicy {
  return {
    sources: policy.sources.map((r) => ({ prefix: parsePrefix(r.prefix), relays: r.relays })),
    clients: policy.clients.map((r) => ({ prefix: parsePrefix(r.prefix), prefer: r.prefer })),
    capacityThreshold: policy.capacityThreshold,
    rttBandMs: policy.rttBandMs,
    ttl: ttl.ttl,
    degradedTtl: ttl.degradedTtl,
  };
}

/** What ranking reads besides state: changes here, and only here, need a new decision table. */
export function rankingInputs(relays: readonly RelayConfig[], health: HealthStore, policy: CompiledPolicy): string {
  return relays
    .map((r) => {
      const rtt = health.rttMs(r.name);
      const band = rtt === undefined ? '-' : policy.rttBandMs > 0 ? Math.floor(rtt / policy.rttBandMs) : rtt;
      return `${band}/${(health.utilization(r.name) ?? 0) >= policy.capacityThreshold ? 1 : 0}`;
    })
    .join(',');
}

/** A policy list entry names a relay, or a kind ('juniper', 'linux') for relays discovered at run time. */
function listed(list: readonly string[], r: RelayConfig): boolean {
  return list.includes(r.name) || list.includes(r.kind);
}

const USABLE: ReadonlySet<RelayState> = new Set(['up', 'degraded']);

/** Configured preference: precedence, then MX before gateway. */
function preferenceKey(r: RelayConfig): number {
  return r.precedence * 2 + (r.kind === 'juniper' ? 0 : 1);
}

/**
 * Chooses relays for one cell: candidates from the source rule, minus relays that are down or
 * unknown, ranked by state, capacity headroom, client preference, RTT band and preference
 * (precedence, MX before gateway). Deterministic for the same inputs. Pass `trace` to record
 * each rule; the DNS path never does.
 */
export function decide(
  relays: readonly RelayConfig[],
  health: HealthStore,
  policy: CompiledPolicy,
  sourceRule: number,
  clientRule: number,
  trace?: TraceStep[],
): Decision {
  const stateOf = (r: RelayConfig): RelayState => health.get(r.name)?.state ?? r.state;
  const source = policy.sources[sourceRule];
  const candidates = source ? relays.filter((r) => listed(source.relays, r)) : [...relays];
  trace?.push({
    rule: 'source prefix',
    detail: source ? `${source.prefix.text} allows ${source.relays.join(', ')}` : 'no source rule matches: every relay is a candidate',
    order: candidates.map((r) => r.name),
  });

  const usable = candidates.filter((r) => USABLE.has(stateOf(r)));
  trace?.push({
    rule: 'health',
    detail: 'relays that are down or unknown are removed',
    removed: candidates
      .filter((r) => !USABLE.has(stateOf(r)))
      .map((r) => ({ relay: r.name, why: `${stateOf(r)}: ${health.get(r.name)?.reason ?? 'no status'}` })),
  });

  const client = policy.clients[clientRule];
  const rules: Array<{ rule: string; detail: string; key: (r: RelayConfig) => number; show: (r: RelayConfig) => string }> = [
    { rule: 'state', detail: 'up before degraded', key: (r) => (stateOf(r) === 'up' ? 0 : 1), show: stateOf },
    {
      rule: 'capacity headroom',
      detail: `relays at or above ${policy.capacityThreshold * 100}% of their tunnels rank after the others`,
      key: (r) => ((health.utilization(r.name) ?? 0) >= policy.capacityThreshold ? 1 : 0),
      show: (r) => {
        const u = health.utilization(r.name);
        return u === undefined ? 'unknown' : `${(u * 100).toFixed(1)}%`;
      },
    },
    {
      rule: 'client preference',
      detail: client ? `${client.prefix.text} prefers ${client.prefer.join(', ')}` : 'no client rule matches',
      key: (r) => (client && listed(client.prefer, r) ? 0 : 1),
      show: (r) => (client && listed(client.prefer, r) ? 'preferred' : '-'),
    },
    {
      rule: 'rtt',
      detail: `measured RTT in bands of ${policy.rttBandMs} ms; unmeasured last`,
      key: (r) => {
        const rtt = health.rttMs(r.name);
        return rtt === undefined ? Number.MAX_SAFE_INTEGER : policy.rttBandMs > 0 ? Math.floor(rtt / policy.rttBandMs) : rtt;
      },
      show: (r) => {
        const rtt = health.rttMs(r.name);
        return rtt === undefined ? 'unmeasured' : `${rtt.toFixed(1)} ms`;
      },
    },
    {
      rule: 'preference',
      detail: 'configured precedence, then MX before gateway, then name',
      key: preferenceKey,
      show: (r) => `${r.precedence}${r.kind === 'juniper' ? ' (MX)' : ''}`,
    },
  ];
  const ranked = [...usable].sort((x, y) => {
    for (const rule of rules) {
      const d = rule.key(x) - rule.key(y);
      if (d !== 0) return d;
    }
    return x.name < y.name ? -1 : x.name > y.name ? 1 : 0;
  });
  if (trace) {
    for (const rule of rules) trace.push({ rule: rule.rule, detail: rule.detail, keys: Object.fromEntries(usable.map((r) => [r.name, rule.show(r)])) });
    trace.push({ rule: 'result', detail: ranked.length ? 'usable relays, best first' : 'no usable relay', order: ranked.map((r) => r.name) });
  }

  // Receivers go by the precedence field, not record order: keep each relay's configured
  // precedence while the ranking agrees with it, and raise it just enough where it does not.
  const amtrelay: Decision['amtrelay'] = [];
  let floor = -1;
  for (const r of ranked) {
    const precedence = Math.min(255, Math.max(r.precedence, floor + 1));
    floor = precedence;
    const base = { precedence, discoveryOptional: r.discoveryOptional };
    if (r.ipv4) amtrelay.push({ relay: r.name, data: { ...base, relayType: 1, relay: r.ipv4 } });
    if (r.ipv6) amtrelay.push({ relay: r.name, data: { ...base, relayType: 2, relay: r.ipv6 } });
  }
  if (amtrelay.length === 0) amtrelay.push({ relay: null, data: { precedence: 0, discoveryOptional: false, relayType: 0, relay: null } });

  const byPreference = [...candidates].sort((x, y) => preferenceKey(x) - preferenceKey(y));
  const pick = (family: 'ipv4' | 'ipv6'): ChosenAddress | null => {
    const best = ranked.find((r) => r[family]);
    if (best) return { relay: best.name, address: best[family] as string };
    // Nothing usable: an address record cannot say "none", so name the relay of last resort.
    const lastResort = byPreference.filter((r) => r[family]).at(-1);
    return lastResort ? { relay: lastResort.name, address: lastResort[family] as string } : null;
  };
  const a = pick('ipv4');
  const aaaa = pick('ipv6');
  if (trace && ranked.length === 0 && (a || aaaa)) {
    trace.push({ rule: 'last resort', detail: `no usable relay: A/AAAA name ${a?.relay ?? aaaa?.relay}, the least preferred candidate; AMTRELAY says no relay (type 0)` });
  }

  const anyDegraded = relays.some((r) => stateOf(r) === 'degraded');
  trace?.push({ rule: 'ttl', detail: anyDegraded ? `a relay is degraded: short TTL ${policy.degradedTtl} s` : `all relays up or out: TTL ${policy.ttl} s` });
  return {
    generation: health.generation,
    ttl: anyDegraded ? policy.degradedTtl : policy.ttl,
    a,
    aaaa,
    amtrelay,
    ranked: ranked.map((r) => r.name),
  };
}
