/** The gNMI collector against the MX simulator, without DNS: signals, log lines and metrics recorded. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startGnmi } from '../../../src/collectors/gnmi/collector.ts';
import { gnmiSettings, type GnmiSettings } from '../../../src/collectors/gnmi/settings.ts';
import type { Collector, CollectorSignal } from '../../../src/collectors/context.ts';
import type { GnmiSessionStatus } from '../../../src/collectors/gnmi/session.ts';
import { loadConfig } from '../../../src/config/load.ts';
import type { RelayConfig } from '../../../src/config/types.ts';
import type { RelaysListener, RelaySource } from '../../../src/inventory/inventory.ts';
import { BadInputReporter } from '../../../src/telemetry/bad-input.ts';
import { Metrics } from '../../../src/telemetry/metrics.ts';
import { DEFAULT_AUTH } from '../../sim/gnmi-mx/server.ts';
import { until } from '../../helpers/until.ts';

export const PASSWORD = DEFAULT_AUTH.password;

/** Short intervals so that each fault plays out in a second or two (not shorter: silence is 3 intervals, and a busy machine stalls). */
export function testSettings(over: Partial<GnmiSettings> = {}): GnmiSettings {
  const config = loadConfig({}, {});
  return {
    ...gnmiSettings(config.gnmi, config.amtRelay),
    enabled: true,
    authMode: 'password',
    plaintext: true,
    username: DEFAULT_AUTH.username,
    password: PASSWORD,
    sampleIntervalMs: 250,
    heartbeatIntervalMs: 1000,
    backoff: { initialMs: 20, maxMs: 100 },
    connectTimeoutMs: 2000,
    syncTimeoutMs: 10_000,
    worker: false,
    ...over,
  };
}

export function mxRelay(name: string, target: string): RelayConfig {
  return { name, kind: 'juniper', ipv4: '69.25.95.1', precedence: 10, discoveryOptional: false, state: 'up', origin: 'config', gnmiTarget: target };
}

/** A relay set the test changes by hand. */
export class Relays implements RelaySource {
  #relays: RelayConfig[];
  readonly #listeners = new Set<RelaysListener>();
  constructor(relays: RelayConfig[]) {
    this.#relays = relays;
  }
  relays(): readonly RelayConfig[] {
    return this.#relays;
  }
  onChange(listener: RelaysListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  set(relays: RelayConfig[]): void {
    this.#relays = relays;
    for (const l of this.#listeners) l(relays);
  }
}

export interface Harness {
  collector: Collector;
  signals: CollectorSignal[];
  lines: string[];
  metrics: Metrics;
  relays: Relays;
  session(relay?: string): GnmiSessionStatus | undefined;
  latest(kind: CollectorSignal['kind'], relay?: string): CollectorSignal | undefined;
  waitFor(check: () => boolean, ms?: number): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startHarness(settings: GnmiSettings, relays: RelayConfig[]): Promise<Harness> {
  const signals: CollectorSignal[] = [];
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const log = pino({ level: 'info' }, sink);
  const metrics = new Metrics();
  const source = new Relays(relays);
  const collector = startGnmi({
    name: 'gnmi',
    config: settings,
    relays: source,
    signal: (s) => signals.push(s),
    account: () => Promise.reject(new Error('the gNMI collector writes no accounting records')),
    log: log.child({ collector: 'gnmi' }),
    metrics,
    badInput: new BadInputReporter(log, metrics, 0),
    clock: { now: Date.now },
  });
  const first = relays[0]?.name;
  return {
    collector,
    signals,
    lines,
    metrics,
    relays: source,
    session: (relay = first) => collector.status().sessions.find((s) => s.relay === relay) as GnmiSessionStatus | undefined,
    latest: (kind, relay = first) => signals.findLast((s) => s.kind === kind && s.relay === relay),
    waitFor: (check, ms = 15_000) => until(async () => check(), ms),
    stop: () => collector.stop(),
  };
}
