import type { RelayConfig, RelayState } from '../config/types.ts';
import { judge, latest, type Capacity, type Thresholds, type Verdict } from './judge.ts';
import type { Signal } from './signals.ts';

export interface HealthPolicy extends Thresholds {
  /** Consecutive evaluations agreeing on a worse state before the relay takes it. */
  downAfter: number;
  /** Consecutive evaluations agreeing on a better state before the relay takes it. */
  upAfter: number;
  /** Minimum time in a state before the relay may move to a better one. */
  minHoldMs: number;
}

export interface RelayStatus {
  name: string;
  state: RelayState;
  reason: string;
  /** What decided the state: 'config' (no signal yet), 'admin' (an operator override) or 'signals'. */
  source: 'config' | 'admin' | 'signals';
  /** Epoch ms of the last state change. */
  since: number;
}

export interface Transition {
  at: number;
  relay: string;
  from: RelayState;
  to: RelayState;
  reason: string;
  source: RelayStatus['source'];
}

export interface SignalView extends Signal {
  ageMs: number;
  stale: boolean;
}

export type HealthListener = (generation: number, changed: RelayStatus, from: RelayState) => void;

interface Tracked {
  config: RelayConfig;
  status: RelayStatus;
  /** Latest signal per source and kind. */
  signals: Map<string, Signal>;
  override: { state: RelayState; reason: string } | null;
  /** The verdict the last evaluations agreed on, and how many in a row. */
  streak: { state: RelayState; count: number };
  timer: NodeJS.Timeout | null;
}

const RANK: Record<RelayState, number> = { up: 0, degraded: 1, down: 2, unknown: 2 };
const MAX_TRANSITIONS = 100;

/**
 * Relay state from signals: freshness (a relay whose signals have all expired is unknown),
 * hysteresis (consecutive agreeing evaluations, and a minimum hold before recovering), and
 * operator overrides. Every change bumps `generation` and tells the listeners at once.
 */
export class HealthStore {
  #generation = 0;
  #policy: HealthPolicy;
  readonly #relays = new Map<string, Tracked>();
  readonly #listeners = new Set<HealthListener>();
  readonly #signalListeners = new Set<() => void>();
  readonly #transitions: Transition[] = [];
  readonly #now: () => number;

  constructor(relays: readonly RelayConfig[], policy: HealthPolicy, now: () => number = Date.now) {
    this.#policy = policy;
    this.#now = now;
    for (const r of relays) this.#track(r);
  }

  get generation(): number {
    return this.#generation;
  }

  get(name: string): RelayStatus | undefined {
    return this.#relays.get(name)?.status;
  }

