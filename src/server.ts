// The wiring list: each subsystem starts itself; data flows one way,
// inventory -> collectors -> health -> decisions -> answers (DNS, HTTP).

import { startAccounting, type Accounting } from './accounting/start.ts';
import { listenHttp, type HttpListener } from './api/http.ts';
import { startCollectors, type Collectors } from './collectors/index.ts';
import { parseHostPort } from './config/validate.ts';
import type { Config, RelayConfig } from './config/types.ts';
import { Catalog, serveZone } from './dns/catalog.ts';
import { DnsEngine } from './dns/engine.ts';
import { startDns, type DnsListeners } from './dns/start.ts';
import { startDoh, type Doh } from './doh/start.ts';
import { candidatesView, type ViewContext } from './api/views.ts';
import { startDecisions } from './driad/decisions.ts';
import { compilePolicy, type CompiledPolicy } from './driad/selection.ts';
import { driadSynthesizer, type DecisionHolder } from './driad/synthesizer.ts';
import { HealthStore, type HealthPolicy } from './health/store.ts';
import { RelayInventory } from './inventory/inventory.ts';
import { BadInputReporter } from './telemetry/bad-input.ts';
import type { Logger } from './telemetry/log.ts';
import { Metrics } from './telemetry/metrics.ts';
import { watchEventLoop } from './telemetry/event-loop.ts';
import { loadZoneDirectory } from './zones/zone.ts';

export interface Driad {
  /** Bound DNS addresses; with port 0 in the config, the port the OS chose (UDP and TCP share it). */
  dns: Array<{ address: string; port: number }>;
  http: { address: string; port: number };
  /** The DoH TLS listener (HTTP/2 and HTTP/1.1), null with doh.enabled false. */
  doh: Doh['tls'];
  health: HealthStore;
  metrics: Metrics;
  config(): Config;
  /** Applies a new config and reloads zones; on any error the old state keeps serving and the error is thrown. */
  reload(next: Config): Promise<void>;
  stop(drainMs?: number): Promise<void>;
}

/** Everything built from one config, swapped whole on reload; `relays` follows the inventory. */
export interface Served {
  config: Config;
  relays: readonly RelayConfig[];
  policy: CompiledPolicy;
  catalog: Catalog;
}

function healthPolicy(config: Config): HealthPolicy {
  return { ...config.health };
}

/** Zones and policy for a config, or an error naming the file, line or key; touches nothing live. */
function buildServed(config: Config, relays: readonly RelayConfig[], holder: DecisionHolder): Served {
  const policy = compilePolicy(config.policy, config.driad);
  const zones = loadZoneDirectory(config.zones.directory);
  for (const [i, origin] of config.driad.reverseZones.entries()) {
    if (!zones.some((z) => z.origin === origin)) {
      throw new Error(`config error: driad.reverseZones[${i}]: no zone file for ${origin} in ${config.zones.directory}`);
    }
  }
  const reverse = new Set(config.driad.reverseZones);
  const catalog = new Catalog(
    zones.map((zone) => {
      const underAmt = /(^|\.)amt\.(in-addr|ip6)\.arpa$/.test(zone.origin);
      const synth = underAmt || reverse.has(zone.origin) ? driadSynthesizer(zone.origin, holder) : null;
      return serveZone(zone, synth);
    }),
  );
  return { config, relays, policy, catalog };
}

