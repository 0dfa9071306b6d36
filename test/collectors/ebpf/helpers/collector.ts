// Starts the ebpf collector on its own, with a relay set of one linux relay and the signals it
// sends collected, as src/collectors/index.ts would wire it.
import { defaultConfig } from '../../../../src/config/defaults.ts';
import type { EbpfConfig, RelayConfig } from '../../../../src/config/types.ts';
import type { CollectorContext, CollectorSignal } from '../../../../src/collectors/context.ts';
import { EbpfTracker } from '../../../../src/collectors/ebpf/setup.ts';
import { BadInputReporter } from '../../../../src/telemetry/bad-input.ts';
import { silentLogger } from '../../../../src/telemetry/log.ts';
import { Metrics } from '../../../../src/telemetry/metrics.ts';

export const FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

export function linuxRelay(ipv4: string): RelayConfig {
  return { name: 'gateway', kind: 'linux', ipv4, precedence: 20, discoveryOptional: false, state: 'up', maxTunnels: 1000, origin: 'config' };
}

export interface TrackerDeps {
  /** The accounting sink; default: refuses every record. */
  account?: CollectorContext<EbpfConfig>['account'];
  /** Epoch ms; default Date.now. */
  now?: () => number;
}

export async function startTracker(relay: RelayConfig, config: Partial<EbpfConfig>, deps: TrackerDeps = {}) {
  const listeners = new Set<(r: readonly RelayConfig[]) => void>();
  let relays = [relay];
  const signals: CollectorSignal[] = [];
  const metrics = new Metrics();
  const log = silentLogger();
  const tracker = new EbpfTracker({
    name: 'ebpf',
    config: { ...defaultConfig().ebpf, signalIntervalMs: 200, restartMinMs: 20, restartMaxMs: 100, ...config },
    relays: {
      relays: () => relays,
      onChange: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    },
    signal: (s) => signals.push(s),
    account: deps.account ?? (() => Promise.reject(new Error('no accounting spool in this test'))),
    log,
    metrics,
    badInput: new BadInputReporter(log, metrics, 1000),
    clock: { now: deps.now ?? Date.now },
  });
  await tracker.start();
  /** Replaces the relay set, as a reload would. */
  const setRelays = (next: RelayConfig[]) => {
    relays = next;
    for (const l of listeners) l(next);
  };
  return { tracker, signals, metrics, setRelays };
}