  all(): RelayStatus[] {
    return [...this.#relays.values()].map((t) => t.status);
  }

  transitions(): readonly Transition[] {
    return this.#transitions;
  }

  signals(name: string): SignalView[] {
    const t = this.#relays.get(name);
    if (!t) return [];
    const now = this.#now();
    return [...t.signals.values()].map((s) => ({ ...s, ageMs: now - s.at, stale: !isFresh(s, now) }));
  }

  /** The freshest RTT any source measured, for ranking; undefined when none is fresh. */
  rttMs(name: string): number | undefined {
    return this.#fresh(name, 'rttMs') as number | undefined;
  }

  /** Tunnel utilization 0..1 from the freshest tunnel count, when capacity is known. */
  utilization(name: string): number | undefined {
    const t = this.#relays.get(name);
    const tunnels = this.#fresh(name, 'tunnels') as number | undefined;
    return t?.config.maxTunnels && tunnels !== undefined ? tunnels / t.config.maxTunnels : undefined;
  }

  /** Takes a signal; false when no relay has that name. */
  ingest(signal: Signal): boolean {
    const t = this.#relays.get(signal.relay);
    if (!t) return false;
    const key = `${signal.source}/${signal.kind}`;
    const seen = t.signals.get(key);
    if (!seen || signal.at >= seen.at) t.signals.set(key, signal);
    this.#evaluate(t);
    for (const listener of this.#signalListeners) listener();
    return true;
  }

  /** An operator's word wins over signals until cleared; false when no relay has that name. */
  setOverride(name: string, state: RelayState, reason: string): boolean {
    const t = this.#relays.get(name);
    if (!t) return false;
    t.override = { state, reason };
    this.#evaluate(t);
    return true;
  }

  clearOverride(name: string): boolean {
    const t = this.#relays.get(name);
    if (!t) return false;
    t.override = null;
    t.streak = { state: t.status.state, count: 0 };
    this.#evaluate(t, true);
    return true;
  }

  /** After a config reload or an inventory change: keep what is known of relays that remain. */
  reconcile(relays: readonly RelayConfig[], policy: HealthPolicy = this.#policy): void {
    this.#policy = policy;
    const names = new Set(relays.map((r) => r.name));
    let changed = false;
    for (const [name, t] of this.#relays) {
      if (!names.has(name)) {
        if (t.timer) clearTimeout(t.timer);
        this.#relays.delete(name);
        changed = true;
      }
    }
    for (const r of relays) {
      const t = this.#relays.get(r.name);
      if (t) t.config = r;
      else {
        this.#track(r);
        changed = true;
      }
    }
    if (changed) this.#generation++;
  }

  onChange(listener: HealthListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Called after every signal taken or expired, state change or not: measurements (RTT, load) rank relays too. */
  onSignals(listener: () => void): () => void {
    this.#signalListeners.add(listener);
    return () => this.#signalListeners.delete(listener);
  }

  close(): void {
    for (const t of this.#relays.values()) if (t.timer) clearTimeout(t.timer);
  }

  #track(r: RelayConfig): void {
    const status: RelayStatus = { name: r.name, state: r.state, reason: 'no signal yet: state from config', source: 'config', since: this.#now() };
    this.#relays.set(r.name, { config: r, status, signals: new Map(), override: null, streak: { state: r.state, count: 0 }, timer: null });
  }

  #fresh(name: string, kind: Signal['kind']): Signal['value'] | undefined {
    const t = this.#relays.get(name);
    if (!t) return undefined;
    const now = this.#now();
    return latest([...t.signals.values()].filter((s) => s.kind === kind && isFresh(s, now))).get(kind)?.value;
  }

  #evaluate(t: Tracked, force = false): void {
    const now = this.#now();
    if (t.timer) {
      clearTimeout(t.timer);
      t.timer = null;
    }
    if (t.override) return this.#apply(t, t.override.state, t.override.reason, 'admin', now);
    if (t.signals.size === 0) return this.#apply(t, t.config.state, 'no signal yet: state from config', 'config', now);

    const fresh = [...t.signals.values()].filter((s) => isFresh(s, now));
    if (fresh.length === 0) return this.#apply(t, 'unknown', staleReason(t, now), 'signals', now);

    const verdict: Verdict = judge(fresh, capacityOf(t.config), this.#policy);
    this.#scheduleExpiry(t, fresh, now);
    if (verdict.state === t.status.state) {
      t.streak = { state: verdict.state, count: 0 };
      t.status.reason = verdict.reason;
      t.status.source = 'signals';
      return;
    }
    t.streak = t.streak.state === verdict.state ? { state: verdict.state, count: t.streak.count + 1 } : { state: verdict.state, count: 1 };
    const better = RANK[verdict.state] < RANK[t.status.state];
    const needed = better ? this.#policy.upAfter : this.#policy.downAfter;
    if (!force && t.streak.count < needed) return;
    if (better && !force && t.status.source !== 'config' && now - t.status.since < this.#policy.minHoldMs) {
      // Come back when the hold ends, or sooner if the signals expire first: silence must not wait for the hold.
      this.#scheduleAt(t, Math.min(t.status.since + this.#policy.minHoldMs, firstExpiry(fresh)) - now);
      return;
    }
    this.#apply(t, verdict.state, verdict.reason, 'signals', now);
  }

  #apply(t: Tracked, state: RelayState, reason: string, source: RelayStatus['source'], now: number): void {
    const from = t.status.state;
    if (from === state) {
      t.status.reason = reason;
      t.status.source = source;
      return;
    }
    t.status = { name: t.config.name, state, reason, source, since: now };
    t.streak = { state, count: 0 };
    this.#generation++;
    this.#transitions.push({ at: now, relay: t.config.name, from, to: state, reason, source });
    if (this.#transitions.length > MAX_TRANSITIONS) this.#transitions.shift();
    for (const listener of this.#listeners) listener(this.#generation, t.status, from);
  }

  /** Re-evaluates when the first fresh signal expires, so silence turns into `unknown` on time. */
  #scheduleExpiry(t: Tracked, fresh: Signal[], now: number): void {
    this.#scheduleAt(t, firstExpiry(fresh) - now);
  }

  #scheduleAt(t: Tracked, delayMs: number): void {
    if (t.timer) clearTimeout(t.timer);
    t.timer = setTimeout(() => {
      t.timer = null;
      this.#evaluate(t, false);
      for (const listener of this.#signalListeners) listener();
    }, Math.max(0, delayMs));
    t.timer.unref();
  }
}

/** A signal counts for less than maxAgeMs after it was observed: at `at + maxAgeMs` it has expired. */
function isFresh(s: Signal, now: number): boolean {
  return now - s.at < s.maxAgeMs;
}

function firstExpiry(fresh: Signal[]): number {
  return Math.min(...fresh.map((s) => s.at + s.maxAgeMs));
}

function capacityOf(r: RelayConfig): Capacity {
  return { maxTunnels: r.maxTunnels, linkBps: r.linkBps };
}

function staleReason(t: Tracked, now: number): string {
  const newest = [...t.signals.values()].reduce((a, b) => (b.at > a.at ? b : a));
  return `no fresh signal: newest is ${newest.source}/${newest.kind}, ${((now - newest.at) / 1000).toFixed(1)} s old (max age ${(newest.maxAgeMs / 1000).toFixed(1)} s)${newest.reason ? `: ${newest.reason}` : ''}`;
}
