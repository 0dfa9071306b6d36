/**
 * Subscribe and Get against the simulated MX, read with driad's wire codecs: STREAM (SAMPLE,
 * ON_CHANGE, TARGET_DEFINED, heartbeats), ONCE, POLL, updates_only, the three encodings, bundling,
 * the Juniper header, and the errors the spec prescribes. Plaintext here (tls.test.ts covers TLS),
 * except one STREAM over mTLS.
 */
import test, { type ExecutionContext } from 'ava';
import * as grpc from '@grpc/grpc-js';
import { pathToString } from '../../../src/collectors/gnmi/wire/path.ts';
import { flattenNotification, type LeafUpdate } from '../../../src/collectors/gnmi/wire/notification.ts';
import { asBigInt, asString } from '../../../src/collectors/gnmi/wire/value.ts';
import { clientCredentials, get, simClient, subscribe, subscriptionRequest, type SubscribeRecorder } from './client.ts';
import { testPki } from './pki.ts';
import { startGnmiMx, type GnmiMx, type GnmiMxOptions } from './server.ts';
import type { GnmiClient } from '../../../src/collectors/gnmi/wire/load.ts';

async function setup(t: ExecutionContext, options: GnmiMxOptions = {}): Promise<{ sim: GnmiMx; client: GnmiClient }> {
  const sim = await startGnmiMx({ tunnels: 3, ...options });
  const client = simClient(sim, options.tls ? clientCredentials(options.tls.pki, 'ed25519') : grpc.credentials.createInsecure());
  t.teardown(async () => {
    client.close();
    await sim.stop();
  });
  return { sim, client };
}

/** Every leaf update received, with the index of its SubscribeResponse. */
function leaves(rec: SubscribeRecorder): (LeafUpdate & { response: number })[] {
  return rec.events.flatMap((e, i) => (e.kind === 'update' ? e.notification.updates.map((u) => ({ ...u, response: i })) : []));
}

function values(updates: LeafUpdate[]): Record<string, string> {
  return Object.fromEntries(updates.map((u) => [pathToString(u.path), asString(u.value) ?? u.value.type]));
}

const syncIndex = (rec: SubscribeRecorder) => rec.events.findIndex((e) => e.kind === 'sync');
const OUT_OCTETS = '/interfaces/interface[name=xe-0/0/0]/state/counters/out-octets';

test('STREAM SAMPLE over mTLS: initial values, sync_response, then samples at the interval with growing counters', async (t) => {
  const pki = await testPki();
  const { client } = await setup(t, { tls: { pki } });
  const rec = subscribe(client, subscriptionRequest([{ path: OUT_OCTETS, sampleMs: 100 }]));
  t.teardown(() => rec.cancel());
  t.true(await rec.until((r) => r.updates().length >= 4, 10000), 'four rounds arrive');
  t.is(syncIndex(rec), 1, 'the initial value, then sync_response');
  t.is(rec.syncs, 1, 'one sync_response only, in STREAM');
  const samples = rec.updates().map((e) => e.notification);
  t.true(samples.every((n) => n.updates.length === 1 && pathToString(n.updates[0]!.path) === OUT_OCTETS));
  const counts = samples.map((n) => asBigInt(n.updates[0]!.value)!);
  for (let i = 1; i < counts.length; i++) t.true(counts[i]! >= counts[i - 1]!, 'counters never go back');
  t.true(counts.at(-1)! > counts[0]!, 'counters grow');
  const stamps = samples.map((n) => n.timestampNs);
  for (let i = 2; i < stamps.length; i++) t.true(stamps[i]! - stamps[i - 1]! >= 50_000_000n, 'samples are about one interval apart (target timestamps)');
  const headers = rec.updates().map((e) => e.extensions.juniper!);
  t.deepEqual(
    headers.map((h) => h.streamType),
    ['INITIAL_SYNC', ...headers.slice(1).map(() => 'PERIODIC')],
  );
  t.deepEqual(
    headers.map((h) => h.sequenceNumber),
    headers.map((_, i) => BigInt(i)),
    'sequence numbers count up',
  );
  t.true(headers.every((h) => h.endOfMarker && h.systemId === 'mx1:69.25.95.1' && h.component === 'mib2d'));
});

