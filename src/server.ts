import { listenHttp, type HttpListener } from './api/http.ts';
import { relayList } from './config/validate.ts';
import { parseHostPort } from './config/validate.ts';
import type { Config, RelayConfig } from './config/types.ts';
import { Catalog, serveZone } from './dns/catalog.ts';
import { DnsEngine } from './dns/engine.ts';
import { listenTcp, type TcpListener } from './dns/server/tcp.ts';
import { listenUdp, type UdpListener } from './dns/server/udp.ts';
import { listenUdpBatched, loadBatchAddon } from './dns/server/udp-batch.ts';
import { prepareDecision } from './driad/answers.ts';
import { decide } from './driad/selection.ts';
import { driadSynthesizer, type DecisionHolder } from './driad/synthesizer.ts';
import { HealthStore } from './health/store.ts';
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

interface Served {
  config: Config;
  relays: RelayConfig[];
  catalog: Catalog;
}

/** Zones and relays for a config, or an error naming the file, line or key; touches nothing live. */
function buildServed(config: Config, holder: DecisionHolder): Served {
  const relays = relayList(config);
  const zones = loadZoneDirectory(config.zones.directory);
  for (const [i, origin] of config.driad.reverseZones.entries()) {
    if (!zones.some((z) => z.origin === origin)) {
      throw new Error(`config error: driad.reverseZones[${i}]: no zone file for ${origin} in ${config.zones.directory}`);
    }
  }
  const reverse = new Set(config.driad.reverseZones);
  const catalog = new Catalog(
    zones.map((zone) => {
      const underAmt = zone.origin === 'amt.in-addr.arpa' || zone.origin === 'amt.ip6.arpa' || /\.amt\.(in-addr|ip6)\.arpa$/.test(zone.origin);
      const synth = underAmt || reverse.has(zone.origin) ? driadSynthesizer(zone.origin, holder) : null;
      return serveZone(zone, synth);
    }),
  );
  return { config, relays, catalog };
}

export async function startDriad(config: Config, log: Logger): Promise<Driad> {
  const metrics = new Metrics();
  const badInput = new BadInputReporter(log, metrics, config.log.badInputIntervalMs);
  const health = new HealthStore(relayList(config));
  const holder: DecisionHolder = { current: prepareDecision(decide(relayList(config), health, config.driad)) };
  let served = buildServed(config, holder);

  const recompute = metrics.counter('driad_decision_recomputations_total', 'Times the decision table was rebuilt');
  const transitions = metrics.counter('driad_relay_state_transitions_total', 'Relay state changes');
  const recomputeDecision = (): void => {
    holder.current = prepareDecision(decide(served.relays, health, served.config.driad));
    recompute.inc();
  };
  health.onChange((generation, changed) => {
    transitions.inc();
    recomputeDecision();
    log.info({ relay: changed.name, state: changed.state, reason: changed.reason, source: changed.source, generation }, `relay ${changed.name} is now ${changed.state}`);
  });
  metrics.gauge('driad_relay_up', 'Relay state: 1 when up or degraded', () =>
    health.all().map((s) => [{ relay: s.name, state: s.state }, s.state === 'up' || s.state === 'degraded' ? 1 : 0]),
  );

  const engine = new DnsEngine(engineOptions(served), log, metrics, badInput);
  const udp: UdpListener[] = [];
  const tcp: TcpListener[] = [];
  const tcpOptions = () => ({ idleTimeoutMs: served.config.dns.tcpIdleTimeoutMs, maxConnections: served.config.dns.tcpMaxConnections });
  let http: HttpListener | undefined;
  const { addon, reason } = config.dns.udpBatch ? loadBatchAddon() : { addon: null, reason: 'dns.udpBatch is false' };
  if (!addon) log.warn(`UDP without batching (recvmmsg/sendmmsg): ${reason}`);
  try {
    const openUdp = (host: string, port: number) => (addon ? listenUdpBatched(addon, engine, host, port) : listenUdp(engine, host, port));
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
        adminToken: () => served.config.http.adminToken,
        decision: () => holder.current.decision,
        relays: () => served.relays,
      },
      h.host,
      h.port,
    );
  } catch (err) {
    await Promise.all([...udp.map((u) => u.close()), ...tcp.map((t) => t.close(0)), http?.close()]);
    throw err;
  }
  metrics.gauge('driad_dns_tcp_connections', 'Open DNS TCP connections', () => [[{}, tcp.reduce((n, t) => n + t.connections(), 0)]]);

  for (const u of udp) log.info({ address: u.address, port: u.port, udpBatch: addon !== null }, `DNS listening on ${u.address}:${u.port} (UDP and TCP)`);
  log.info({ address: http.address, port: http.port }, `HTTP listening on ${http.address}:${http.port}`);
  log.info({ zones: served.catalog.zones.map((z) => z.origin), relays: served.relays.map((r) => r.name) }, 'serving');

  const httpBound = http;
  return {
    dns: udp.map((u) => ({ address: u.address, port: u.port })),
    http: { address: httpBound.address, port: httpBound.port },
    health,
    metrics,
    config: () => served.config,
    reload(next: Config) {
      const candidate = buildServed(next, holder);
      if (next.dns.listen.join() !== served.config.dns.listen.join() || next.http.listen !== served.config.http.listen) {
        log.warn('listen addresses changed in the config: they take effect at the next restart');
      }
      served = candidate;
      health.reconcile(served.relays);
      recomputeDecision();
      engine.update(engineOptions(served));
      log.info({ zones: served.catalog.zones.map((z) => z.origin) }, 'reloaded config and zones');
    },
    async stop(drainMs = 5000) {
      await Promise.all([...udp.map((u) => u.close()), ...tcp.map((t) => t.close(drainMs)), httpBound.close()]);
    },
  };
}

function engineOptions(served: Served) {
  return { catalog: served.catalog, udpPayloadSize: served.config.dns.udpPayloadSize, queryLog: served.config.dns.queryLog };
}