export async function startDriad(config: Config, log: Logger): Promise<Driad> {
  const metrics = new Metrics();
  const badInput = new BadInputReporter(log, metrics, config.log.badInputIntervalMs);
  const loop = watchEventLoop(metrics);
  const inventory = new RelayInventory(config, { log, metrics, badInput });
  const health = new HealthStore(inventory.relays(), healthPolicy(config));
  const holder = {} as DecisionHolder;
  let served = buildServed(config, inventory.relays(), holder);
  const decisions = startDecisions({ holder, health, relays: () => served.relays, policy: () => served.policy, metrics, log });
  inventory.onChange((relays) => {
    served = { ...served, relays };
    health.reconcile(relays, healthPolicy(served.config));
    decisions.recompute();
  });

  const engine = new DnsEngine(engineOptions(served), log, metrics, badInput);
  let dns: DnsListeners | undefined;
  let http: HttpListener | undefined;
  let collectors: Collectors | undefined;
  let doh: Doh | undefined;
  let accounting: Accounting | undefined;
  try {
    dns = await startDns(config, { engine, config: () => served.config, metrics, badInput, log });
    accounting = await startAccounting(config, { log, metrics });
    collectors = await startCollectors(config, { relays: inventory, health, log, metrics, badInput, accounting });
    const c = collectors;
    const views: ViewContext = {
      health,
      served: () => served,
      table: () => holder.current,
      inventory: () => inventory.status(),
      collectors: () => c.statuses(),
    };
    doh = await startDoh(config, { engine, config: () => served.config, candidates: (params, client) => candidatesView(views, params, client), metrics, badInput, log });
    const h = parseHostPort(config.http.listen, 'http.listen');
    http = await listenHttp({ ...views, metrics, badInput, hook: doh.http1 }, h.host, h.port);
  } catch (err) {
    await Promise.all([dns?.close(0), (collectors?.stop() ?? Promise.resolve()).then(() => accounting?.stop()), http?.close(), doh?.close()]);
    health.close();
    loop.stop();
    throw err;
  }
  log.info({ address: http.address, port: http.port }, `HTTP listening on ${http.address}:${http.port}`);
  registerGauges(metrics, health, () => served, dns);
  logZoneWarnings(served.catalog, log);
  log.info({ zones: served.catalog.zones.map((z) => z.origin), relays: served.relays.map((r) => r.name) }, 'serving');

  await inventory.startDiscovery();

  const listening = { dns, http, collectors, accounting, doh };
  return {
    dns: dns.bound,
    http: { address: http.address, port: http.port },
    doh: doh.tls,
    health,
    metrics,
    config: () => served.config,
    async reload(next: Config) {
      const relays = inventory.preview(next);
      const candidate = buildServed(next, relays, holder);
      const listens = (c: Config) => [c.dns.listen.join(), c.http.listen, c.doh.enabled, c.doh.listen, c.doh.certFile, c.doh.keyFile].join(' ');
      if (listens(next) !== listens(served.config)) {
        log.warn('listen addresses or the DoH certificate changed in the config: they take effect at the next restart');
      }
      if (JSON.stringify(next.accounting) !== JSON.stringify(served.config.accounting)) log.warn('accounting settings changed in the config: they take effect at the next restart');
      served = candidate;
      inventory.setConfig(next);
      engine.update(engineOptions(served));
      await listening.collectors.reload(next);
      logZoneWarnings(served.catalog, log);
      log.info({ zones: served.catalog.zones.map((z) => z.origin) }, 'reloaded config and zones');
    },
    async stop(drainMs = 5000) {
      await Promise.all([inventory.stop(), listening.collectors.stop().then(() => listening.accounting.stop())]);
      health.close();
      loop.stop();
      await Promise.all([listening.dns.close(drainMs), listening.http.close(), listening.doh.close()]);
    },
  };
}

function registerGauges(metrics: Metrics, health: HealthStore, served: () => Served, dns: DnsListeners): void {
  metrics.gauge('driad_dns_tcp_connections', 'Open DNS TCP connections', () => [[{}, dns.connections()]]);
  metrics.gauge('driad_relay_state', 'Relay state: 1 for the state the relay is in', () => health.all().map((s) => [{ relay: s.name, state: s.state }, 1]));
  metrics.gauge('driad_signal_age_seconds', 'Age of the newest signal per relay, source and kind', () =>
    served().relays.flatMap((r) => health.signals(r.name).map((s): [Record<string, string>, number] => [{ relay: r.name, source: s.source, kind: s.kind }, s.ageMs / 1000])),
  );
}

/** Data that loads but is not served as written, one line each, as `file:line: reason`. */
function logZoneWarnings(catalog: Catalog, log: Logger): void {
  for (const { zone } of catalog.zones) for (const w of zone.warnings) log.warn(`zone warning: ${w.file}:${w.line}: ${w.message}`);
}

function engineOptions(served: Served) {
  return { catalog: served.catalog, udpPayloadSize: served.config.dns.udpPayloadSize, queryLog: served.config.dns.queryLog };
}
