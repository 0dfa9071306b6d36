import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LineBatcher } from '../../../src/collectors/ebpf/line-batcher.ts';
import { applyLoaderLine, newLoaderState } from '../../../src/collectors/ebpf/loader-lines.ts';
import { TunnelTable } from '../../../src/collectors/ebpf/tunnel-table.ts';
import { loadConfig } from '../../../src/config/load.ts';

function load(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'driad-ebpf-config-'));
  writeFileSync(join(dir, 'driad.yaml'), yaml);
  return loadConfig({ config: join(dir, 'driad.yaml') }, {});
}

test('ebpf config: defaults, and every bad value names its key', (t) => {
  const c = load('').ebpf;
  t.like(c, { enabled: true, tunnelRecords: true, mode: 'auto', port: 2268, tunnelIdleMs: 260_000, mapSize: 65_536, logRecords: 8192, xdpAttach: 'auto', maxFailures: 3 });
  t.like(load('ebpf:\n  logRecords: 0\n  xdpAttach: generic\n').ebpf, { logRecords: 0, xdpAttach: 'generic' });
  t.is(load('ebpf:\n  mode: capture\n  interface: eth1\n').ebpf.interface, 'eth1');
  t.false(loadConfig({}, { DRIAD_EBPF: 'false' }).ebpf.enabled, 'DRIAD_EBPF=false is an explicit off');
  t.false(load('ebpf:\n  enabled: false\n').ebpf.enabled);
  const bad: Array<[string, string]> = [
    ['ebpf:\n  mode: bpf\n', 'config error: ebpf.mode: must be one of auto, xdp, capture, kernel, off (got "bpf")'],
    ['ebpf:\n  mapSize: 0\n', 'config error: ebpf.mapSize: must be an integer from 1 to 1048576 (got 0)'],
    ['ebpf:\n  logRecords: 1000\n', 'config error: ebpf.logRecords: must be 0 or a power of two (got 1000)'],
    ['ebpf:\n  xdpAttach: hw\n', 'config error: ebpf.xdpAttach: must be one of auto, native, generic (got "hw")'],
    ['ebpf:\n  interface: "a/b"\n', 'config error: ebpf.interface: must be an interface name (got "a/b")'],
    ['ebpf:\n  relay: nosuch\n', 'config error: ebpf.relay: no relay named "nosuch" (relays: mx, gateway)'],
    ['ebpf:\n  restartMinMs: 5000\n  restartMaxMs: 1000\n', 'config error: ebpf.restartMaxMs: must be at least ebpf.restartMinMs (5000)'],
    ['ebpf:\n  tunelIdleMs: 5\n', 'config error: ebpf.tunelIdleMs: unknown key'],
  ];
  for (const [yaml, message] of bad) t.throws(() => load(yaml), { message }, yaml);
});

test('line batcher: lines split across chunks, a flood handed on in batches that yield, garbage counted', async (t) => {
  const got: unknown[] = [];
  const bad: string[] = [];
  const b = new LineBatcher({ onLine: (v) => got.push(v), onBad: (d) => bad.push(d), batch: 100 });
  b.push('{"type":"re');
  b.push('ady"}\n{"a":1}\nnot json\n[1]\n');
  const flood = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ i })).join('\n') + '\n';
  b.push(flood);
  t.is(got.length, 0, 'nothing is processed inside push');
  await new Promise((r) => setImmediate(r));
  t.is(got.length, 98, 'the first turn takes one batch (two of its lines were bad)');
  let turns = 1;
  while (b.pending > 0) {
    await new Promise((r) => setImmediate(r));
    turns++;
  }
  t.is(turns, 11);
  t.is(got.length, 1002);
  t.deepEqual(got[0], { type: 'ready' });
  t.deepEqual(bad, ['not JSON: not json', 'not a JSON object: [1]']);
});

test('loader lines: events give the lifecycle, snapshots the counters, gone the evictions', (t) => {
  const table = new TunnelTable({ idleMs: 10_000 });
  const state = newLoaderState();
  const gw = { address: '192.0.2.10', port: 40001 };
  const apply = (line: Record<string, unknown>) => applyLoaderLine(table, state, line, 1000);
  t.true(apply({ type: 'ready', pid: 1 }));
  t.true(apply({ type: 'request', at: 1000, gateway: gw, nonce: '55667788', p: 0, kernelShaped: true, length: 8 }));
  t.true(apply({ type: 'update', at: 1001, gateway: gw, nonce: '55667788', report: 'igmpv3', groups: [{ address: '232.1.2.3', recordType: 5, sources: 1 }, { address: '239.1.1.1', recordType: 4, sources: 0 }, { address: '232.0.0.9', recordType: 6, sources: 0 }] }));
  t.true(apply({ type: 'update', at: 1002, gateway: gw, nonce: '55667789', report: 'igmpv2-leave', groups: [{ address: '239.1.1.1', recordType: 0, sources: 0 }] }));
  const e = table.get(gw)!;
  t.deepEqual([...e.groups], ['232.1.2.3']);
  t.is(e.deviations.nonceMismatches, 1);
  t.is(e.deviations.kernelShapedRequests, 1);
  t.true(apply({ type: 'gateway', seq: 1, address: gw.address, port: gw.port, lastSeen: 1002, kernelShapedRequests: 1, nonceMismatches: 1, toRelay: { request: { packets: 1, bytes: 8 }, update: { packets: 2, bytes: 120 } }, fromRelay: { query: { packets: 1, bytes: 60 } } }));
  t.deepEqual(e.counters.update, { packets: 2, bytes: 120 });
  t.deepEqual(e.counters.query, { packets: 1, bytes: 60 });
  t.true(apply({ type: 'snapshot', seq: 1, evicted: 0, stats: { ringbufDrops: 2 } }));
  t.is(state.stats.ringbufDrops, 2);
  t.true(apply({ type: 'teardown', at: 1003, gateway: gw, nonce: '55667789', tunnel: gw }));
  t.is(table.active(1004).tunnels, 0);
  t.true(apply({ type: 'gone', seq: 2, address: gw.address, port: gw.port }));
  t.is(table.size, 0);
  t.false(apply({ type: 'mystery' }));
  t.false(apply({ type: 'request', gateway: 'nope' }));
});
