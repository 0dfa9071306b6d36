import type { AccountingRecord } from '../accounting/records.ts';
import { SpoolRefused } from '../accounting/spool.ts';
import type { Config } from '../config/types.ts';
import { maxAgeForInterval, type Signal } from '../health/signals.ts';
import type { HealthStore } from '../health/store.ts';
import type { RelaySource } from '../inventory/inventory.ts';
import type { BadInputReporter } from '../telemetry/bad-input.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { ebpfCollector } from './ebpf/setup.ts';
import type { Collector, CollectorContext, CollectorDefinition, CollectorSignal, CollectorStatus } from './context.ts';
import { gnmiCollector } from './gnmi/setup.ts';
import { proberDefinition } from '../prober/setup.ts';
import { ipfixCollector } from './ipfix/setup.ts';

export type { Collector, CollectorContext, CollectorDefinition, CollectorSignal, CollectorStatus, SessionStatus } from './context.ts';

/** Every built-in collector, in start order. */
const DEFINITIONS: ReadonlyArray<CollectorDefinition<unknown>> = [
  gnmiCollector as CollectorDefinition<unknown>,
  ipfixCollector as CollectorDefinition<unknown>,
  proberDefinition as CollectorDefinition<unknown>,
  ebpfCollector as CollectorDefinition<unknown>,
];

export interface CollectorDeps {
  relays: RelaySource;
  health: HealthStore;
  log: Logger;
  metrics: Metrics;
  badInput: BadInputReporter;
  /** The accounting spool's sink (src/accounting/start.ts); without it, records are refused as 'disabled'. */
  accounting?: { account(record: AccountingRecord): Promise<void> };
}

/** The running collectors: started from the config, restarted one by one when their section changes on reload. */
export interface Collectors {
  statuses(): CollectorStatus[];
  reload(config: Config): Promise<void>;
  stop(): Promise<void>;
}

export async function startCollectors(config: Config, deps: CollectorDeps, definitions = DEFINITIONS): Promise<Collectors> {
  const running = new Map<string, { section: string; collector: Collector }>();
  let current = config;

  const start = async <C>(def: CollectorDefinition<C>, section: C): Promise<void> => {
    try {
      const collector = await def.start(context(def.name, section, () => current, deps));
      running.set(def.name, { section: JSON.stringify(section), collector });
    } catch (err) {
      // A collector that cannot start leaves its relays to their other signals; DNS keeps serving.
      deps.log.error({ collector: def.name }, `collector ${def.name} did not start: ${(err as Error).message}`);
    }
  };
  for (const def of definitions) {
    const section = def.configOf(config);
    if (section !== null) await start(def, section);
  }

  return {
    statuses: () => [...running.values()].map((r) => r.collector.status()),
    async reload(next: Config) {
      current = next;
      for (const def of definitions) {
        const section = def.configOf(next);
        const was = running.get(def.name);
        if (was && section !== null && was.section === JSON.stringify(section)) continue;
        if (was) {
          running.delete(def.name);
          await was.collector.stop();
        }
        if (section !== null) await start(def, section);
      }
    },
    async stop() {
      const all = [...running.values()];
      running.clear();
      await Promise.all(all.map((r) => r.collector.stop()));
    },
  };
}

function context<C>(name: string, config: C, currentConfig: () => Config, deps: CollectorDeps): CollectorContext<C> {
  return {
    name,
    config,
    relays: deps.relays,
    signal: (s: CollectorSignal) => deps.health.ingest(toSignal(name, s, currentConfig())),
    account: (record) => (deps.accounting ? deps.accounting.account(record) : Promise.reject(new SpoolRefused('disabled', 'accounting is not enabled (accounting.enabled)'))),
    log: deps.log.child({ collector: name }),
    metrics: deps.metrics,
    badInput: deps.badInput,
    clock: { now: Date.now },
  };
}

function toSignal(source: string, s: CollectorSignal, config: Config): Signal {
  if ('intervalMs' in s) return { ...s, source, maxAgeMs: maxAgeForInterval(s.intervalMs, config.health.silenceIntervals) };
  return { ...s, source };
}