test('ON_CHANGE: tunnels that come and go are updates and deletes; oper-status changes; nothing in between', async (t) => {
  const { sim, client } = await setup(t);
  const rec = subscribe(client, subscriptionRequest([{ path: '/junos/amt/tunnels/tunnel', mode: 'ON_CHANGE' }, { path: '/interfaces/interface/state/oper-status', mode: 'ON_CHANGE' }, { path: '/junos/amt/summary/active-tunnels', mode: 'ON_CHANGE' }]));
  t.teardown(() => rec.cancel());
  t.true(await rec.until((r) => r.syncs === 1));
  const initial = values(leaves(rec));
  t.is(Object.keys(initial).filter((p) => p.endsWith('/state') && p.startsWith('/junos')).length, 3, 'three tunnels');
  t.is(initial['/interfaces/interface[name=ud-0/0/0]/state/oper-status'], 'UP');
  t.is(initial['/junos/amt/summary/active-tunnels'], '3');
  await new Promise((r) => setTimeout(r, 150));
  t.is(rec.events.length, syncIndex(rec) + 1, 'no updates without changes');

  const first = pathToString(sim.model.tunnelPath(0));
  sim.churn(1); // the oldest leaves, a new one arrives
  sim.setOperStatus('xe-0/0/1', 'DOWN');
  t.true(await rec.until((r) => r.updates().some((e) => e.notification.deletes.length > 0) && values(leaves(r))['/interfaces/interface[name=xe-0/0/1]/state/oper-status'] === 'DOWN'));
  const after = rec.updates().slice(rec.updates().findIndex((e) => e.extensions.juniper?.streamType === 'ONCHANGE'));
  const changed = values(after.flatMap((e) => e.notification.updates));
  const added = pathToString(sim.model.tunnelPath(3));
  t.is(changed[`${added}/state`], 'Active');
  t.is(changed[`${added}/interface`], 'ud-0/0/0.32771');
  t.is(changed['/junos/amt/summary/active-tunnels'], '3', 'the count is re-sent even though it did not change in total');
  t.deepEqual(after.flatMap((e) => e.notification.deletes.map(pathToString)), [first]);
  t.true(after.every((e) => e.extensions.juniper?.streamType === 'ONCHANGE'));

  sim.setTunnels(1);
  t.true(await rec.until((r) => values(leaves(r))['/junos/amt/summary/active-tunnels'] === '1'));
  t.true(await rec.until((r) => r.updates().flatMap((e) => e.notification.deletes).length === 3), 'the two newest are deleted');
});

test('churnPerSecond: tunnels come and go on their own', async (t) => {
  const { client } = await setup(t, { churnPerSecond: 50, tunnels: 10 });
  const rec = subscribe(client, subscriptionRequest([{ path: '/junos/amt/tunnels', mode: 'ON_CHANGE' }]));
  t.teardown(() => rec.cancel());
  t.true(await rec.until((r) => r.updates().flatMap((e) => e.notification.deletes).length >= 10, 10000), 'every first tunnel has left');
  const added = Object.keys(values(leaves(rec))).filter((p) => p.endsWith('/state')).length;
  t.true(added >= 20, `${added} tunnels seen: the first 10 and at least 10 newcomers`);
});

test('ON_CHANGE with heartbeat_interval re-sends unchanged values', async (t) => {
  const { client } = await setup(t);
  const rec = subscribe(client, subscriptionRequest([{ path: '/junos/amt/summary', mode: 'ON_CHANGE', heartbeatMs: 80 }]));
  t.teardown(() => rec.cancel());
  t.true(await rec.until((r) => r.updates().length >= 4, 10000));
  t.true(rec.updates().every((e) => values(e.notification.updates)['/junos/amt/summary/tunnel-limit'] === '500000'));
});

test('TARGET_DEFINED: counters are sampled, state is sent on change', async (t) => {
  const { sim, client } = await setup(t, { targetDefinedSampleMs: 60 });
  const rec = subscribe(client, subscriptionRequest([{ path: '/interfaces/interface[name=xe-0/0/0]', mode: 'TARGET_DEFINED' }]));
  t.teardown(() => rec.cancel());
  t.true(await rec.until((r) => r.updates().length >= 5, 10000));
  const afterSync = rec.events.slice(syncIndex(rec) + 1).flatMap((e) => (e.kind === 'update' ? e.notification.updates : []));
  t.true(afterSync.length > 0 && afterSync.every((u) => pathToString(u.path).includes('/counters/')), 'only counters are repeated');
  sim.setOperStatus('xe-0/0/0', 'DOWN');
  t.true(await rec.until((r) => values(leaves(r))['/interfaces/interface[name=xe-0/0/0]/state/oper-status'] === 'DOWN'));
});

test('ONCE: everything once, sync_response, and the RPC ends', async (t) => {
  const { client } = await setup(t);
  const rec = subscribe(client, subscriptionRequest([{ path: '/' }], { mode: 'ONCE' }));
  t.is((await rec.ended())?.code, grpc.status.OK);
  t.is(rec.events.at(-1)?.kind, 'sync');
  const got = values(leaves(rec));
  t.is(Object.keys(got).length, 3 * 15 + 2 + 9 + 3 * 4, 'three interfaces, summary, statistics, three tunnels');
  t.is(got['/junos/amt/statistics/relay-discovery-received'], '3');
  t.is(got['/interfaces/interface[name=xe-0/0/0]/state/high-speed'], '10000');
});

