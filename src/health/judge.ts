import type { RelayState } from '../config/types.ts';
import type { Signal } from './signals.ts';

export interface Capacity {
  maxTunnels?: number;
  linkBps?: number;
}

export interface Thresholds {
  /** Utilization (tunnels or bandwidth) at which a relay is degraded, e.g. 0.85. */
  degradedUtilization: number;
  /** Tunnel utilization at which it takes no more receivers: down, e.g. 1.0. */
  fullUtilization: number;
}

export interface Verdict {
  state: Exclude<RelayState, 'unknown'>;
  reason: string;
}

/** The newest fresh value of each kind, whichever source reported it. */
export function latest(fresh: Signal[]): Map<Signal['kind'], Signal> {
  const out = new Map<Signal['kind'], Signal>();
  for (const s of fresh) {
    const seen = out.get(s.kind);
    if (!seen || s.at > seen.at) out.set(s.kind, s);
  }
  return out;
}

/**
 * What fresh signals say about a relay, worst finding first: any report of down or unreachable,
 * then a full relay, then degraded reports or high utilization; otherwise up.
 */
export function judge(fresh: Signal[], capacity: Capacity, t: Thresholds): Verdict {
  const down = fresh.find((s) => (s.kind === 'reachable' && s.value === false) || (s.kind === 'state' && s.value === 'down'));
  if (down) return { state: 'down', reason: `${down.source}: ${down.reason ?? (down.kind === 'reachable' ? 'unreachable' : 'reports down')}` };

  const now = latest(fresh);
  const tunnels = now.get('tunnels')?.value as number | undefined;
  const bandwidth = now.get('bandwidthBps')?.value as number | undefined;
  const tunnelUse = tunnels !== undefined && capacity.maxTunnels ? tunnels / capacity.maxTunnels : undefined;
  const linkUse = bandwidth !== undefined && capacity.linkBps ? bandwidth / capacity.linkBps : undefined;
  if (tunnelUse !== undefined && tunnelUse >= t.fullUtilization) {
    return { state: 'down', reason: `full: ${tunnels} of ${capacity.maxTunnels} tunnels` };
  }
  const degraded = fresh.find((s) => s.kind === 'state' && s.value === 'degraded');
  if (degraded) return { state: 'degraded', reason: `${degraded.source}: ${degraded.reason ?? 'reports degraded'}` };
  if (tunnelUse !== undefined && tunnelUse >= t.degradedUtilization) {
    return { state: 'degraded', reason: `busy: ${tunnels} of ${capacity.maxTunnels} tunnels (${pct(tunnelUse)})` };
  }
  if (linkUse !== undefined && linkUse >= t.degradedUtilization) {
    return { state: 'degraded', reason: `busy: link at ${pct(linkUse)} of ${capacity.linkBps} bit/s` };
  }
  const parts = [`${fresh.length} fresh signal${fresh.length === 1 ? '' : 's'}`];
  if (tunnelUse !== undefined) parts.push(`tunnels at ${pct(tunnelUse)}`);
  if (linkUse !== undefined) parts.push(`link at ${pct(linkUse)}`);
  return { state: 'up', reason: parts.join(', ') };
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}
