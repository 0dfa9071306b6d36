import test from 'ava';
import { undocumentedMetrics } from '../../helpers/metrics-doc.ts';
import { until } from '../../helpers/until.ts';
import { DEFAULT_AUTH, startGnmiMx } from '../../sim/gnmi-mx/server.ts';
import { WAIT, FAILOVER_BOUND_MS, GATEWAY_IP, MX_IP, relay, startWithMx } from './driad.ts';

test('MX healthy over gNMI: DNS answers the MX anycast address; the API shows the session', async (t) => {
  const d = await startWithMx(t);
  t.true(await until(async () => relay(await d.relays(), 'mx')?.signals.some((s: any) => s.source === 'gnmi' && s.kind === 'tunnels' && s.value === 100), WAIT));
  const mx = relay(await d.relays(), 'mx');
  t.is(mx.state, 'up');
  t.is(mx.stateSource, 'signals');
  t.true(await until(async () => relay(await d.relays(), 'mx').collectors[0]?.synced === true, WAIT), 'statuses come from the worker every 200 ms');
  t.like(relay(await d.relays(), 'mx').collectors[0], { collector: 'gnmi', relay: 'mx', target: d.mx.address, mode: 'stream', connected: true, synced: true });
  t.is(typeof relay(await d.relays(), 'mx').collectors[0].lastMessageAt, 'string');
  t.deepEqual(await d.answer(), { a: MX_IP, ttl: 300 });
  const body = await d.relays();
  t.like(body.collectors[0], { collector: 'gnmi', mode: 'stream' });
  const metrics = await (await fetch(`http://127.0.0.1:${d.httpPort}/metrics`)).text();
  t.regex(metrics, /driad_gnmi_connected\{relay="mx"\} 1/);
  t.regex(metrics, /driad_gnmi_updates_total\{relay="mx"\} [1-9]/);
  t.deepEqual(undocumentedMetrics(metrics), []);
});

test('tunnels near maxTunnels: the MX is degraded and answers get the short TTL', async (t) => {
  const d = await startWithMx(t, { tunnels: 100 });
  t.true(await until(async () => relay(await d.relays(), 'mx')?.state === 'up' && relay(await d.relays(), 'mx')?.stateSource === 'signals', WAIT));
  d.mx.setTunnels(900); // 90 % of maxTunnels 1000, above health.degradedUtilization 0.85
  t.true(await until(async () => relay(await d.relays(), 'mx')?.state === 'degraded', WAIT));
  t.regex(relay(await d.relays(), 'mx').reason, /busy: 900 of 1000 tunnels/);
  t.true(await until(async () => (await d.answer()).ttl === 30, WAIT));
  d.mx.setTunnels(1000); // full: down
  t.true(await until(async () => relay(await d.relays(), 'mx')?.state === 'down', WAIT));
  t.true(await until(async () => (await d.answer()).a === GATEWAY_IP, WAIT));
});

test('stream killed: DNS answers the gateway within the failover bound', async (t) => {
  const d = await startWithMx(t);
  t.true(await until(async () => relay(await d.relays(), 'mx')?.stateSource === 'signals' && (await d.answer()).a === MX_IP, WAIT));
  const killedAt = Date.now();
  await d.mx.fail('error-stream');
  t.true(await until(async () => (await d.answer()).a === GATEWAY_IP, FAILOVER_BOUND_MS));
  const ms = Date.now() - killedAt;
  t.log(`gateway answered ${ms} ms after the stream was killed`);
  t.true(ms < FAILOVER_BOUND_MS);
  // ... and the MX again once the session is back and the hold (health.minHoldMs) is over
  t.true(await until(async () => (await d.answer()).a === MX_IP, WAIT));
});

test('MX silent: unknown, and DNS answers the gateway within the failover bound', async (t) => {
  const d = await startWithMx(t);
  t.true(await until(async () => relay(await d.relays(), 'mx')?.stateSource === 'signals' && (await d.answer()).a === MX_IP, WAIT));
  const silentAt = Date.now();
  await d.mx.fail('silent');
  t.true(await until(async () => (await d.answer()).a === GATEWAY_IP, FAILOVER_BOUND_MS));
  t.log(`gateway answered ${Date.now() - silentAt} ms after the MX fell silent (3 x 250 ms intervals)`);
  const mx = relay(await d.relays(), 'mx');
  t.is(mx.state, 'unknown');
  t.regex(mx.reason, /^no fresh signal: newest is gnmi\//);
});

test('wrong password: the MX is down with reason "gNMI auth failed"; the password is in no log, API answer or metric', async (t) => {
  const wrong = 'Wr0ng-gnmi-pass-7731';
  const d = await startWithMx(t, {}, wrong);
  t.true(await until(async () => relay(await d.relays(), 'mx')?.state === 'down' && relay(await d.relays(), 'mx').collectors[0]?.lastError !== null, WAIT));
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

test('a config reload that adds an MX opens a session to it; removing it closes the session', async (t) => {
  const d = await startWithMx(t);
  const mx2 = await startGnmiMx({ tunnels: 42, hostname: 'mx2' });
  t.teardown(() => mx2.stop());
  t.true(await until(async () => relay(await d.relays(), 'mx')?.stateSource === 'signals', WAIT));
  await d.reload(`relays:\n  - { name: mx2, kind: juniper, ipv4: 203.0.113.7, precedence: 10, maxTunnels: 1000, gnmiTarget: "${mx2.address}" }\n`);
  t.true(await until(async () => relay(await d.relays(), 'mx2')?.signals.some((s: any) => s.source === 'gnmi' && s.kind === 'tunnels' && s.value === 42), WAIT));
  t.true(await until(async () => relay(await d.relays(), 'mx2').collectors[0]?.connected === true, WAIT), 'statuses come from the worker every 200 ms');
  t.is(relay(await d.relays(), 'mx2').collectors[0].target, mx2.address);
  t.is(mx2.stats.subscribes.STREAM, 1);
  t.is(d.mx.stats.subscribes.STREAM, 1, 'the first session was left alone');
  await d.reload('');
  t.true(await until(async () => mx2.stats.openStreams === 0 && (await d.relays()).collectors[0].sessions.length === 1, WAIT));
  t.is(relay(await d.relays(), 'mx2'), undefined);
});
