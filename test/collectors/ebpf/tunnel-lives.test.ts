// A tunnel's life in the table, from the message that opens it to its end (teardown, keepalive
// expiry, eviction, stop), with its traffic; the never-decreasing counters the rates come from,
// through loader restarts and evictions; and the rates themselves.
import test from 'ava';
import { applyLoaderLine, newLoaderState } from '../../../src/collectors/ebpf/loader-lines.ts';
import { RateMeter } from '../../../src/collectors/ebpf/rates.ts';
import { MAX_LIFE_GROUPS, TunnelTable, type Observation, type TunnelLife } from '../../../src/collectors/ebpf/tunnel-table.ts';

const A = { address: '192.0.2.10', port: 40001 };
const B = { address: '192.0.2.11', port: 40002 };
const C = { address: '2001:db8::7', port: 5000 };
const IDLE = 10_000;

const at = (o: Omit<Observation, 'gateway'> & { gateway?: Observation['gateway'] }): Observation => ({ gateway: A, ...o });
const join = (...groups: string[]) => groups.map((group) => ({ group, change: 'join' as const }));

function table(o: { maxEntries?: number } = {}) {
  const ended: TunnelLife[] = [];
  const t = new TunnelTable({ idleMs: IDLE, onEnd: (l) => ended.push(l), ...o });
  return { table: t, ended };
}

test('a life from Request to Teardown: groups joined, traffic each way, Discovery and Advertisement left out', (t) => {
  const { table: tt, ended } = table();
  for (const o of [
    at({ at: 0, kind: 'discovery', bytes: 8 }),
    at({ at: 1, kind: 'advertisement', bytes: 12 }),
    at({ at: 10, kind: 'request', bytes: 8, nonce: 5 }),
    at({ at: 11, kind: 'query', bytes: 40 }),
    at({ at: 12, kind: 'update', bytes: 64, nonce: 5, changes: join('232.1.1.1', '232.1.1.2') }),
    at({ at: 13, kind: 'data', bytes: 100 }),
    at({ at: 14, kind: 'data', bytes: 100 }),
    at({ at: 15, kind: 'data', bytes: 100 }),
    at({ at: 16, kind: 'update', bytes: 64, nonce: 5, changes: [{ group: '232.1.1.1', change: 'leave' }] }),
    at({ at: 20, kind: 'teardown', bytes: 30, nonce: 5, tunnel: A }),
  ]) {
    tt.observe(o);
  }
  t.deepEqual(ended, [
    {
      gateway: A,
      start: 10,
      end: 20,
      reason: 'teardown',
      groups: ['232.1.1.1', '232.1.1.2'],
      groupsOmitted: 0,
      toGateway: { packets: 4, bytes: 40 + 300 },
      fromGateway: { packets: 4, bytes: 8 + 64 + 64 + 30 },
    },
  ]);
  // Data after the Teardown belongs to no tunnel; a new Request opens the next one.
  tt.observe(at({ at: 21, kind: 'data', bytes: 100 }));
  tt.observe(at({ at: 30, kind: 'request', bytes: 8, nonce: 6 }));
  tt.endAll(40);
  t.like(ended[1], { start: 30, end: 40, reason: 'stopped', groups: [], toGateway: { packets: 0, bytes: 0 }, fromGateway: { packets: 1, bytes: 8 } });
  t.is(ended.length, 2);
});