test('POLL: nothing until a Poll, then the values and a sync_response per Poll', async (t) => {
  const { sim, client } = await setup(t);
  const rec = subscribe(client, subscriptionRequest([{ path: '/junos/amt/summary' }, { path: OUT_OCTETS }], { mode: 'POLL' }));
  t.teardown(() => rec.cancel());
  await new Promise((r) => setTimeout(r, 100));
  t.is(rec.events.length, 0);
  for (let poll = 1; poll <= 3; poll++) {
    rec.call.write({ poll: {} });
    t.true(await rec.until((r) => r.syncs === poll));
  }
  t.is(sim.stats.polls, 3);
  t.deepEqual(
    rec.events.map((e) => e.kind),
    ['update', 'update', 'sync', 'update', 'update', 'sync', 'update', 'update', 'sync'],
  );
  rec.call.end();
  t.is((await rec.ended())?.code, grpc.status.OK, 'the client closing ends a POLL RPC');
});

test('updates_only: sync_response first, then only what changes or is sampled', async (t) => {
  const { client } = await setup(t);
  const rec = subscribe(client, subscriptionRequest([{ path: OUT_OCTETS, sampleMs: 50 }], { updatesOnly: true }));
  t.teardown(() => rec.cancel());
  t.true(await rec.until((r) => r.events.length >= 2));
  t.is(rec.events[0]!.kind, 'sync');
  t.is(rec.updates()[0]?.extensions.juniper?.streamType, 'PERIODIC');
});

test('JSON_IETF and JSON blobs flatten to the same leaves as PROTO', async (t) => {
  const { client } = await setup(t);
  const once = async (encoding: 'PROTO' | 'JSON' | 'JSON_IETF') => {
    const rec = subscribe(client, subscriptionRequest([{ path: '/interfaces/interface[name=ud-0/0/0]/state' }, { path: '/junos/amt' }], { mode: 'ONCE', encoding }));
    await rec.ended();
    return rec;
  };
  const [proto, json, ietf] = [await once('PROTO'), await once('JSON'), await once('JSON_IETF')];
  const shape = (r: SubscribeRecorder) => Object.keys(values(leaves(r))).sort();
  t.true(shape(proto).length > 20);
  t.deepEqual(shape(json), shape(proto));
  t.deepEqual(shape(ietf), shape(proto));
  const raw = ietf.responses.find((r) => r.update?.update?.[0]?.val?.json_ietf_val)!.update!.update![0]!.val!.json_ietf_val!;
  t.regex(Buffer.from(raw).toString(), /"openconfig-interfaces:(oper-status|counters)"/, 'RFC 7951 module-qualified members');
  const counter = (r: SubscribeRecorder) => leaves(r).find((u) => pathToString(u.path).endsWith('ud-0/0/0]/state/counters/in-octets'))!.value;
  t.is(counter(ietf).type, 'string', 'JSON_IETF: uint64 as a string');
  t.is(counter(json).type, 'uint', 'JSON: uint64 as a number');
  t.is(counter(proto).type, 'uint', 'PROTO: uint_val');
});

test('counters past 2^53 and wrapping past 2^64 arrive exact in every encoding', async (t) => {
  const base = (1n << 64n) - 1000n;
  const { sim, client } = await setup(t, { counterBase: base });
  const values64 = async (encoding: 'PROTO' | 'JSON' | 'JSON_IETF') => {
    const rec = subscribe(client, subscriptionRequest([{ path: OUT_OCTETS }], { mode: 'ONCE', encoding }));
    await rec.ended();
    return asBigInt(leaves(rec)[0]!.value)!;
  };
  for (const encoding of ['PROTO', 'JSON', 'JSON_IETF'] as const) {
    const v = await values64(encoding);
    t.true(v >= base || v < 1n << 40n, `${encoding}: ${v} is exact (near 2^64, or wrapped to a small number)`);
  }
  await new Promise((r) => setTimeout(r, 50)); // 4 Mbit/s × 3 tunnels: 1000 bytes take well under 50 ms
  t.true((await values64('PROTO')) < base, 'the counter wrapped at 2^64');
  sim.reboot();
  t.true((await values64('JSON_IETF')) < 1n << 32n, 'after a reboot counters start again from zero');
});

test('bundled notifications: the shared prefix, keys in the update paths, the same leaves', async (t) => {
  const { client } = await setup(t, { bundle: 50, tunnels: 120 });
  const rec = subscribe(client, subscriptionRequest([{ path: '/junos/amt/tunnels' }], { mode: 'ONCE' }));
  await rec.ended();
  const updates = rec.updates();
  t.is(updates.length, 3, '120 tunnels in notifications of 50');
  t.is(pathToString(updates[0]!.notification.prefix), '/junos/amt/tunnels');
  t.is(Object.keys(values(leaves(rec))).length, 120 * 4);
});

