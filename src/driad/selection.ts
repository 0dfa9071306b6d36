import type { RelayConfig, RelayState } from '../config/types.ts';
import type { AmtRelayData } from '../dns/rr/amtrelay.ts';
import type { HealthStore } from '../health/store.ts';

export interface ChosenAddress {
  relay: string;
  address: string;
}

/** The answer for a multicast source: the same for every source until per-prefix policy arrives. */
export interface Decision {
  generation: number;
  ttl: number;
  /** The relay named in A answers (IPv4), or null when no relay has an IPv4 address. */
  a: ChosenAddress | null;
  aaaa: ChosenAddress | null;
  /** Every usable relay address, best first; a single "no relay" record (type 0) when none is usable. */
  amtrelay: Array<{ relay: string | null; data: AmtRelayData }>;
}

export interface SelectionPolicy {
  ttl: number;
  degradedTtl: number;
}

const USABLE: ReadonlySet<RelayState> = new Set(['up', 'degraded']);

/**
 * A/AAAA: the most preferred relay that is up, else the most preferred degraded one, else the
 * relay of last resort (the least preferred, normally the Linux gateway on this node).
 * AMTRELAY: every usable relay by precedence. TTL: short while any relay is degraded.
 */
export function decide(relays: RelayConfig[], health: HealthStore, policy: SelectionPolicy): Decision {
  const stateOf = (r: RelayConfig): RelayState => health.get(r.name)?.state ?? r.state;
  const byPreference = [...relays].sort((x, y) => x.precedence - y.precedence || kindRank(x) - kindRank(y));

  const pick = (family: 'ipv4' | 'ipv6'): ChosenAddress | null => {
    const withFamily = byPreference.filter((r) => r[family]);
    const chosen =
      withFamily.find((r) => stateOf(r) === 'up') ??
      withFamily.find((r) => stateOf(r) === 'degraded') ??
      withFamily[withFamily.length - 1];
    return chosen ? { relay: chosen.name, address: chosen[family] as string } : null;
  };

  const amtrelay: Decision['amtrelay'] = [];
  for (const r of byPreference) {
    if (!USABLE.has(stateOf(r))) continue;
    const base = { precedence: r.precedence, discoveryOptional: r.discoveryOptional };
    if (r.ipv4) amtrelay.push({ relay: r.name, data: { ...base, relayType: 1, relay: r.ipv4 } });
    if (r.ipv6) amtrelay.push({ relay: r.name, data: { ...base, relayType: 2, relay: r.ipv6 } });
  }
  if (amtrelay.length === 0) {
    amtrelay.push({ relay: null, data: { precedence: 0, discoveryOptional: false, relayType: 0, relay: null } });
  }

  const anyDegraded = relays.some((r) => stateOf(r) === 'degraded');
  return {
    generation: health.generation,
    ttl: anyDegraded ? policy.degradedTtl : policy.ttl,
    a: pick('ipv4'),
    aaaa: pick('ipv6'),
    amtrelay,
  };
}

/** MX hardware before the Linux gateway when precedence ties. */
function kindRank(r: RelayConfig): number {
  return r.kind === 'juniper' ? 0 : 1;
}
