import test from 'ava';
import { ADMIN_TOKEN, startTestDriad } from '../helpers/driad.ts';
import { ask, buildQuery, decodeMessage, rcodeOf, udpExchange, type Packet } from '../helpers/dns-client.ts';

const POLICY = `policy:
  sources:
    - prefix: 10.0.0.0/8
      relays: [gateway]
    - prefix: 69.25.95.0/24
      relays: [mx, gateway]
  clients:
    - prefix: 198.51.100.0/24
      prefer: [linux]
`;

const ecs = (ip: string, sourcePrefixLength: number, family = 1) => ({ code: 'CLIENT_SUBNET', family, sourcePrefixLength, scopePrefixLength: 0, ip });
const ecsOf = (p: Packet) => (p.additionals.find((a) => a.type === 'OPT')?.options as Array<Record<string, unknown>> | undefined)?.find((o) => o.code === 8);

async function signals(port: number, body: unknown): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/signals`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`signals: HTTP ${res.status} ${await res.text()}`);
}

test('per source prefix: the longest matching rule picks the candidates', async (t) => {
  const d = await startTestDriad(POLICY);
  t.teardown(() => d.stop(0));
  const inTen = await ask(d.dnsPort, '1.0.0.10.amt.in-addr.arpa', 'AMTRELAY');
  t.deepEqual(inTen.answers.map((a) => a.data.relay), ['192.0.2.10']);
  t.is((await ask(d.dnsPort, '1.0.0.10.amt.in-addr.arpa', 'A')).answers[0]?.data, '192.0.2.10');
  t.is((await ask(d.dnsPort, '10.95.25.69.amt.in-addr.arpa', 'A')).answers[0]?.data, '69.25.95.1');
  t.is((await ask(d.dnsPort, '1.1.1.1.amt.in-addr.arpa', 'A')).answers[0]?.data, '69.25.95.1', 'no rule: every relay');
});

test('per client, from EDNS Client Subnet: the preferred relay ranks first and the scope says for which prefix', async (t) => {
  const d = await startTestDriad(POLICY);
  t.teardown(() => d.stop(0));
  const name = '10.95.25.69.amt.in-addr.arpa';
  const preferred = await ask(d.dnsPort, name, 'A', { udpSize: 1232, options: [ecs('198.51.100.0', 24)] });
  t.is(preferred.answers[0]?.data, '192.0.2.10');
  t.like(ecsOf(preferred), { family: 1, sourcePrefixLength: 24, scopePrefixLength: 24, ip: '198.51.100.0' });
  const other = await ask(d.dnsPort, name, 'A', { udpSize: 1232, options: [ecs('203.0.113.0', 24)] });
  t.is(other.answers[0]?.data, '69.25.95.1');
  t.like(ecsOf(other), { sourcePrefixLength: 24, scopePrefixLength: 24 });
  const amt = await ask(d.dnsPort, name, 'AMTRELAY', { udpSize: 1232, options: [ecs('198.51.100.0', 24)] });
  t.deepEqual(amt.answers.map((a) => [a.data.precedence, a.data.relay]), [
    [20, '192.0.2.10'],
    [21, '69.25.95.1'],
  ]);
});

test('per client, without ECS: the resolver address decides', async (t) => {
  const d = await startTestDriad(`policy:\n  clients:\n    - prefix: 127.0.0.0/8\n      prefer: [gateway]\n`);
  t.teardown(() => d.stop(0));
  t.is((await ask(d.dnsPort, '10.95.25.69.amt.in-addr.arpa', 'A')).answers[0]?.data, '192.0.2.10');
});

test('ECS is echoed with scope 0 when answers do not depend on the client; static and negative answers too', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const r = await ask(d.dnsPort, '10.95.25.69.amt.in-addr.arpa', 'A', { udpSize: 1232, options: [ecs('198.51.100.0', 24)] });
  t.like(ecsOf(r), { sourcePrefixLength: 24, scopePrefixLength: 0 });
  const nx = await ask(d.dnsPort, 'x.amt.in-addr.arpa', 'A', { udpSize: 1232, options: [ecs('2001:db8::', 56, 2)] });
  t.is(rcodeOf(nx), 'NXDOMAIN');
  t.like(ecsOf(nx), { family: 2, sourcePrefixLength: 56, scopePrefixLength: 0 });
});

test('a malformed Client Subnet option is FORMERR, with an OPT record (RFC 7871 §7.2.1)', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const q = buildQuery('10.95.25.69.amt.in-addr.arpa', 'A', { udpSize: 1232, options: [{ code: 8, data: Buffer.from([0, 3, 24, 0, 1, 2, 3]) }] });
  const r = decodeMessage(await udpExchange(d.dnsPort, q));
  t.is(rcodeOf(r), 'FORMERR');
  t.truthy(r.additionals.find((a) => a.type === 'OPT'));
  const bits = buildQuery('10.95.25.69.amt.in-addr.arpa', 'A', { udpSize: 1232, options: [{ code: 8, data: Buffer.from([0, 1, 20, 0, 198, 51, 0x6f]) }] });
  t.is(rcodeOf(decodeMessage(await udpExchange(d.dnsPort, bits))), 'FORMERR', 'bits set past /20');
  t.true(d.metrics.get('driad_bad_input_total', { component: 'dns', kind: 'FORMERR' }) >= 2);
});

test('ranking: up before degraded, headroom, then RTT band, then preference (MX first)', async (t) => {
  const d = await startTestDriad('gateway:\n  publicIP: 192.0.2.10\n  maxTunnels: 100\n');
  t.teardown(() => d.stop(0));
  const name = '10.95.25.69.amt.in-addr.arpa';
  const first = async () => (await ask(d.dnsPort, name, 'A')).answers[0]?.data;
  await signals(d.httpPort, [
    { relay: 'mx', source: 'prober', kind: 'rttMs', value: 41, maxAgeMs: 60000 },
    { relay: 'gateway', source: 'prober', kind: 'rttMs', value: 44, maxAgeMs: 60000 },
  ]);
  t.is(await first(), '69.25.95.1', 'same 10 ms band: preference decides');
  await signals(d.httpPort, { relay: 'gateway', source: 'prober', kind: 'rttMs', value: 3, maxAgeMs: 60000 });
  t.is(await first(), '192.0.2.10', 'a clearly lower RTT wins');
  await signals(d.httpPort, { relay: 'gateway', source: 'ebpf', kind: 'tunnels', value: 84, maxAgeMs: 60000 });
  t.is(await first(), '192.0.2.10', 'under the capacity threshold');
  await signals(d.httpPort, { relay: 'gateway', source: 'ebpf', kind: 'tunnels', value: 91, maxAgeMs: 60000 });
  t.is(await first(), '69.25.95.1', 'no headroom: ranked after the MX (and degraded)');
});

test('a policy naming an unknown relay fails at load, naming the key', async (t) => {
  await t.throwsAsync(startTestDriad('policy:\n  sources:\n    - prefix: 10.0.0.0/8\n      relays: [mx2]\n'), {
    message: 'config error: policy.sources[0].relays[0]: no relay named "mx2" (relays: mx, gateway; or a kind: juniper, linux)',
  });
  await t.throwsAsync(startTestDriad('policy:\n  clients:\n    - prefix: 10.0.0.1/8\n      prefer: [mx]\n'), {
    message: 'config error: policy.clients[0].prefix: has bits set past /8 (got "10.0.0.1/8")',
  });
  await t.throwsAsync(startTestDriad('health:\n  degradedUtilization: 1.2\n  fullUtilization: 1\n'), {
    message: 'config error: health.degradedUtilization: must be below health.fullUtilization (1.2 >= 1)',
  });
});

test('decisions are computed when health changes, not per query', async (t) => {
  const d = await startTestDriad(POLICY);
  t.teardown(() => d.stop(0));
  const before = d.metrics.get('driad_decision_recomputations_total');
  for (let i = 0; i < 50; i++) await ask(d.dnsPort, `${i}.95.25.69.amt.in-addr.arpa`, 'A', { udpSize: 1232, options: [ecs('198.51.100.0', 24)] });
  t.is(d.metrics.get('driad_decision_recomputations_total'), before);
  await signals(d.httpPort, { relay: 'mx', source: 't', kind: 'reachable', value: false });
  t.is(d.metrics.get('driad_decision_recomputations_total'), before + 1);
});
