// The AMT relay simulator (test/sim/amt-relay/) over real loopback UDP: discovery answered with
// the nonce echoed, delay and loss, Request answered with the General Query the P flag asks for
// and the documented Response MAC, Updates and Teardowns authenticated, garbage counted, and the
// Linux kernel relay's behaviour in its `linux` flavour.

import test from 'ava';
import { createHmac } from 'node:crypto';
import type { AmtDecodeResult, AmtMessage, MembershipQuery } from '../../src/amt/messages.ts';
import { decodeMembershipQuery, encodeMembershipReport } from '../../src/amt/membership.ts';
import { startAmtRelaySim, type AmtRelayOptions, type AmtRelaySim } from '../sim/amt-relay/relay.ts';
import { startTestGateway, type TestGateway } from '../sim/amt-relay/gateway.ts';

const SECRET = Buffer.alloc(32, 7);

async function withRelay(t: { teardown: (f: () => Promise<void>) => void }, o: AmtRelayOptions = {}): Promise<{ relay: AmtRelaySim; gw: TestGateway }> {
  const relay = await startAmtRelaySim({ secret: SECRET, ...o });
  const gw = await startTestGateway(relay);
  t.teardown(async () => {
    await gw.close();
    await relay.close();
  });
  return { relay, gw };
}

function message(r: { result: AmtDecodeResult } | null): AmtMessage | null {
  return r && r.result.ok ? r.result.message : null;
}

/** The MAC as README.md documents it, computed here without the simulator's code. */
function documentedMac(address: string, port: number, nonce: number): number {
  const ip16 = Buffer.alloc(16);
  if (address.includes(':')) {
    if (address !== '::1') throw new Error('only ::1 is needed here');
    ip16[15] = 1;
  } else {
    Buffer.from(address.split('.').map(Number)).copy(ip16, 12);
  }
  const tail = Buffer.alloc(6);
  tail.writeUInt16BE(port, 0);
  tail.writeUInt32BE(nonce, 2);
  return createHmac('sha256', SECRET).update(Buffer.concat([ip16, tail])).digest().readUIntBE(0, 6);
}

test('Relay Discovery is answered with a Relay Advertisement echoing the nonce, from the port it was sent to', async (t) => {
  const { relay, gw } = await withRelay(t);
  await gw.send({ type: 'relay-discovery', nonce: 0x01020304 });
  const r = await gw.receive();
  t.deepEqual(message(r), { type: 'relay-advertisement', nonce: 0x01020304, relayAddress: '127.0.0.1' });
  t.deepEqual(r?.from, { address: '127.0.0.1', port: relay.port });
  t.is(relay.counts.answered, 1);
});

test('the advertised relay address is configurable, and an IPv6 relay advertises an IPv6 address', async (t) => {
  const a = await withRelay(t, { relayAddress: '127.0.0.53' });
  await a.gw.send({ type: 'relay-discovery', nonce: 9 });
  t.deepEqual(message(await a.gw.receive()), { type: 'relay-advertisement', nonce: 9, relayAddress: '127.0.0.53' });
  const b = await withRelay(t, { host: '::1' });
  await b.gw.send({ type: 'relay-discovery', nonce: 10 });
  t.deepEqual(message(await b.gw.receive()), { type: 'relay-advertisement', nonce: 10, relayAddress: '::1' });
});

test('answers wait delayMs', async (t) => {
  const { gw } = await withRelay(t, { delayMs: 150 });
  const sent = performance.now();
  await gw.send({ type: 'relay-discovery', nonce: 1 });
  const r = await gw.receive(3000);
  t.truthy(message(r));
  t.true(performance.now() - sent >= 145, `answered after ${performance.now() - sent} ms`);
});

test('loss drops exactly the datagrams the random draw says, and counts them', async (t) => {
  const draws = [0.9, 0.1, 0.6, 0.2, 0.99, 0.49, 0.51, 0.0];
  let i = 0;
  const { relay, gw } = await withRelay(t, { loss: 0.5, random: () => draws[i++ % draws.length] as number });
  const answered: number[] = [];
  for (let n = 0; n < draws.length; n++) {
    await gw.send({ type: 'relay-discovery', nonce: n + 1 });
    const m = message(await gw.receive(draws[n] as number < 0.5 ? 150 : 2000));
    if (m?.type === 'relay-advertisement') answered.push(m.nonce);
  }
  t.deepEqual(answered, [1, 3, 5, 7]);
  t.is(relay.counts['dropped-loss'], 4);
});

for (const p of [false, true]) {
  test(`Request with P=${p ? 1 : 0} gets a Membership Query with ${p ? 'an MLDv2' : 'an IGMPv3'} General Query, the gateway fields and the documented MAC`, async (t) => {
    const { gw } = await withRelay(t);
    await gw.send({ type: 'request', p, nonce: 0xcafe0001 });
    const q = message(await gw.receive());
    t.is(q?.type, 'membership-query');
    if (q?.type !== 'membership-query') return;
    t.false(q.limited);
    t.is(q.nonce, 0xcafe0001);
    t.deepEqual(q.gateway, { port: gw.port, address: '127.0.0.1' });
    t.is(q.responseMac, documentedMac('127.0.0.1', gw.port, 0xcafe0001));
    const inner = decodeMembershipQuery(q.packet);
    t.like(inner, { ok: true, value: { protocol: p ? 'mldv2' : 'igmpv3', general: true, qrv: 2, qqic: 125, maxRespCode: 1 } });
  });
}

async function handshake(gw: TestGateway, nonce: number, p = false): Promise<MembershipQuery> {
  await gw.send({ type: 'request', p, nonce });
  const q = message(await gw.receive());
  if (q?.type !== 'membership-query') throw new Error(`no Membership Query: ${JSON.stringify(q)}`);
  return q;
}

