import type { RelayConfig, RelayState } from '../config/types.ts';

export interface RelayStatus {
  name: string;
  state: RelayState;
  reason: string;
  /** Who set the state: 'config', 'admin', or a collector's name. */
  source: string;
  /** Epoch ms of the last state change. */
  since: number;
}

export type HealthListener = (generation: number, changed: RelayStatus) => void;

/**
 * The state of every relay. Each change bumps `generation`, which is what selection watches
 * to know its decisions are stale.
 */
export class HealthStore {
  #generation = 0;
  readonly #status = new Map<string, RelayStatus>();
  readonly #listeners = new Set<HealthListener>();

  constructor(relays: RelayConfig[], now = Date.now()) {
    for (const r of relays) this.#status.set(r.name, { name: r.name, state: r.state, reason: 'initial state from config', source: 'config', since: now });
  }

  get generation(): number {
    return this.#generation;
  }

  get(name: string): RelayStatus | undefined {
    return this.#status.get(name);
  }

  all(): RelayStatus[] {
    return [...this.#status.values()];
  }

  /** Returns false when the relay is unknown; a same-state update only refreshes the reason. */
  set(name: string, state: RelayState, reason: string, source: string, now = Date.now()): boolean {
    const current = this.#status.get(name);
    if (!current) return false;
    if (current.state === state) {
      current.reason = reason;
      current.source = source;
      return true;
    }
    const next: RelayStatus = { name, state, reason, source, since: now };
    this.#status.set(name, next);
    this.#generation++;
    for (const listener of this.#listeners) listener(this.#generation, next);
    return true;
  }

  /** After a config reload: keep the state of relays that remain, add new ones, drop removed ones. */
  reconcile(relays: RelayConfig[], now = Date.now()): void {
    const names = new Set(relays.map((r) => r.name));
    let changed = false;
    for (const name of this.#status.keys()) {
      if (!names.has(name)) {
        this.#status.delete(name);
        changed = true;
      }
    }
    for (const r of relays) {
      if (!this.#status.has(r.name)) {
        this.#status.set(r.name, { name: r.name, state: r.state, reason: 'initial state from config', source: 'config', since: now });
        changed = true;
      }
    }
    if (changed) this.#generation++;
  }

  onChange(listener: HealthListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