test('the target in the request prefix is echoed; the Juniper header can be switched off', async (t) => {
  const { client } = await setup(t, { juniperHeader: false });
  const rec = subscribe(client, subscriptionRequest([{ path: '/junos/amt/summary' }], { mode: 'ONCE', target: 'mx1' }));
  await rec.ended();
  const n = rec.updates()[0]!;
  t.is(n.notification.prefix.target, 'mx1');
  t.true(n.notification.updates.every((u) => u.path.target === 'mx1'));
  t.deepEqual(rec.responses.map((r) => r.extension?.length ?? 0), [0, 0]);
});

test('Get: values in the requested encoding; NOT_FOUND, UNIMPLEMENTED and INVALID_ARGUMENT as the spec says', async (t) => {
  const { client } = await setup(t);
  const res = await get(client, { path: [{ elem: [{ name: 'interfaces' }, { name: 'interface', key: { name: 'xe-0/0/1' } }, { name: 'state' }] }], encoding: 'JSON_IETF', type: 'STATE' });
  const flat = (res.notification ?? []).flatMap((n) => flattenNotification(n).updates);
  t.is(values(flat)['/interfaces/interface[name=xe-0/0/1]/state/oper-status'], 'UP');
  t.is(flat.length, 15);
  const code = async (req: Parameters<typeof get>[1]) => {
    try {
      await get(client, req);
      return 'ok';
    } catch (err) {
      return grpc.status[(err as grpc.ServiceError).code];
    }
  };
  t.is(await code({ path: [{ elem: [{ name: 'interfaces' }, { name: 'interface', key: { name: 'xe-9/9/9' } }] }] }), 'NOT_FOUND');
  t.is(await code({ path: [{ elem: [{ name: 'system' }] }] }), 'UNIMPLEMENTED');
  t.is(await code({ path: [{}], encoding: 'ASCII' }), 'UNIMPLEMENTED');
  t.is(await code({ prefix: { origin: 'openconfig' }, path: [{ origin: 'junos_cli' }] }), 'INVALID_ARGUMENT');
  t.deepEqual(await get(client, { path: [{}], type: 'CONFIG' }), { notification: [], extension: [] }, 'no configuration is simulated');
});

test('Subscribe errors: short interval, unimplemented path, encoding, Poll on STREAM, a second SubscriptionList', async (t) => {
  const { client } = await setup(t, { minSampleIntervalMs: 50 });
  const status = async (rec: SubscribeRecorder) => {
    const s = await rec.ended();
    rec.cancel();
    return s ? `${grpc.status[s.code]}: ${s.details}` : 'open';
  };
  t.is(await status(subscribe(client, subscriptionRequest([{ path: OUT_OCTETS, sampleMs: 10 }]))), 'INVALID_ARGUMENT: sample_interval 10 ms is below the minimum 50 ms');
  t.is(await status(subscribe(client, subscriptionRequest([{ path: '/system/state' }]))), 'UNIMPLEMENTED: path /system/state is not implemented');
  t.is(await status(subscribe(client, subscriptionRequest([{ path: OUT_OCTETS }], { encoding: 'ASCII' }))), 'UNIMPLEMENTED: unsupported encoding ASCII');
  t.is(await status(subscribe(client, { subscribe: { subscription: [] } })), 'INVALID_ARGUMENT: SubscriptionList without subscriptions');
  t.is(await status(subscribe(client, { poll: {} })), 'INVALID_ARGUMENT: the first SubscribeRequest must carry a SubscriptionList');
  const stream = subscribe(client, subscriptionRequest([{ path: OUT_OCTETS, sampleMs: 60000 }]));
  await stream.until((r) => r.syncs === 1);
  stream.call.write({ poll: {} });
  t.is(await status(stream), 'INVALID_ARGUMENT: Poll on a STREAM subscription');
  const twice = subscribe(client, subscriptionRequest([{ path: OUT_OCTETS, sampleMs: 60000 }]));
  twice.call.write(subscriptionRequest([{ path: OUT_OCTETS }]));
  t.is(await status(twice), 'INVALID_ARGUMENT: a SubscriptionList was already received on this RPC');
  const nothing = subscribe(client, subscriptionRequest([{ path: '/interfaces/interface[name=xe-9/9/9]', mode: 'ON_CHANGE' }]));
  t.true(await nothing.until((r) => r.syncs === 1), 'a path that matches nothing: no updates, sync_response, the RPC stays open');
  t.is(nothing.updates().length, 0);
  t.is(nothing.status, undefined);
  nothing.cancel();
});
