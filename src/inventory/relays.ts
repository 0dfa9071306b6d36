// The relay set: the MX and the gateway from the config (the seed's Helm values), extra relays
// from `relays[]`, and MX relays discovered in Traffic Ops, each MX with its gNMI target.

import { isIP } from 'node:net';
import { ConfigError } from '../config/errors.ts';
import type { Config, RelayConfig } from '../config/types.ts';

const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

/** Junos serves gNMI on this port unless configured otherwise. */
const GNMI_PORT = 32767;

export function defaultGnmiTarget(ipv4: string | undefined, ipv6: string | undefined): string | undefined {
  if (ipv4) return `${ipv4}:${GNMI_PORT}`;
  if (ipv6) return `[${ipv6}]:${GNMI_PORT}`;
  return undefined;
}

/** The host part of HOST:PORT, without IPv6 brackets. */
function targetHost(target: string): string {
  return target.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
}


/** The MX relays Traffic Ops reports, as the inventory hands them over. */
export interface DiscoveredMx {
  hostName: string;
  ipv4?: string;
  ipv6?: string;
}

/**
 * Every relay: the MX (from amtRelayPublicIP when set, else each MX Traffic Ops discovered),
 * the gateway, then any extra relays from the config.
 */
export function relayList(config: Config, discovered: readonly DiscoveredMx[]): RelayConfig[] {
  const out: RelayConfig[] = [];
  const { amtRelay, gateway } = config;
  const mx = (name: string, ipv4: string | undefined, ipv6: string | undefined, origin: RelayConfig['origin']): RelayConfig => ({
    name,
    kind: 'juniper',
    ipv4,
    ipv6,
    precedence: amtRelay.precedence,
    discoveryOptional: false,
    state: 'up',
    maxTunnels: amtRelay.maxTunnels,
    linkBps: amtRelay.linkBps,
    origin,
    gnmiTarget: defaultGnmiTarget(ipv4, ipv6),
  });
  if (amtRelay.enabled && amtRelay.relayType === 'juniper') {
    const ip = amtRelay.amtRelayPublicIP;
    const mxs = ip
      ? [mx('mx', isIP(ip) === 4 ? ip : undefined, isIP(ip) === 6 ? ip : undefined, 'config')]
      : discovered.map((d) => mx(d.hostName, d.ipv4, d.ipv6, 'traffic-ops'));
    const explicit = amtRelay.gnmiTarget;
    if (explicit !== undefined && mxs.length > 0) {
      // One explicit target: it belongs to the MX at that address, else to the first (Traffic Ops lists them by host name).
      const host = targetHost(explicit);
      const owner = mxs.find((m) => m.ipv4 === host || m.ipv6 === host) ?? mxs[0]!;
      owner.gnmiTarget = explicit;
    }
    out.push(...mxs);
  }
  if (gateway.publicIP || gateway.publicIPv6) {
    out.push({
      name: 'gateway',
      kind: 'linux',
      ipv4: gateway.publicIP,
      ipv6: gateway.publicIPv6,
      precedence: gateway.precedence,
      discoveryOptional: false,
      state: 'up',
      maxTunnels: gateway.maxTunnels,
      linkBps: gateway.linkBps,
      origin: 'config',
    });
  }
  for (const [i, r] of config.relays.entries()) {
    if (out.some((o) => o.name === r.name && o.origin === 'config')) throw new ConfigError(`relays[${i}].name`, `duplicate relay name ${show(r.name)}`);
    out.push(r);
  }
  // A discovered MX whose host name a configured relay already uses yields to the configured one.
  const configured = new Set(out.filter((r) => r.origin === 'config').map((r) => r.name));
  for (let i = out.length - 1; i >= 0; i--) {
    const r = out[i] as RelayConfig;
    if (r.origin === 'traffic-ops' && configured.has(r.name)) out.splice(i, 1);
  }
  if (out.length === 0 && !config.trafficOps) {
    throw new ConfigError('gateway.publicIP', 'no relay configured: set amtRelay.amtRelayPublicIP, gateway.publicIP, relays or trafficOps');
  }
  return out;
}
