import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../../../src/config/load.ts';
import { startDriad } from '../../../src/server.ts';
import { ask } from '../../helpers/dns-client.ts';
import { undocumentedMetrics } from '../../helpers/metrics-doc.ts';
import { until } from '../../helpers/until.ts';
import { DEFAULT_AUTH, startGnmiMx, type GnmiMx, type GnmiMxOptions } from '../../sim/gnmi-mx/server.ts';

/** The DRIAD name of a source the test zones serve; the answer names the MX (69.25.95.1) or the gateway (192.0.2.10). */
const NAME = '10.95.25.69.amt.in-addr.arpa';
const MX_IP = '69.25.95.1';
const GATEWAY_IP = '192.0.2.10';
/** Failover bounds asserted here are generous (a loaded 2-core machine); the precise figures come from bench/. */
const FAILOVER_BOUND_MS = 4000;

interface Running {
  mx: GnmiMx;
  dnsPort: number;
  httpPort: number;
  lines: string[];
  answer(): Promise<{ a: string | undefined; ttl: number | undefined }>;
  relays(): Promise<any>;
}

async function start(t: ExecutionContext, sim: GnmiMxOptions = {}, password = DEFAULT_AUTH.password, extra = ''): Promise<Running> {
  const mx = await startGnmiMx({ tunnels: 100, ...sim });
  t.teardown(() => mx.stop());
  const dir = mkdtempSync(join(tmpdir(), 'driad-gnmi-e2e-'));
  const file = join(dir, 'driad.yaml');
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
  sampleIntervalMs: 100
  heartbeatIntervalMs: 500
  backoff: { initialMs: 20, maxMs: 200 }
health:
  minHoldMs: 1000
${extra}`,
  );
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  // The password through the environment, as the seed's container sets it
  const config = loadConfig({ config: file, dnsListen: ['127.0.0.1:0'], httpListen: '127.0.0.1:0' }, { GNMI_PASSWORD: password, DRIAD_UDP_BATCH: 'false' });
  const driad = await startDriad(config, pino({ level: 'info' }, sink));
  t.teardown(() => driad.stop(0));
  const dnsPort = driad.dns[0]!.port;
  const httpPort = driad.http.port;
  return {
    mx,
    dnsPort,
    httpPort,
    lines,
    async answer() {
      const r = await ask(dnsPort, NAME, 'A');
      return { a: r.answers?.[0]?.data as string | undefined, ttl: r.answers?.[0]?.ttl };
    },
    relays: async () => (await fetch(`http://127.0.0.1:${httpPort}/api/v1/relays`)).json(),
  };
}

const relay = (body: any, name: string) => body.relays.find((r: any) => r.name === name);

test('MX healthy over gNMI: DNS answers the MX anycast address; the API shows the session', async (t) => {
  const d = await start(t);
  t.true(await until(async () => relay(await d.relays(), 'mx')?.signals.some((s: any) => s.source === 'gnmi' && s.kind === 'tunnels' && s.value === 100)));
  const mx = relay(await d.relays(), 'mx');
  t.is(mx.state, 'up');
  t.is(mx.stateSource, 'signals');
  t.like(mx.collectors[0], { collector: 'gnmi', relay: 'mx', target: d.mx.address, mode: 'stream', connected: true, synced: true });
  t.is(typeof mx.collectors[0].lastMessageAt, 'string');
  t.deepEqual(await d.answer(), { a: MX_IP, ttl: 300 });
  const body = await d.relays();
  t.like(body.collectors[0], { collector: 'gnmi', mode: 'stream' });
  const metrics = await (await fetch(`http://127.0.0.1:${d.httpPort}/metrics`)).text();
  t.regex(metrics, /driad_gnmi_connected\{relay="mx"\} 1/);
  t.regex(metrics, /driad_gnmi_updates_total\{relay="mx"\} [1-9]/);
  t.deepEqual(undocumentedMetrics(metrics), []);
});