test('keepalive expiry: a life ends when its window passes, at that moment, whether noticed by expire() or by the next Request', (t) => {
  const { table: tt, ended } = table();
  tt.observe(at({ at: 0, kind: 'request', bytes: 8 }));
  tt.observe(at({ at: 5, kind: 'update', bytes: 64, changes: join('232.1.1.1') }));
  tt.expire(5 + 3 * IDLE - 1);
  t.is(ended.length, 0, 'an Update keeps it three idle times');
  tt.expire(5 + 3 * IDLE);
  t.like(ended[0], { start: 0, end: 5 + 3 * IDLE, reason: 'expired', groups: ['232.1.1.1'] });
  tt.expire(10 * IDLE);
  t.is(ended.length, 1, 'ended once');

  tt.observe(at({ gateway: B, at: 0, kind: 'request', bytes: 8 }));
  tt.observe(at({ gateway: B, at: IDLE + 500, kind: 'request', bytes: 8 }));
  t.like(ended[1], { gateway: B, start: 0, end: IDLE, reason: 'expired', fromGateway: { packets: 1, bytes: 8 } });
  tt.observe(at({ gateway: B, at: IDLE + 600, kind: 'teardown', bytes: 30, tunnel: B }));
  t.like(ended[2], { gateway: B, start: IDLE + 500, end: IDLE + 600, reason: 'teardown', fromGateway: { packets: 2, bytes: 38 } });
});

test('eviction: the least recently seen entry goes, and its open tunnel ends as evicted (an idle one as expired)', (t) => {
  const { table: tt, ended } = table({ maxEntries: 2 });
  tt.observe(at({ gateway: A, at: 0, kind: 'request', bytes: 8 }));
  tt.observe(at({ gateway: B, at: 1, kind: 'request', bytes: 8 }));
  tt.observe(at({ gateway: C, at: 2, kind: 'request', bytes: 8 }));
  t.like(ended[0], { gateway: A, start: 0, end: 2, reason: 'evicted' });
  tt.observe(at({ gateway: A, at: 2 * IDLE, kind: 'request', bytes: 8 }));
  t.like(ended[1], { gateway: B, start: 1, end: 1 + IDLE, reason: 'expired' });
  t.is(tt.evicted, 2);
});

test('groups of a life are bounded', (t) => {
  const { table: tt, ended } = table();
  tt.observe(at({ at: 0, kind: 'request', bytes: 8 }));
  const many = Array.from({ length: MAX_LIFE_GROUPS + 6 }, (_, i) => `232.9.${i >> 8}.${i & 255}`);
  tt.observe(at({ at: 1, kind: 'update', bytes: 64, changes: join(...many) }));
  tt.observe(at({ at: 2, kind: 'update', bytes: 64, changes: join(many[0]!) }));
  tt.endAll(3);
  t.is(ended[0]!.groups.length, MAX_LIFE_GROUPS);
  t.is(ended[0]!.groupsOmitted, 6);
});

const snap = (seq: number, at: number, g: { address: string; port: number }, c: { request?: number; update?: number; teardown?: number; data?: number }) => [
  {
    type: 'gateway',
    seq,
    address: g.address,
    port: g.port,
    lastSeen: at,
    toRelay: { request: { packets: c.request ?? 0, bytes: 8 * (c.request ?? 0) }, update: { packets: c.update ?? 0, bytes: 64 * (c.update ?? 0) }, teardown: { packets: c.teardown ?? 0, bytes: 30 * (c.teardown ?? 0) } },
    fromRelay: { data: { packets: c.data ?? 0, bytes: 1000 * (c.data ?? 0) } },
  },
  { type: 'snapshot', seq, at, full: false, entries: 1, changed: 1, gone: 0, entriesCreated: 1, evicted: 0, stats: {} },
];

test('loader path: an ended tunnel waits for the next snapshot, whose counters hold its last messages', (t) => {
  const { table: tt, ended } = table();
  tt.deferEnds = true;
  const state = newLoaderState();
  const apply = (lines: Array<Record<string, unknown>>) => lines.forEach((l) => t.true(applyLoaderLine(tt, state, l, 0)));
  apply([{ type: 'ready', pid: 1 }]);
  apply([{ type: 'request', at: 100, gateway: A, nonce: '00000005', length: 8 }]);
  apply(snap(1, 1000, A, { request: 1, data: 10 }));
  apply([{ type: 'teardown', at: 1500, gateway: A, nonce: '00000005', length: 30, tunnel: A }]);
  t.is(ended.length, 0, 'held until the snapshot');
  t.deepEqual(tt.active(1600), { tunnels: 0, addresses: 0 }, 'but no longer active');
  apply(snap(2, 2000, A, { request: 1, teardown: 1, data: 12 }));
  t.deepEqual(ended, [
    { gateway: A, start: 100, end: 1500, reason: 'teardown', groups: [], groupsOmitted: 0, toGateway: { packets: 12, bytes: 12_000 }, fromGateway: { packets: 2, bytes: 38 } },
  ]);
  t.is(state.lastSnapshotAt, 2000);
});

