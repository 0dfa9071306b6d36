import { listenHttp, type HttpListener } from './api/http.ts';
import { relayList, parseHostPort, type DiscoveredMx } from './config/validate.ts';
import type { Config, RelayConfig } from './config/types.ts';
import { Catalog, serveZone } from './dns/catalog.ts';
import { DnsEngine } from './dns/engine.ts';
import { listenTcp, type TcpListener } from './dns/server/tcp.ts';
import { listenUdp, type UdpListener } from './dns/server/udp.ts';
import { listenUdpBatched, loadBatchAddon } from './dns/server/udp-batch.ts';
import { compilePolicy, rankingInputs, type CompiledPolicy } from './driad/selection.ts';
import { driadSynthesizer, type DecisionHolder } from './driad/synthesizer.ts';
import { buildTable } from './driad/table.ts';
import { HealthStore, type HealthPolicy } from './health/store.ts';
import type { TrafficOpsInventory } from './inventory/traffic-ops.ts';
import { BadInputReporter } from './telemetry/bad-input.ts';
import type { Logger } from './telemetry/log.ts';
import { Metrics } from './telemetry/metrics.ts';
import { loadZoneDirectory } from './zones/zone.ts';

export interface Driad {
  /** Bound DNS addresses; with port 0 in the config, the port the OS chose (UDP and TCP share it). */
  dns: Array<{ address: string; port: number }>;
  http: { address: string; port: number };
  health: HealthStore;
  metrics: Metrics;
  config(): Config;
  /** Applies a new config and reloads zones; on any error the old state keeps serving and the error is thrown. */
  reload(next: Config): void;
  stop(drainMs?: number): Promise<void>;
}

/** Everything built from one config (and the current inventory): swapped whole on reload. */
export interface Served {
  config: Config;
  relays: RelayConfig[];
  policy: CompiledPolicy;
  catalog: Catalog;
}

function healthPolicy(config: Config): HealthPolicy {
  return { ...config.health };
}