test('tunnels near maxTunnels: the MX is degraded and answers get the short TTL', async (t) => {
  const d = await start(t, { tunnels: 100 });
  t.true(await until(async () => relay(await d.relays(), 'mx')?.state === 'up' && relay(await d.relays(), 'mx')?.stateSource === 'signals'));
  d.mx.setTunnels(900); // 90 % of maxTunnels 1000, above health.degradedUtilization 0.85
  t.true(await until(async () => relay(await d.relays(), 'mx')?.state === 'degraded'));
  t.regex(relay(await d.relays(), 'mx').reason, /busy: 900 of 1000 tunnels/);
  t.true(await until(async () => (await d.answer()).ttl === 30));
  d.mx.setTunnels(1000); // full: down
  t.true(await until(async () => relay(await d.relays(), 'mx')?.state === 'down'));
  t.true(await until(async () => (await d.answer()).a === GATEWAY_IP));
});

test('stream killed: DNS answers the gateway within the failover bound', async (t) => {
  const d = await start(t);
  t.true(await until(async () => relay(await d.relays(), 'mx')?.stateSource === 'signals' && (await d.answer()).a === MX_IP));
  const killedAt = Date.now();
  await d.mx.fail('error-stream');
  t.true(await until(async () => (await d.answer()).a === GATEWAY_IP, FAILOVER_BOUND_MS));
  const ms = Date.now() - killedAt;
  t.log(`gateway answered ${ms} ms after the stream was killed`);
  t.true(ms < FAILOVER_BOUND_MS);
  // ... and the MX again once the session is back and the hold (health.minHoldMs) is over
  t.true(await until(async () => (await d.answer()).a === MX_IP, 8000));
});

test('MX silent: unknown, and DNS answers the gateway within the failover bound', async (t) => {
  const d = await start(t);
  t.true(await until(async () => relay(await d.relays(), 'mx')?.stateSource === 'signals' && (await d.answer()).a === MX_IP));
  const silentAt = Date.now();
  await d.mx.fail('silent');
  t.true(await until(async () => (await d.answer()).a === GATEWAY_IP, FAILOVER_BOUND_MS));
  t.log(`gateway answered ${Date.now() - silentAt} ms after the MX fell silent (3 x 100 ms intervals)`);
  const mx = relay(await d.relays(), 'mx');
  t.is(mx.state, 'unknown');
  t.regex(mx.reason, /^no fresh signal: newest is gnmi\//);
});

test('wrong password: the MX is down with reason "gNMI auth failed"; the password is in no log, API answer or metric', async (t) => {
  const wrong = 'Wr0ng-gnmi-pass-7731';
  const d = await start(t, {}, wrong);
  t.true(await until(async () => relay(await d.relays(), 'mx')?.state === 'down' && relay(await d.relays(), 'mx').collectors[0]?.lastError !== null));
  const mx = relay(await d.relays(), 'mx');
  t.regex(mx.reason, /^gnmi: gNMI auth failed/);
  t.regex(mx.collectors[0].lastError, /^gNMI auth failed/);
  t.is((await d.answer()).a, GATEWAY_IP);
  const explain = await (await fetch(`http://127.0.0.1:${d.httpPort}/api/v1/explain?source=69.25.95.10`)).text();
  t.regex(explain, /gNMI auth failed/);
  const page = await (await fetch(`http://127.0.0.1:${d.httpPort}/`)).text();
  const metrics = await (await fetch(`http://127.0.0.1:${d.httpPort}/metrics`)).text();
  const everything = [d.lines.join(''), JSON.stringify(await d.relays()), explain, page, metrics].join('\n');
  t.true(d.lines.some((l) => l.includes('gNMI auth failed')), 'the failure is logged');
  t.false(everything.includes(wrong));
  t.false(everything.includes(DEFAULT_AUTH.password));
});
