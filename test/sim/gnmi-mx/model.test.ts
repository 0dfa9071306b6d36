/**
 * The simulated MX's data model, without the network: counters over a controlled clock, tunnels
 * coming and going, reboot and wrap, and a smoke check that 500,000 tunnels are generated lazily.
 */
import test from 'ava';
import { pathToString } from '../../../src/collectors/gnmi/wire/path.ts';
import { MxModel, type Change, type Entry } from './model.ts';
import { select } from './select.ts';

function clock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function leafValues(entries: Iterable<Entry>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) for (const l of e.leaves) out[pathToString({ elem: [...e.elem, ...l.rel.map((name) => ({ name }))] })] = String(l.value);
  return out;
}

const XE0 = '/interfaces/interface[name=xe-0/0/0]/state/counters/';
const ALL = new Set(['counter', 'state'] as const);

test('interface counters follow the tunnel traffic and only grow; oper-status down stops them', (t) => {
  const c = clock();
  const m = new MxModel({ tunnels: 100, tunnelBps: 8e6, now: c.now, relayInterfaces: ['xe-0/0/0'] });
  const at = () => leafValues(m.sections[0]!.entries(c.now()));
  const t0 = at();
  c.advance(1000);
  const t1 = at();
  t.is(BigInt(t1[`${XE0}out-octets`]!) - BigInt(t0[`${XE0}out-octets`]!), 100_000_000n, '100 tunnels × 8 Mbit/s = 100 MB/s out');
  m.setTunnels(50);
  c.advance(1000);
  const t2 = at();
  t.is(BigInt(t2[`${XE0}out-octets`]!) - BigInt(t1[`${XE0}out-octets`]!), 50_000_000n, 'half the tunnels, half the rate, no step back');
  m.setOperStatus('xe-0/0/0', 'DOWN');
  c.advance(1000);
  const t3 = at();
  t.is(t3[`${XE0}out-octets`], t2[`${XE0}out-octets`]);
  t.is(t3['/interfaces/interface[name=xe-0/0/0]/state/oper-status'], 'DOWN');
});

test('tunnels come and go: churn and setTunnels emit new entries and deletes; AMT statistics count arrivals', (t) => {
  const c = clock();
  const m = new MxModel({ tunnels: 4, now: c.now });
  const changes: Change[] = [];
  m.on('change', (ch) => changes.push(ch));
  const tunnels = () => Object.keys(leafValues(m.sections[3]!.entries(c.now()))).filter((p) => p.endsWith('/state'));
  t.is(tunnels().length, 4);
  m.churn(2);
  t.is(m.tunnelCount, 4);
  t.deepEqual([...changes[0]!.deleted()].map(pathToString), [pathToString(m.tunnelPath(0)), pathToString(m.tunnelPath(1))]);
  t.deepEqual(
    [...changes[0]!.updated()].map((e) => pathToString({ elem: e.elem })),
    ['/junos/amt/summary', pathToString(m.tunnelPath(4)), pathToString(m.tunnelPath(5))],
  );
  t.false(tunnels().includes(`${pathToString(m.tunnelPath(0))}/state`));
  m.setTunnels(6);
  t.is([...changes[1]!.updated()].length, 1 + 2);
  m.setTunnels(1);
  t.is([...changes[2]!.deleted()].length, 5);
  t.is(m.tunnelCount, 1);
  const stats = leafValues(m.sections[2]!.entries(c.now()));
  t.is(stats['/junos/amt/statistics/relay-discovery-received'], String(4 + 2 + 2), 'every arrival discovered the relay');
  m.setTunnels(10_000_000);
  t.is(m.tunnelCount, 500_000, 'capped at the tunnel limit');
});

test('tunnel keys: gateway addresses and ports derived from the index, distinct', (t) => {
  const m = new MxModel({ tunnels: 0 });
  const keys = new Set<string>();
  for (let i = 0; i < 70_000; i += 7) keys.add(pathToString(m.tunnelPath(i)));
  t.is(keys.size, 10_000);
  t.deepEqual(m.tunnel(65_537), { gateway: '10.1.0.1', port: 1024 + ((65_537 * 7919) % 64000), interface: 'ud-0/0/0.32769', groups: 1 + (65_537 % 3) });
});

test('reboot resets every counter; counterBase near 2^64 wraps', (t) => {
  const c = clock();
  const m = new MxModel({ tunnels: 10, now: c.now, counterBase: (1n << 64n) - 10n });
  const out = () => BigInt(leafValues(m.sections[0]!.entries(c.now()))[`${XE0}out-octets`]!);
  t.is(out(), (1n << 64n) - 10n);
  c.advance(1000);
  t.true(out() < 10_000_000n, 'wrapped past 2^64');
  c.advance(1000);
  const before = out();
  m.reboot();
  t.is(out(), 0n);
  c.advance(1000);
  t.true(out() > 0n && out() < before);
});

test('smoke: 500,000 tunnels are generated lazily (2,000,000 leaves, entries not kept)', (t) => {
  const m = new MxModel({ tunnels: 500_000 });
  const path = { elem: [{ name: 'junos' }, { name: 'amt' }, { name: 'tunnels' }] };
  let leaves = 0;
  let last: Entry | undefined;
  for (const s of select(m.sections, [{ path, kinds: ALL }], Date.now())) {
    leaves += s.leaves.length;
    last = s.entry;
  }
  t.is(leaves, 2_000_000);
  t.is(pathToString({ elem: last!.elem }), pathToString(m.tunnelPath(499_999)));
  t.log('generation speed is measured by bench/, not asserted here');
});
