/** driad with the gNMI collector on, against the MX simulator, on free loopback ports; its log lines recorded. */
import type { ExecutionContext } from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config/load.ts';
import { startDriad, type Driad } from '../../../src/server.ts';
import { ask } from '../../helpers/dns-client.ts';
import { DEFAULT_AUTH, startGnmiMx, type GnmiMx, type GnmiMxOptions } from '../../sim/gnmi-mx/server.ts';

/** The DRIAD name of a source the test zones serve; the answer names the MX (69.25.95.1) or the gateway (192.0.2.10). */
export const NAME = '10.95.25.69.amt.in-addr.arpa';
export const MX_IP = '69.25.95.1';
export const GATEWAY_IP = '192.0.2.10';
/** Failover bounds asserted here are generous (a loaded 2-core machine); the precise figures come from bench/. */
export const FAILOVER_BOUND_MS = 6000;
/** How long a test waits for something that should come soon, on a machine that may be busy. */
export const WAIT = 20_000;

export interface Running {
  driad: Driad;
  mx: GnmiMx;
  dnsPort: number;
  httpPort: number;
  lines: string[];
  answer(): Promise<{ a: string | undefined; ttl: number | undefined }>;
  relays(): Promise<any>;
  /** Reloads driad with the same config plus `extra` YAML (a SIGHUP's work). */
  reload(extra: string): Promise<void>;
}

export async function startWithMx(t: ExecutionContext, sim: GnmiMxOptions = {}, password = DEFAULT_AUTH.password, extra = ''): Promise<Running> {
  const mx = await startGnmiMx({ tunnels: 100, ...sim });
  t.teardown(() => mx.stop());
  const dir = mkdtempSync(join(tmpdir(), 'driad-gnmi-e2e-'));
  const file = join(dir, 'driad.yaml');
  const write = (more: string) =>
    writeFileSync(
      file,
      `amtRelay:
  amtRelayPublicIP: ${MX_IP}
  gnmiTarget: ${mx.address}
  gnmiAuthMode: password
  gnmiUsername: ${DEFAULT_AUTH.username}
  maxTunnels: 1000
gnmi:
  enabled: true
  plaintext: true
  sampleIntervalMs: 250
  heartbeatIntervalMs: 1000
  backoff: { initialMs: 20, maxMs: 200 }
health:
  minHoldMs: 1000
${more}`,
    );
  write(extra);
  // The password through the environment, as the seed's container sets it
  const env = { GNMI_PASSWORD: password, DRIAD_UDP_BATCH: 'false' };
  const load = () => loadConfig({ config: file, dnsListen: ['127.0.0.1:0'], httpListen: '127.0.0.1:0', dohListen: '127.0.0.1:0' }, env);
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const driad = await startDriad(load(), pino({ level: 'info' }, sink));
  t.teardown(() => driad.stop(0));
  const dnsPort = driad.dns[0]!.port;
  const httpPort = driad.http.port;
  return {
    driad,
    mx,
    dnsPort,
    httpPort,
    lines,
    async answer() {
      const r = await ask(dnsPort, NAME, 'A');
      return { a: r.answers?.[0]?.data as string | undefined, ttl: r.answers?.[0]?.ttl };
    },
    relays: async () => (await fetch(`http://127.0.0.1:${httpPort}/api/v1/relays`)).json(),
    async reload(more: string) {
      write(more);
      await driad.reload({ ...load(), dns: driad.config().dns, http: driad.config().http });
    },
  };
}

export const relay = (body: any, name: string) => body.relays.find((r: any) => r.name === name);
