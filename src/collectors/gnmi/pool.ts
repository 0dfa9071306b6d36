/** The sessions of one collector, by relay name, following the wanted targets; runs in the worker or inline. */
import type { Clock, CollectorSignal } from '../context.ts';
import { GnmiSession, type GnmiSessionStatus, type SessionBadInput, type SessionLog, type SessionMetrics } from './session.ts';
import type { GnmiSettings } from './settings.ts';

export interface PoolDeps {
  settings: GnmiSettings;
  signal(signal: CollectorSignal): void;
  log: SessionLog;
  badInput: SessionBadInput;
  metrics: SessionMetrics;
  clock: Clock;
}

export class SessionPool {
  readonly #deps: PoolDeps;
  readonly #sessions = new Map<string, GnmiSession>();
  readonly #stopping = new Set<Promise<void>>();

  constructor(deps: PoolDeps) {
    this.#deps = deps;
  }

  /** Opens a session per wanted relay (name -> target), closes those no longer wanted or whose target changed. */
  follow(want: ReadonlyMap<string, string>): void {
    for (const [name, session] of this.#sessions) {
      if (want.get(name) === session.target) continue;
      this.#sessions.delete(name);
      this.#stop(session);
      this.#deps.log.info({ relay: name }, `gNMI ${name}: session closed (${want.has(name) ? 'new target' : 'relay left the inventory'})`);
    }
    for (const [name, target] of want) {
      if (this.#sessions.has(name)) continue;
      const session = new GnmiSession({ ...this.#deps, relay: name, target });
      this.#sessions.set(name, session);
      session.start();
      this.#deps.log.info({ relay: name, target }, `gNMI ${name}: session to ${target}`);
    }
  }

  statuses(): GnmiSessionStatus[] {
    return [...this.#sessions.values()].map((s) => s.status());
  }

  async stop(): Promise<void> {
    for (const s of this.#sessions.values()) this.#stop(s);
    this.#sessions.clear();
    await Promise.all([...this.#stopping]);
  }

  #stop(session: GnmiSession): void {
    const p = session.stop().finally(() => this.#stopping.delete(p));
    this.#stopping.add(p);
  }
}
