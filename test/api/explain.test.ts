import test from 'ava';
import { ADMIN_TOKEN, startTestDriad } from '../helpers/driad.ts';
import { ask } from '../helpers/dns-client.ts';

async function getJson(port: number, path: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, json: await res.json() };
}

test('explain gives the answer DNS gives, and the trace of every rule', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  await fetch(`http://127.0.0.1:${d.httpPort}/api/v1/relays/mx/state`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ state: 'down', reason: 'line card swap' }),
  });
  const { status, json } = await getJson(d.httpPort, '/api/v1/explain?source=69.25.95.10&client=198.51.100.7');
  t.is(status, 200);
  t.like(json, { source: '69.25.95.10', client: '198.51.100.7', name: '10.95.25.69.amt.in-addr.arpa' });
  t.deepEqual(json.answer.a, { relay: 'gateway', address: '192.0.2.10' });
  t.deepEqual(json.answer.amtrelay, [{ relay: 'gateway', record: '20 0 1 192.0.2.10' }]);
  const health = json.trace.find((s: any) => s.rule === 'health');
  t.deepEqual(health.removed, [{ relay: 'mx', why: 'down: line card swap' }]);
  t.deepEqual(json.trace.map((s: any) => s.rule), ['source prefix', 'health', 'state', 'capacity headroom', 'client preference', 'rtt', 'preference', 'result', 'ttl']);
  // The same as the DNS answer right now.
  t.is((await ask(d.dnsPort, json.name, 'A')).answers[0]?.data, json.answer.a.address);
});

test('explain for an IPv6 source names the amt.ip6.arpa owner', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const { json } = await getJson(d.httpPort, '/api/v1/explain?source=2001:db8::1');
  t.is(json.name, '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.amt.ip6.arpa');
});

test('bad explain parameters get a 400 naming the parameter', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  t.deepEqual(await getJson(d.httpPort, '/api/v1/explain'), { status: 400, json: { error: 'source: required, the multicast source address (e.g. source=69.25.95.10)' } });
  t.deepEqual(await getJson(d.httpPort, '/api/v1/explain?source=nope'), { status: 400, json: { error: 'source: must be an IPv4 or IPv6 address (got "nope")' } });
  t.deepEqual(await getJson(d.httpPort, '/api/v1/explain?source=1.2.3.4&client=300.1.1.1'), { status: 400, json: { error: 'client: must be an IPv4 or IPv6 address (got "300.1.1.1")' } });
  t.deepEqual(await getJson(d.httpPort, '/api/v1/explain?source=1.2.3.4&src=1'), { status: 400, json: { error: 'src: unknown parameter (use source and client)' } });
});

test('the OpenAPI document lists every route', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const { json } = await getJson(d.httpPort, '/api/v1/openapi.json');
  t.is(json.openapi, '3.1.0');
  t.deepEqual(Object.keys(json.paths).sort(), ['/', '/api/v1/candidates', '/api/v1/explain', '/api/v1/relays', '/api/v1/relays/{name}/state', '/api/v1/signals', '/healthz', '/metrics']);
});

test('signals API: token required, bad signals named, unknown relay 404', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const post = async (body: unknown, token: string | null = ADMIN_TOKEN) => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`http://127.0.0.1:${d.httpPort}/api/v1/signals`, { method: 'POST', headers, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as any };
  };
  t.is((await post({ relay: 'mx', source: 't', kind: 'reachable', value: false }, null)).status, 401);
  t.deepEqual(await post([{ relay: 'mx', source: 't', kind: 'reachable', value: 1 }]), { status: 400, json: { error: 'signal 0: value of a reachable signal must be true or false' } });
  t.deepEqual(await post({ relay: 'mx9', source: 't', kind: 'reachable', value: false }), { status: 404, json: { error: 'no relay named "mx9"' } });
  const ok = await post({ relay: 'mx', source: 't', kind: 'reachable', value: false });
  t.is(ok.status, 200);
  t.is(ok.json.accepted, 1);
  t.is((await ask(d.dnsPort, '10.95.25.69.amt.in-addr.arpa', 'A')).answers[0]?.data, '192.0.2.10');
  const relays = (await getJson(d.httpPort, '/api/v1/relays')).json;
  t.like(relays.relays[0], { name: 'mx', state: 'down', reason: 't: unreachable', stateSource: 'signals' });
  t.like(relays.relays[0].signals[0], { source: 't', kind: 'reachable', value: false, stale: false });
});