const until = async (check: () => boolean, ms = 2000): Promise<boolean> => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return check();
};

test('Membership Updates with the MAC join and leave groups; a wrong MAC changes nothing; a Teardown ends the tunnel', async (t) => {
  const { relay, gw } = await withRelay(t);
  const q = await handshake(gw, 77);
  const update = (records: Parameters<typeof encodeMembershipReport>[0]['records'], mac = q.responseMac): Promise<void> =>
    gw.send({ type: 'membership-update', responseMac: mac, nonce: 77, packet: encodeMembershipReport({ family: 4, records }) });

  await update([
    { type: 1, group: '232.1.1.1', sources: ['192.0.2.1', '192.0.2.2'] },
    { type: 4, group: '239.1.1.1', sources: [] },
  ]);
  t.true(await until(() => relay.counts.accepted === 1));
  const key = `127.0.0.1:${gw.port}`;
  t.deepEqual([...(relay.tunnels.get(key)?.groups ?? new Map())].map(([g, s]) => [g, [...s]]), [
    ['232.1.1.1', ['192.0.2.1', '192.0.2.2']],
    ['239.1.1.1', []],
  ]);

  await update([{ type: 6, group: '232.1.1.1', sources: ['192.0.2.1'] }, { type: 3, group: '239.1.1.1', sources: [] }]);
  t.true(await until(() => relay.counts.accepted === 2));
  t.deepEqual([...(relay.tunnels.get(key)?.groups ?? new Map())].map(([g, s]) => [g, [...s]]), [['232.1.1.1', ['192.0.2.2']]]);

  await update([{ type: 4, group: '239.9.9.9', sources: [] }], (q.responseMac + 1) % 2 ** 48);
  t.true(await until(() => relay.counts['dropped-mac'] === 1));
  t.false(relay.tunnels.get(key)?.groups.has('239.9.9.9'));

  const gateway = q.gateway ?? { port: 0, address: '' };
  await gw.send({ type: 'teardown', responseMac: (q.responseMac + 2) % 2 ** 48, nonce: 77, gateway });
  t.true(await until(() => relay.counts['dropped-mac'] === 2));
  t.true(relay.tunnels.has(key));
  await gw.send({ type: 'teardown', responseMac: q.responseMac, nonce: 77, gateway });
  t.true(await until(() => relay.counts.accepted === 3));
  t.false(relay.tunnels.has(key));
});

test('the IPv6 relay does the same over ::1, the MAC computed over the 16-byte address', async (t) => {
  const { relay, gw } = await withRelay(t, { host: '::1' });
  const q = await handshake(gw, 5, true);
  t.deepEqual(q.gateway, { port: gw.port, address: '::1' });
  t.is(q.responseMac, documentedMac('::1', gw.port, 5));
  await gw.send({ type: 'membership-update', responseMac: q.responseMac, nonce: 5, packet: encodeMembershipReport({ family: 6, records: [{ type: 1, group: 'ff3e::1', sources: ['2001:db8::1'] }] }) });
  t.true(await until(() => relay.tunnels.size === 1));
  await gw.send({ type: 'teardown', responseMac: q.responseMac, nonce: 5, gateway: q.gateway ?? { port: 0, address: '' } });
  t.true(await until(() => relay.tunnels.size === 0));
});

test('garbage is counted by reason and the relay keeps answering', async (t) => {
  const { relay, gw } = await withRelay(t);
  await gw.send(Buffer.from([0x12, 0, 0, 0]));
  await gw.send(Buffer.from([0x09]));
  await gw.send(Buffer.alloc(0));
  await gw.send(Buffer.from('0100000001', 'hex'));
  await gw.send({ type: 'relay-discovery', nonce: 3 });
  t.deepEqual(message(await gw.receive()), { type: 'relay-advertisement', nonce: 3, relayAddress: '127.0.0.1' });
  t.is(relay.counts['dropped-bad'], 4);
  t.deepEqual(
    relay.events.filter((e) => e.outcome === 'dropped-bad').map((e) => e.kind),
    ['error:version', 'error:unknown-type', 'error:short', 'error:short'],
  );
});

test('limited: every Membership Query has L=1', async (t) => {
  const { gw } = await withRelay(t, { limited: true });
  t.true((await handshake(gw, 1)).limited);
});

test('linux flavour: the kernel relay reads P at 0x80, drops RFC P=1, sends G=0, ignores Teardown, keys tunnels by address', async (t) => {
  const { relay, gw } = await withRelay(t, { flavour: 'linux' });
  await gw.send({ type: 'request', p: true, nonce: 1 });
  t.is(await gw.receive(200), null, 'an RFC P=1 Request is dropped, as the kernel drops reserved bits');
  t.is(relay.counts['dropped-bad'], 1);

  await gw.send({ type: 'request', p: true, nonce: 2 }, { kernelFlags: true });
  const q = message(await gw.receive());
  t.is(q?.type, 'membership-query');
  if (q?.type !== 'membership-query') return;
  t.is(q.gateway, null);
  t.like(decodeMembershipQuery(q.packet), { ok: true, value: { protocol: 'mldv2' } });

  await gw.send({ type: 'membership-update', responseMac: q.responseMac, nonce: 2, packet: encodeMembershipReport({ family: 6, records: [{ type: 4, group: 'ff0e::1', sources: [] }] }) });
  t.true(await until(() => relay.tunnels.has('127.0.0.1')));
  await gw.send({ type: 'teardown', responseMac: q.responseMac, nonce: 2, gateway: { port: gw.port, address: '127.0.0.1' } });
  t.true(await until(() => relay.counts.ignored === 1));
  t.true(relay.tunnels.has('127.0.0.1'));
});
