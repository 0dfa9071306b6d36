import test from 'ava';
import { DEFAULT_IDLE_MS, TunnelTable, type Observation } from '../../../src/collectors/ebpf/tunnel-table.ts';

const A = { address: '192.0.2.10', port: 40001 };
const B = { address: '192.0.2.10', port: 40002 };
const C = { address: '2001:db8::7', port: 5000 };
const IDLE = 10_000;

const req = (at: number, g = A, nonce = 1, kernelShaped = false): Observation => ({ at, gateway: g, kind: 'request', bytes: 8, nonce, kernelShaped });
const upd = (at: number, changes: Observation['changes'], g = A, nonce = 1): Observation => ({ at, gateway: g, kind: 'update', bytes: 64, nonce, changes });
const tear = (at: number, g = A, tunnel = g): Observation => ({ at, gateway: g, kind: 'teardown', bytes: 30, nonce: 1, tunnel });

const cases: Array<{ title: string; observations: Observation[]; now: number; tunnels: number; addresses: number; groups?: string[]; check?: (table: TunnelTable, t: import('ava').ExecutionContext) => void }> = [
  { title: 'a Request opens a tunnel', observations: [req(0)], now: 1, tunnels: 1, addresses: 1 },
  { title: 'a Request alone lasts the idle time', observations: [req(0)], now: IDLE, tunnels: 0, addresses: 0 },
  { title: 'an Update keeps it three idle times', observations: [req(0), upd(1, [])], now: 3 * IDLE, tunnels: 1, addresses: 1 },
  { title: 'and no longer', observations: [req(0), upd(1, [])], now: 3 * IDLE + 1, tunnels: 0, addresses: 0 },
  { title: 'a Teardown ends it', observations: [req(0), upd(1, [{ group: '232.1.1.1', change: 'join' }]), tear(2)], now: 3, tunnels: 0, addresses: 0, groups: [] },
  { title: 'a Request after a Teardown opens it again', observations: [req(0), tear(1), req(2, A, 2)], now: 3, tunnels: 1, addresses: 1 },
  { title: 'a Teardown names the tunnel it ends (NAT rebinding)', observations: [req(0, A), req(0, B), tear(1, B, A)], now: 2, tunnels: 1, addresses: 1, check: (table, t) => t.is(table.get(A)!.tornDown, true) },
  { title: 'two ports behind one address: two tunnels, one kernel tunnel', observations: [req(0, A), req(0, B), req(0, C)], now: 1, tunnels: 3, addresses: 2 },
  {
    title: 'joins and leaves',
    observations: [req(0), upd(1, [{ group: '232.1.1.1', change: 'join' }, { group: '232.1.1.2', change: 'join' }]), upd(2, [{ group: '232.1.1.1', change: 'leave' }])],
    now: 3,
    tunnels: 1,
    addresses: 1,
    groups: ['232.1.1.2'],
    check: (table, t) => t.like(table.get(A)!, { joins: 2, leaves: 1 }),
  },
  {
    title: 'nonce mismatch and kernel-shaped Requests are counted',
    observations: [req(0, A, 7, true), upd(1, [], A, 8)],
    now: 2,
    tunnels: 1,
    addresses: 1,
    check: (table, t) => t.deepEqual(table.get(A)!.deviations, { kernelShapedRequests: 1, kernelShapedQueries: 0, nonceMismatches: 1 }),
  },
  { title: 'Discovery opens nothing', observations: [{ at: 0, gateway: A, kind: 'discovery', bytes: 8 }], now: 1, tunnels: 0, addresses: 0 },
];

for (const c of cases) {
  test(`tunnel table: ${c.title}`, (t) => {
    const table = new TunnelTable({ idleMs: IDLE });
    for (const o of c.observations) table.observe(o);
    t.deepEqual(table.active(c.now), { tunnels: c.tunnels, addresses: c.addresses });
    if (c.groups) t.deepEqual([...table.get(A)!.groups], c.groups);
    if (c.check) c.check(table, t);
  });
}

test('tunnel table: counters by type, first and last seen', (t) => {
  const table = new TunnelTable();
  table.observe(req(100));
  table.observe({ at: 150, gateway: A, kind: 'query', bytes: 60, kernelShaped: true });
  table.observe(upd(200, []));
  table.observe(upd(300, []));
  const e = table.get(A)!;
  t.like(e, { firstSeen: 100, lastSeen: 300 });
  t.deepEqual(e.counters.update, { packets: 2, bytes: 128 });
  t.deepEqual(e.counters.query, { packets: 1, bytes: 60 });
  t.is(e.deviations.kernelShapedQueries, 1);
  t.is(table.totals().request.packets, 1);
});

test('tunnel table: the default idle time is the kernel GMI (260 s)', (t) => {
  t.is(DEFAULT_IDLE_MS, 260_000);
  const table = new TunnelTable();
  table.observe(req(0));
  t.is(table.active(259_999).tunnels, 1);
  t.is(table.active(260_000).tunnels, 0);
});

test('tunnel table: bounded, the least recently seen goes first', (t) => {
  const table = new TunnelTable({ maxEntries: 2 });
  table.observe(req(0, A));
  table.observe(req(1, B));
  table.observe(req(2, A));
  table.observe(req(3, C));
  t.is(table.size, 2);
  t.is(table.evicted, 1);
  t.truthy(table.get(A));
  t.falsy(table.get(B));
});

test('tunnel table: loader snapshots set counters, events set the lifecycle, gone removes', (t) => {
  const table = new TunnelTable();
  table.event(req(0));
  table.setCounters(A, 5, { request: { packets: 3, bytes: 24 } }, { kernelShapedRequests: 2 });
  t.deepEqual(table.get(A)!.counters.request, { packets: 3, bytes: 24 });
  t.is(table.get(A)!.deviations.kernelShapedRequests, 2);
  t.is(table.active(1).tunnels, 1);
  table.remove(A);
  t.is(table.size, 0);
  t.is(table.evicted, 1);
});
