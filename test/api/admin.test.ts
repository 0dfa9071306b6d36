import test from 'ava';
import { loadConfig } from '../../src/config/load.ts';
import { startDriad } from '../../src/server.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { ADMIN_TOKEN, startTestDriad } from '../helpers/driad.ts';
import { ask } from '../helpers/dns-client.ts';
import { undocumentedMetrics } from '../helpers/metrics-doc.ts';

const NAME = '10.95.25.69.amt.in-addr.arpa';

async function setState(port: number, relay: string, body: unknown, token: string | null = ADMIN_TOKEN): Promise<{ status: number; json: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/relays/${relay}/state`, { method: 'PUT', headers, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

test('setting health needs the token, and says so when it is missing or wrong', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const missing = await setState(d.httpPort, 'mx', { state: 'down' }, null);
  t.is(missing.status, 401);
  t.regex(missing.json.error, /missing admin token/);
  const wrong = await setState(d.httpPort, 'mx', { state: 'down' }, 'not-the-token-at-all');
  t.is(wrong.status, 401);
  t.is(wrong.json.error, 'wrong admin token');
  t.is((await ask(d.dnsPort, NAME, 'A')).answers?.[0]?.data, '69.25.95.1');
});

test('with no token configured the admin API is disabled, not open', async (t) => {
  const cfg = loadConfig({ dnsListen: ['127.0.0.1:0'], httpListen: '127.0.0.1:0', dohListen: '127.0.0.1:0' }, {});
  const d = await startDriad(cfg, silentLogger());
  t.teardown(() => d.stop(0));
  const r = await setState(d.http.port, 'mx', { state: 'down' });
  t.is(r.status, 403);
  t.regex(r.json.error, /admin API is disabled: set http.adminToken/);
});

test('MX down: the very next answer names the gateway; AMTRELAY drops the MX', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const r = await setState(d.httpPort, 'mx', { state: 'down', reason: 'maintenance window' });
  t.is(r.status, 200);
  t.like(r.json, { name: 'mx', state: 'down', reason: 'maintenance window', source: 'admin' });
  const a = await ask(d.dnsPort, NAME, 'A');
  t.deepEqual(a.answers?.map((x) => [x.data, x.ttl]), [['192.0.2.10', 300]]);
  const amt = await ask(d.dnsPort, NAME, 'AMTRELAY');
  t.deepEqual(amt.answers?.map((x) => (x.data as { relay: string }).relay), ['192.0.2.10']);
  await setState(d.httpPort, 'mx', { state: 'up' });
  t.is((await ask(d.dnsPort, NAME, 'A')).answers?.[0]?.data, '69.25.95.1');
});

test('a degraded relay shortens the TTL of every DRIAD answer', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  await setState(d.httpPort, 'gateway', { state: 'degraded' });
  const a = await ask(d.dnsPort, NAME, 'A');
  t.deepEqual(a.answers?.map((x) => [x.data, x.ttl]), [['69.25.95.1', 30]]);
  const amt = await ask(d.dnsPort, NAME, 'AMTRELAY');
  t.deepEqual(amt.answers?.map((x) => x.ttl), [30, 30]);
});

test('a degraded MX yields to an up gateway, and stays in AMTRELAY ranked after it', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  await setState(d.httpPort, 'mx', { state: 'degraded' });
  t.is((await ask(d.dnsPort, NAME, 'A')).answers?.[0]?.data, '192.0.2.10');
  const amt = await ask(d.dnsPort, NAME, 'AMTRELAY');
  // Receivers go by precedence: the MX's 10 is raised past the gateway's 20.
  t.deepEqual(
    amt.answers?.map((x) => [(x.data as { precedence: number }).precedence, (x.data as { relay: string }).relay]),
    [
      [20, '192.0.2.10'],
      [21, '69.25.95.1'],
    ],
  );
});

test('no usable relay: AMTRELAY says so (type 0), A still names the gateway as last resort', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  await setState(d.httpPort, 'mx', { state: 'down' });
  await setState(d.httpPort, 'gateway', { state: 'down' });
  const amt = await ask(d.dnsPort, NAME, 'AMTRELAY');
  t.deepEqual(amt.answers?.map((x) => x.data), [{ precedence: 0, discoveryOptional: false, relayType: 0, relay: null }] as never);
  t.is((await ask(d.dnsPort, NAME, 'A')).answers?.[0]?.data, '192.0.2.10');
});

test('bad admin requests get 400/404 naming the problem', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  t.like(await setState(d.httpPort, 'mx', { state: 'sideways' }), { status: 400, json: { error: 'body.state must be one of up, degraded, down, unknown' } });
  t.like(await setState(d.httpPort, 'nope', { state: 'down' }), { status: 404, json: { error: 'no relay named "nope"' } });
  const res = await fetch(`http://127.0.0.1:${d.httpPort}/api/v1/relays/mx/state`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    body: '{not json',
  });
  t.is(res.status, 400);
  t.regex(((await res.json()) as { error: string }).error, /^body must be a JSON object/);
});

test('GET /api/v1/relays and /metrics show state and counters', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  await ask(d.dnsPort, NAME, 'A');
  await setState(d.httpPort, 'mx', { state: 'down' });
  const relays = (await (await fetch(`http://127.0.0.1:${d.httpPort}/api/v1/relays`)).json()) as any;
  t.deepEqual(relays.relays.map((r: any) => [r.name, r.state, r.stateSource]), [
    ['mx', 'down', 'admin'],
    ['gateway', 'up', 'config'],
  ]);
  t.like(relays.transitions[0], { relay: 'mx', from: 'up', to: 'down', reason: 'set by operator' });
  const metrics = await (await fetch(`http://127.0.0.1:${d.httpPort}/metrics`)).text();
  t.regex(metrics, /driad_dns_responses_total\{transport="udp",rcode="NOERROR"\} 1/);
  t.regex(metrics, /driad_relay_state_transitions_total\{relay="mx",from="up",to="down"\} 1/);
  t.regex(metrics, /driad_decision_recomputations_total 2/);
  t.regex(metrics, /driad_answers_total\{relay="mx",qtype="A"\} 1/);
  t.regex(metrics, /driad_dns_queries_total\{qtype="A",rcode="NOERROR"\} 1/);
  t.deepEqual(undocumentedMetrics(metrics), []);
});
