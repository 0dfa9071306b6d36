/**
 * Each failure the simulated MX produces on command (issue 8 item 5 and "Bad input and faults"),
 * observed from a raw client with driad's wire codecs. Certificate and credential faults are in
 * tls.test.ts.
 */
import test, { type ExecutionContext } from 'ava';
import * as grpc from '@grpc/grpc-js';
import { createGnmiClient, decodeMessage, type GnmiClient } from '../../../src/collectors/gnmi/wire/load.ts';
import { readSubscribeResponse } from '../../../src/collectors/gnmi/wire/notification.ts';
import { pathToString } from '../../../src/collectors/gnmi/wire/path.ts';
import type { SubscribeResponseMsg } from '../../../src/collectors/gnmi/wire/types.ts';
import { asBigInt } from '../../../src/collectors/gnmi/wire/value.ts';
import { goodMetadata, simClient, subscribe, subscriptionRequest, type SubscribeRecorder } from './client.ts';
import { startGnmiMx, type GnmiMx, type GnmiMxOptions } from './server.ts';

async function setup(t: ExecutionContext, options: GnmiMxOptions = {}): Promise<{ sim: GnmiMx; client: GnmiClient }> {
  const sim = await startGnmiMx({ tunnels: 3, ...options });
  const client = simClient(sim, grpc.credentials.createInsecure());
  t.teardown(async () => {
    client.close();
    await sim.stop();
  });
  return { sim, client };
}

const COUNTERS = '/interfaces/interface[name=xe-0/0/0]/state/counters';