/** Zones, relays and policy for a config, or an error naming the file, line or key; touches nothing live. */
function buildServed(config: Config, holder: DecisionHolder, discovered: readonly DiscoveredMx[]): Served {
  const relays = relayList(config, discovered);
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
  let discovered: DiscoveredMx[] = [];
  const health = new HealthStore(relayList(config, discovered), healthPolicy(config));
  const holder = {} as DecisionHolder;
  let served = buildServed(config, holder, discovered);

  const recomputations = metrics.counter('driad_decision_recomputations_total', 'Times the decision table was rebuilt');
  let ranking = '';
  const recompute = (): void => {
    ranking = rankingInputs(served.relays, health, served.policy);
    holder.current = buildTable(served.relays, health, served.policy, metrics);
    recomputations.inc();
  };
  recompute();
  health.onSignals(() => {
    if (rankingInputs(served.relays, health, served.policy) !== ranking) recompute();
  });

  health.onChange((generation, changed, from) => {
    metrics.counter('driad_relay_state_transitions_total', 'Relay state changes', { relay: changed.name, from, to: changed.state }).inc();
    recompute();
    log.info(
      { relay: changed.name, from, state: changed.state, reason: changed.reason, source: changed.source, generation },
      `relay ${changed.name} is now ${changed.state}: ${changed.reason}`,
    );
  });

  const applyRelays = (): void => {
    served = { ...served, relays: relayList(served.config, discovered) };
    health.reconcile(served.relays, healthPolicy(served.config));
    recompute();
  };

  let inventory: TrafficOpsInventory | null = null;
  if (config.trafficOps) {
    const { TrafficOpsInventory } = await import('./inventory/traffic-ops.ts');
    inventory = new TrafficOpsInventory({ ...config.trafficOps }, { log, metrics, badInput });
  }

  const engine = new DnsEngine(engineOptions(served), log, metrics, badInput);
  const udp: UdpListener[] = [];
  const tcp: TcpListener[] = [];
  const tcpOptions = () => ({ idleTimeoutMs: served.config.dns.tcpIdleTimeoutMs, maxConnections: served.config.dns.tcpMaxConnections });
  let http: HttpListener | undefined;
  const { addon, reason } = config.dns.udpBatch ? loadBatchAddon() : { addon: null, reason: 'dns.udpBatch is false' };
  if (!addon) log.warn(`UDP without batching (recvmmsg/sendmmsg): ${reason}`);
  try {
    const openUdp = (host: string, port: number) => (addon ? listenUdpBatched(addon, engine, host, port, metrics) : listenUdp(engine, host, port));
    for (const [i, listen] of config.dns.listen.entries()) {
      const { host, port } = parseHostPort(listen, `dns.listen[${i}]`);
      // With port 0, UDP picks the port and TCP must get the same one; another socket may hold it on TCP, so try again.
      for (let attempt = 1; ; attempt++) {
        const u = await openUdp(host, port);
        try {
          tcp.push(await listenTcp(engine, host, u.port, tcpOptions, metrics, badInput));
          udp.push(u);
          break;
        } catch (err) {
          await u.close();
          if (port !== 0 || attempt >= 10 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        }
      }
    }
    const h = parseHostPort(config.http.listen, 'http.listen');
    http = await listenHttp(
      {
        health,
        metrics,
        badInput,
        served: () => served,
        table: () => holder.current,
        inventory: () => inventory?.status() ?? null,
      },
      h.host,
      h.port,
    );
  } catch (err) {
    await Promise.all([...udp.map((u) => u.close()), ...tcp.map((t) => t.close(0)), http?.close()]);
    health.close();
    throw err;
  }
  metrics.gauge('driad_dns_tcp_connections', 'Open DNS TCP connections', () => [[{}, tcp.reduce((n, t) => n + t.connections(), 0)]]);
  metrics.gauge('driad_relay_state', 'Relay state: 1 for the state the relay is in', () =>
    health.all().map((s) => [{ relay: s.name, state: s.state }, 1]),
  );
  metrics.gauge('driad_signal_age_seconds', 'Age of the newest signal per relay, source and kind', () =>
    served.relays.flatMap((r) => health.signals(r.name).map((s): [Record<string, string>, number] => [{ relay: r.name, source: s.source, kind: s.kind }, s.ageMs / 1000])),
  );

  for (const u of udp) log.info({ address: u.address, port: u.port, udpBatch: addon !== null }, `DNS listening on ${u.address}:${u.port} (UDP and TCP)`);
  log.info({ address: http.address, port: http.port }, `HTTP listening on ${http.address}:${http.port}`);
  log.info({ zones: served.catalog.zones.map((z) => z.origin), relays: served.relays.map((r) => r.name) }, 'serving');

  if (inventory) {
    // DNS already serves; give the saved inventory and a first poll a short while before returning.
    const started = inventory
      .start((relays) => {
        discovered = relays;
        applyRelays();
        log.info({ relays: relays.map((r) => r.hostName) }, `inventory: ${relays.length} MX relay(s) from Traffic Ops`);
      })
      .catch((err: unknown) => log.error(`inventory: ${(err as Error).message}`));
    await Promise.race([started, new Promise((resolve) => setTimeout(resolve, Math.min(config.trafficOps?.timeoutMs ?? 0, 3000)).unref())]);
  }

  const httpBound = http;
  return {
    dns: udp.map((u) => ({ address: u.address, port: u.port })),
    http: { address: httpBound.address, port: httpBound.port },
    health,
    metrics,
    config: () => served.config,
    reload(next: Config) {
      const candidate = buildServed(next, holder, discovered);
      if (next.dns.listen.join() !== served.config.dns.listen.join() || next.http.listen !== served.config.http.listen) {
        log.warn('listen addresses changed in the config: they take effect at the next restart');
      }
      if (JSON.stringify(next.trafficOps) !== JSON.stringify(served.config.trafficOps)) {
        log.warn('trafficOps settings changed in the config: they take effect at the next restart');
      }
      served = candidate;
      health.reconcile(served.relays, healthPolicy(served.config));
      recompute();
      engine.update(engineOptions(served));
      log.info({ zones: served.catalog.zones.map((z) => z.origin) }, 'reloaded config and zones');
    },
    async stop(drainMs = 5000) {
      await inventory?.stop();
      health.close();
      await Promise.all([...udp.map((u) => u.close()), ...tcp.map((t) => t.close(drainMs)), httpBound.close()]);
    },
  };
}

function engineOptions(served: Served) {
  return { catalog: served.catalog, udpPayloadSize: served.config.dns.udpPayloadSize, queryLog: served.config.dns.queryLog };
}
