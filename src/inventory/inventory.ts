import type { Config, RelayConfig } from '../config/types.ts';
import type { BadInputReporter } from '../telemetry/bad-input.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { relayList, type DiscoveredMx } from './relays.ts';
import type { InventoryStatus, TrafficOpsInventory } from './traffic-ops.ts';

export type RelaysListener = (relays: readonly RelayConfig[]) => void;

/** Which relays exist: the config's, plus the MX relays Traffic Ops reports. Health, selection and the collectors follow it. */
export interface RelaySource {
  relays(): readonly RelayConfig[];
  /** Called after every change of the relay set; returns a function that unsubscribes. */
  onChange(listener: RelaysListener): () => void;
}

export interface InventoryDeps {
  log: Logger;
  metrics: Metrics;
  badInput: BadInputReporter;
}

/** The relay set, rebuilt when the config is reloaded or Traffic Ops reports another list. See README.md. */
export class RelayInventory implements RelaySource {
  #config: Config;
  #discovered: DiscoveredMx[] = [];
  #relays: RelayConfig[];
  readonly #listeners = new Set<RelaysListener>();
  readonly #deps: InventoryDeps;
  #trafficOps: TrafficOpsInventory | null = null;

  constructor(config: Config, deps: InventoryDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#relays = relayList(config, []);
  }

  relays(): readonly RelayConfig[] {
    return this.#relays;
  }

  onChange(listener: RelaysListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The relay set a new config would give, or the config error; changes nothing. */
  preview(config: Config): RelayConfig[] {
    return relayList(config, this.#discovered);
  }

  /** Takes a new config (reload). Traffic Ops settings take effect at the next start. */
  setConfig(config: Config): void {
    if (JSON.stringify(config.trafficOps) !== JSON.stringify(this.#config.trafficOps)) {
      this.#deps.log.warn('trafficOps settings changed in the config: they take effect at the next restart');
    }
    this.#config = config;
    this.#apply();
  }

  /**
   * Starts Traffic Ops discovery when the config has it. DNS already serves by then; the saved
   * inventory and a first poll get a short while (at most 3 s) before this returns.
   */
  async startDiscovery(): Promise<void> {
    const options = this.#config.trafficOps;
    if (!options) return;
    const { TrafficOpsInventory } = await import('./traffic-ops.ts');
    const trafficOps = new TrafficOpsInventory({ ...options }, this.#deps);
    this.#trafficOps = trafficOps;
    const started = trafficOps
      .start((relays) => {
        this.#discovered = relays;
        this.#apply();
        this.#deps.log.info({ relays: relays.map((r) => r.hostName) }, `inventory: ${relays.length} MX relay(s) from Traffic Ops`);
      })
      .catch((err: unknown) => this.#deps.log.error(`inventory: ${(err as Error).message}`));
    await Promise.race([started, new Promise((resolve) => setTimeout(resolve, Math.min(options.timeoutMs, 3000)).unref())]);
  }

  /** Traffic Ops discovery's status, or null without it. */
  status(): InventoryStatus | null {
    return this.#trafficOps?.status() ?? null;
  }

  async stop(): Promise<void> {
    await this.#trafficOps?.stop();
  }

  #apply(): void {
    this.#relays = relayList(this.#config, this.#discovered);
    for (const listener of this.#listeners) listener(this.#relays);
  }
}
