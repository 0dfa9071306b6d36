import { parseHostPort } from '../config/validate.ts';
import type { Config } from '../config/types.ts';
import type { BadInputReporter } from '../telemetry/bad-input.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { DnsEngine } from './engine.ts';
import { listenTcp, type TcpListener } from './server/tcp.ts';
import { listenUdp, type UdpListener } from './server/udp.ts';
import { listenUdpBatched, loadBatchAddon } from './server/udp-batch.ts';

export interface DnsListeners {
  /** Bound addresses; with port 0 in the config, the port the OS chose (UDP and TCP share it). */
  bound: Array<{ address: string; port: number }>;
  /** Open TCP connections, for the metric. */
  connections(): number;
  close(drainMs: number): Promise<void>;
}

export interface DnsDeps {
  engine: DnsEngine;
  config: () => Config;
  metrics: Metrics;
  badInput: BadInputReporter;
  log: Logger;
}

/** UDP (batched through the native addon when it is built) and TCP on every `dns.listen` address. */
export async function startDns(config: Config, deps: DnsDeps): Promise<DnsListeners> {
  const { engine, metrics, badInput, log } = deps;
  const udp: UdpListener[] = [];
  const tcp: TcpListener[] = [];
  const close = (drainMs: number) => Promise.all([...udp.map((u) => u.close()), ...tcp.map((t) => t.close(drainMs))]).then(() => undefined);
  const tcpOptions = () => ({ idleTimeoutMs: deps.config().dns.tcpIdleTimeoutMs, maxConnections: deps.config().dns.tcpMaxConnections });
  const { addon, reason } = config.dns.udpBatch ? loadBatchAddon() : { addon: null, reason: 'dns.udpBatch is false' };
  if (!addon) log.warn(`UDP without batching (recvmmsg/sendmmsg): ${reason}`);
  const openUdp = (host: string, port: number) => (addon ? listenUdpBatched(addon, engine, host, port, metrics) : listenUdp(engine, host, port));
  try {
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
  } catch (err) {
    await close(0);
    throw err;
  }
  for (const u of udp) log.info({ address: u.address, port: u.port, udpBatch: addon !== null }, `DNS listening on ${u.address}:${u.port} (UDP and TCP)`);
  return {
    bound: udp.map((u) => ({ address: u.address, port: u.port })),
    connections: () => tcp.reduce((n, t) => n + t.connections(), 0),
    close,
  };
}