function streaming(client: GnmiClient, sampleMs = 50): SubscribeRecorder {
  return subscribe(client, subscriptionRequest([{ path: COUNTERS, sampleMs }]));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('end-stream: the stream ends with status OK after its data', async (t) => {
  const { sim, client } = await setup(t);
  const rec = streaming(client);
  t.true(await rec.until((r) => r.syncs === 1));
  await sim.fail('end-stream');
  t.is((await rec.ended())?.code, grpc.status.OK);
  t.is(sim.stats.openStreams, 0);
});

test('error-stream: the stream ends with an error status, UNAVAILABLE by default or the one asked for', async (t) => {
  const { sim, client } = await setup(t);
  const a = streaming(client);
  t.true(await a.until((r) => r.syncs === 1));
  await sim.fail('error-stream');
  t.deepEqual((({ code, details }) => ({ code, details }))((await a.ended())!), { code: grpc.status.UNAVAILABLE, details: 'telemetry stream aborted by the target' });
  const b = streaming(client);
  t.true(await b.until((r) => r.syncs === 1));
  await sim.fail('error-stream', { code: grpc.status.INTERNAL, details: 'sensor crashed' });
  t.is((await b.ended())?.code, grpc.status.INTERNAL);
});

test('drop-connections: the transport is cut (UNAVAILABLE); the MX answers again right after', async (t) => {
  const { sim, client } = await setup(t);
  const rec = streaming(client);
  t.true(await rec.until((r) => r.syncs === 1));
  await sim.fail('drop-connections');
  t.is((await rec.ended())?.code, grpc.status.UNAVAILABLE);
  const again = streaming(client);
  t.teardown(() => again.cancel());
  t.true(await again.until((r) => r.syncs === 1));
});

test('garbage: bytes that are not protobuf; grpc-js fails the call, a raw client gets an error value', async (t) => {
  const { sim, client } = await setup(t);
  const rec = streaming(client, 60000);
  t.true(await rec.until((r) => r.syncs === 1));
  const raw = createGnmiClient(sim.address, grpc.credentials.createInsecure(), undefined, true);
  t.teardown(() => raw.close());
  const call = raw.Subscribe(goodMetadata());
  const buffers: Buffer[] = [];
  call.on('data', (b: Buffer) => buffers.push(b));
  call.on('error', () => {});
  call.write(subscriptionRequest([{ path: COUNTERS, sampleMs: 60000 }]));
  const deadline = Date.now() + 5000;
  while (buffers.length < 2 && Date.now() < deadline) await sleep(20);
  await sim.fail('garbage');
  const status = await rec.ended();
  t.is(status?.code, grpc.status.INTERNAL);
  t.regex(status?.details ?? '', /Response message parsing error/);
  while (buffers.length < 3 && Date.now() < deadline) await sleep(20);
  const decoded = buffers.map((b) => decodeMessage<SubscribeResponseMsg>('gnmi.SubscribeResponse', b));
  t.deepEqual(
    decoded.map((d) => (d.ok ? readSubscribeResponse(d.value).kind : 'undecodable')),
    ['update', 'sync', 'undecodable'],
  );
  call.cancel();
});

test('silent: the stream stays open but nothing comes, not even heartbeats, until healed', async (t) => {
  const { sim, client } = await setup(t);
  const rec = subscribe(client, subscriptionRequest([{ path: COUNTERS, sampleMs: 40 }, { path: '/junos/amt/summary', mode: 'ON_CHANGE', heartbeatMs: 40 }]));
  t.teardown(() => rec.cancel());
  t.true(await rec.until((r) => r.syncs === 1));
  await sim.fail('silent');
  // what was written before may still be in flight: wait until 100 ms pass without anything new
  let before = -1;
  for (let i = 0; i < 20 && before !== rec.events.length; i++) {
    before = rec.events.length;
    await sleep(100);
  }
  await sleep(300); // more than 3 sample and heartbeat intervals
  t.is(rec.events.length, before);
  t.is(rec.status, undefined, 'the RPC is still open');
  await sim.heal();
  t.true(await rec.until((r) => r.events.length > before));
});

test('wrong-type: readable protobuf, but counters as text and state as numbers', async (t) => {
  const { sim, client } = await setup(t);
  await sim.fail('wrong-type');
  const rec = subscribe(client, subscriptionRequest([{ path: '/interfaces/interface[name=xe-0/0/0]/state' }], { mode: 'ONCE' }));
  await rec.ended();
  const updates = rec.updates().flatMap((e) => e.notification.updates);
  const octets = updates.find((u) => pathToString(u.path).endsWith('/in-octets'))!;
  t.deepEqual(octets.value, { type: 'string', value: 'n/a' });
  t.is(asBigInt(octets.value), undefined, 'not a counter');
  t.is(updates.find((u) => pathToString(u.path).endsWith('/oper-status'))!.value.type, 'int');
});

test('bad-json: JSON that does not parse becomes error values, in every encoding', async (t) => {
  const { sim, client } = await setup(t);
  await sim.fail('bad-json');
  for (const encoding of ['JSON_IETF', 'JSON', 'PROTO'] as const) {
    const rec = subscribe(client, subscriptionRequest([{ path: COUNTERS }], { mode: 'ONCE', encoding }));
    await rec.ended();
    const n = rec.updates()[0]!.notification;
    t.true(n.errors > 0 && n.errors === n.updates.length, encoding);
    t.true(n.updates.every((u) => u.value.type === 'error' && /invalid JSON/.test(u.value.error)), encoding);
  }
});

test('refuse-stream: STREAM is UNIMPLEMENTED, while POLL works (the fallback)', async (t) => {
  const { sim, client } = await setup(t);
  await sim.fail('refuse-stream');
  const rec = streaming(client);
  const status = await rec.ended();
  t.is(status?.code, grpc.status.UNIMPLEMENTED);
  t.regex(status?.details ?? '', /use POLL or ONCE/);
  const poll = subscribe(client, subscriptionRequest([{ path: COUNTERS }], { mode: 'POLL' }));
  t.teardown(() => poll.cancel());
  poll.call.write({ poll: {} });
  t.true(await poll.until((r) => r.syncs === 1));
  t.true(poll.updates().length > 0);
});

test('close-stream: STREAM ends at once with status OK and no data; POLL works', async (t) => {
  const { sim, client } = await setup(t);
  await sim.fail('close-stream');
  const rec = streaming(client);
  t.is((await rec.ended())?.code, grpc.status.OK);
  t.is(rec.responses.length, 0);
  const once = subscribe(client, subscriptionRequest([{ path: COUNTERS }], { mode: 'ONCE' }));
  await once.ended();
  t.is(once.syncs, 1);
});

test('no-sync: updates keep coming, sync_response never does', async (t) => {
  const { sim, client } = await setup(t);
  await sim.fail('no-sync');
  const rec = streaming(client, 30);
  t.teardown(() => rec.cancel());
  t.true(await rec.until((r) => r.updates().length >= 5));
  t.is(rec.syncs, 0);
});

test('flood: rounds back to back, far faster than the sample interval, and still well-formed', async (t) => {
  const { sim, client } = await setup(t, { tunnels: 200 });
  const rec = subscribe(client, subscriptionRequest([{ path: '/junos/amt/tunnels', sampleMs: 60000 }]));
  t.teardown(() => rec.cancel());
  t.true(await rec.until((r) => r.syncs === 1));
  await sim.fail('flood');
  t.true(await rec.until((r) => r.updates().length >= 200 * 4, 15000), 'several full rounds within one 60 s interval');
  t.is(
    rec.updates().reduce((n, e) => n + e.notification.errors, 0),
    0,
  );
  await sim.heal();
});

test('reboot: counters fall back to zero (a reset the collector must detect)', async (t) => {
  const { sim, client } = await setup(t);
  const rec = streaming(client, 40);
  t.teardown(() => rec.cancel());
  const octets = () =>
    rec
      .updates()
      .flatMap((e) => e.notification.updates)
      .filter((u) => pathToString(u.path).endsWith('/out-octets'))
      .map((u) => asBigInt(u.value)!);
  t.true(await rec.until(() => octets().length >= 3));
  await sleep(100);
  const high = octets().at(-1)!;
  sim.reboot();
  t.true(await rec.until(() => octets().at(-1)! < high));
});