test('counters that go backwards (a new loader, an entry evicted and re-created between snapshots) are counted from zero, never negative', (t) => {
  const { table: tt, ended } = table();
  tt.deferEnds = true;
  const state = newLoaderState();
  const apply = (lines: Array<Record<string, unknown>>) => lines.forEach((l) => applyLoaderLine(tt, state, l, 0));
  apply([{ type: 'ready', pid: 1 }, { type: 'request', at: 100, gateway: A, nonce: '00000005', length: 8 }]);
  apply(snap(1, 1000, A, { request: 1, data: 100 }));
  t.deepEqual(tt.seen.data, { packets: 100, bytes: 100_000 });
  // The BPF map lost the entry and made it again: 3 packets since.
  apply(snap(2, 2000, A, { data: 3 }));
  t.deepEqual(tt.seen.data, { packets: 103, bytes: 103_000 });
  t.deepEqual(tt.seen.request, { packets: 1, bytes: 8 }, 'a counter that was not shown again is not lost or taken back');
  // A new loader (after a crash) starts from zero, even where its count passes the old one.
  apply([{ type: 'ready', pid: 2 }]);
  apply(snap(1, 3000, A, { request: 2, data: 150 }));
  t.deepEqual(tt.seen.data, { packets: 253, bytes: 253_000 });
  t.deepEqual(tt.seen.request, { packets: 3, bytes: 24 });
  // gone: the entry's open tunnel ends as evicted, with what it had.
  apply([{ type: 'gone', seq: 2, address: A.address, port: A.port, lastSeen: 3000 }]);
  t.like(ended[0], { reason: 'evicted', start: 100, toGateway: { packets: 253, bytes: 253_000 }, fromGateway: { packets: 3, bytes: 24 } });
  t.is(tt.size, 0);
});

test('rates: differences over the time between samples; the first sample, a repeated time and a counter going down give no nonsense', (t) => {
  const { table: tt } = table();
  const m = new RateMeter();
  t.is(m.sample(tt.seen, 1000), null, 'one sample gives no rate');
  for (let i = 0; i < 10; i++) tt.observe(at({ gateway: { address: '192.0.2.50', port: 1000 + i }, at: 1000, kind: 'discovery', bytes: 8 }));
  for (let i = 0; i < 4; i++) tt.observe(at({ gateway: { address: '192.0.2.50', port: 1000 + i }, at: 1000, kind: 'request', bytes: 8 }));
  tt.observe(at({ gateway: { address: '192.0.2.50', port: 1000 }, at: 1000, kind: 'data', bytes: 1388 }));
  t.deepEqual(m.sample(tt.seen, 3000), { bandwidthBps: (8 * (14 * 8 + 1388)) / 2, packetsPerSecond: 7.5, discoveriesPerSecond: 5, requestsPerSecond: 2 });
  t.is(m.sample(tt.seen, 3000), null, 'no time passed: no rate');
  t.deepEqual(m.sample(tt.seen, 4000), { bandwidthBps: 0, packetsPerSecond: 0, discoveriesPerSecond: 0, requestsPerSecond: 0 });
  const lower = structuredClone(tt.seen);
  lower.data.bytes = 0;
  lower.discovery.packets = 0;
  t.like(m.sample(lower, 5000), { bandwidthBps: 0, discoveriesPerSecond: 0 }, 'never negative');
  m.reset();
  t.is(m.sample(tt.seen, 6000), null, 'reset: a new baseline');
});
