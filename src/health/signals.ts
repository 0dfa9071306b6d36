/**
 * A signal is the one way into relay health: a collector (gNMI, IPFIX, eBPF), the RTT prober,
 * or an operator reports one fact about one relay, with when it was true and how long it stays so.
 */
export type SignalKind = 'state' | 'reachable' | 'tunnels' | 'bandwidthBps' | 'rttMs' | 'packetsPerSecond' | 'discoveriesPerSecond' | 'requestsPerSecond';
export const SIGNAL_KINDS: readonly SignalKind[] = ['state', 'reachable', 'tunnels', 'bandwidthBps', 'rttMs', 'packetsPerSecond', 'discoveriesPerSecond', 'requestsPerSecond'];

export interface Signal {
  relay: string;
  /** Who reported it: 'gnmi', 'ipfix', 'ebpf', 'prober', 'admin', a test... */
  source: string;
  kind: SignalKind;
  /**
   * state: 'up' | 'degraded' | 'down'; reachable: boolean; the others: a number >= 0. bandwidthBps is
   * bits per second; packetsPerSecond (AMT messages), discoveriesPerSecond (Relay Discovery) and
   * requestsPerSecond (Request) are per second, averaged over the reporting interval.
   */
  value: string | number | boolean;
  /** Epoch ms when the fact was observed. */
  at: number;
  /** After this long without a newer signal from the same source and kind, it no longer counts. */
  maxAgeMs: number;
  /** For a source that reports periodically: how often; maxAgeMs was derived from it. */
  intervalMs?: number;
  /** Why, in a few words, when the value is bad news (e.g. 'gNMI auth failed'): explain and the relay's reason show it. */
  reason?: string;
}

export interface SignalDefaults {
  /** Max age of a signal that gives neither maxAgeMs nor intervalMs. */
  maxAgeMs: number;
  /** A periodic source that falls silent makes its relay unknown within this many intervals. */
  silenceIntervals: number;
}

/** Time driad needs between a signal expiring and the next answer changing (timer, rebuild, send). */
const ACT_MARGIN_MS = 5;

/**
 * Max age for a signal repeated every intervalMs, so that silence makes the relay unknown within
 * `intervals` intervals of the last report: slightly less than that, to leave time to act.
 */
export function maxAgeForInterval(intervalMs: number, intervals: number): number {
  return intervals * intervalMs - Math.min(ACT_MARGIN_MS, intervalMs / 20);
}

const STATES = ['up', 'degraded', 'down'];

/** Checks a signal from outside (the API) and fills in defaults; throws naming the field. */
export function parseSignal(raw: unknown, now: number, defaults: SignalDefaults): Signal {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('signal must be a JSON object');
  const r = raw as Record<string, unknown>;
  const text = (key: string): string => {
    const v = r[key];
    if (typeof v !== 'string' || v === '' || v.length > 100) throw new Error(`${key} must be a non-empty string of at most 100 characters`);
    return v;
  };
  const relay = text('relay');
  const source = text('source');
  const kind = text('kind') as SignalKind;
  if (!SIGNAL_KINDS.includes(kind)) throw new Error(`kind must be one of ${SIGNAL_KINDS.join(', ')}`);
  const value = r.value;
  if (kind === 'state' && !(typeof value === 'string' && STATES.includes(value))) throw new Error(`value of a state signal must be one of ${STATES.join(', ')}`);
  if (kind === 'reachable' && typeof value !== 'boolean') throw new Error('value of a reachable signal must be true or false');
  if (kind !== 'state' && kind !== 'reachable' && !(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
    throw new Error(`value of a ${kind} signal must be a number >= 0`);
  }
  const at = r.at === undefined ? now : r.at;
  if (typeof at !== 'number' || !Number.isFinite(at) || at > now + 60_000) throw new Error('at must be epoch milliseconds, not in the future');
  const signal: Signal = { relay, source, kind, value: value as Signal['value'], at, maxAgeMs: defaults.maxAgeMs };
  if (r.reason !== undefined) signal.reason = text('reason');
  if (r.maxAgeMs !== undefined && r.intervalMs !== undefined) throw new Error('give maxAgeMs or intervalMs, not both');
  if (r.intervalMs !== undefined) {
    signal.intervalMs = duration(r.intervalMs, 'intervalMs', Math.floor(86_400_000 / defaults.silenceIntervals));
    signal.maxAgeMs = maxAgeForInterval(signal.intervalMs, defaults.silenceIntervals);
  } else if (r.maxAgeMs !== undefined) {
    signal.maxAgeMs = duration(r.maxAgeMs, 'maxAgeMs', 86_400_000);
  }
  return signal;
}

function duration(v: unknown, key: string, max: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 1 || v > max) throw new Error(`${key} must be a number from 1 to ${max}`);
  return v;
}
