import test from 'ava';
import type { RelayConfig } from '../../src/config/types.ts';
import { HealthStore, type HealthPolicy } from '../../src/health/store.ts';
import type { Signal } from '../../src/health/signals.ts';
import { parseSignal } from '../../src/health/signals.ts';

const relay = (name: string, extra: Partial<RelayConfig> = {}): RelayConfig => ({
  name,
  kind: 'juniper',
  ipv4: '192.0.2.1',
  precedence: 10,
  discoveryOptional: false,
  state: 'up',
  origin: 'config',
  maxTunnels: 100,
  ...extra,
});

const policy: HealthPolicy = { downAfter: 1, upAfter: 2, minHoldMs: 1000, degradedUtilization: 0.85, fullUtilization: 1 };

/** A store on a hand-driven clock. */
function store(p: Partial<HealthPolicy> = {}) {
  let now = 1_000_000;
  const h = new HealthStore([relay('mx'), relay('gw', { kind: 'linux' })], { ...policy, ...p }, () => now);
  const send = (s: Partial<Signal> & Pick<Signal, 'kind' | 'value'>) => h.ingest({ relay: 'mx', source: 'gnmi', at: now, maxAgeMs: 3000, ...s });
  return { h, send, advance: (ms: number) => (now += ms), now: () => now };
}

test('with no signal yet, the state comes from the config', (t) => {
  const { h } = store();
  t.like(h.get('mx'), { state: 'up', source: 'config' });
});

test('an unreachable report takes the relay down at once (downAfter 1), with the reason', (t) => {
  const { h, send } = store();
  const gen = h.generation;
  send({ kind: 'reachable', value: false, source: 'prober' });
  t.like(h.get('mx'), { state: 'down', reason: 'prober: unreachable', source: 'signals' });
  t.is(h.generation, gen + 1);
  t.like(h.transitions().at(-1), { relay: 'mx', from: 'up', to: 'down' });
});

test('recovery needs upAfter agreeing results and the minimum hold time', (t) => {
  const { h, send, advance } = store();
  send({ kind: 'reachable', value: false });
  advance(100);
  send({ kind: 'reachable', value: true });
  t.is(h.get('mx')?.state, 'down', 'one good result is not enough');
  advance(100);
  send({ kind: 'reachable', value: true });
  t.is(h.get('mx')?.state, 'down', 'still inside the hold time');
  advance(1000);
  send({ kind: 'reachable', value: true });
  t.like(h.get('mx'), { state: 'up', source: 'signals' });
});

test('downAfter > 1 ignores a single bad result', (t) => {
  const { h, send, advance } = store({ downAfter: 2 });
  send({ kind: 'reachable', value: true });
  send({ kind: 'reachable', value: false });
  t.is(h.get('mx')?.state, 'up');
  send({ kind: 'reachable', value: true });
  advance(10);
  send({ kind: 'reachable', value: false });
  t.is(h.get('mx')?.state, 'up', 'the streak restarted');
  send({ kind: 'reachable', value: false });
  t.is(h.get('mx')?.state, 'down');
});

test('tunnels against capacity: degraded when busy, down when full', (t) => {
  const { h, send, advance } = store({ upAfter: 1, minHoldMs: 0 });
  send({ kind: 'tunnels', value: 50 });
  t.like(h.get('mx'), { state: 'up', reason: '1 fresh signal, tunnels at 50.0%' });
  t.is(h.utilization('mx'), 0.5);
  advance(1);
  send({ kind: 'tunnels', value: 90 });
  t.like(h.get('mx'), { state: 'degraded', reason: 'busy: 90 of 100 tunnels (90.0%)' });
  advance(1);
  send({ kind: 'tunnels', value: 100 });
  t.like(h.get('mx'), { state: 'down', reason: 'full: 100 of 100 tunnels' });
  advance(1);
  send({ kind: 'tunnels', value: 10 });
  t.is(h.get('mx')?.state, 'up');
});

test('a relay whose signals have all expired becomes unknown by itself, without another signal', async (t) => {
  const h = new HealthStore([relay('mx')], policy);
  // The store's timers do not hold the process open (a server's sockets do); this test must.
  const keepAlive = setTimeout(() => {}, 5000);
  t.teardown(() => {
    h.close();
    clearTimeout(keepAlive);
  });
  const changed = new Promise<number>((resolve) => h.onChange(() => resolve(Date.now())));
  const sentAt = Date.now();
  h.ingest({ relay: 'mx', source: 'gnmi', kind: 'tunnels', value: 5, at: sentAt, maxAgeMs: 100 });
  t.is(h.get('mx')?.state, 'up');
  const at = await changed;
  t.true(at - sentAt >= 100, `unknown after ${at - sentAt} ms, before the signal expired`);
  t.is(h.get('mx')?.state, 'unknown');
  t.regex(h.get('mx')?.reason ?? '', /^no fresh signal: newest is gnmi\/tunnels, \d+\.\d s old \(max age 0\.1 s\)$/);
  t.true(h.signals('mx')[0]?.stale);
});

test('an operator override wins over signals until cleared', (t) => {
  const { h, send } = store();
  send({ kind: 'reachable', value: true });
  h.setOverride('mx', 'down', 'maintenance');
  t.like(h.get('mx'), { state: 'down', reason: 'maintenance', source: 'admin' });
  send({ kind: 'reachable', value: true });
  t.is(h.get('mx')?.state, 'down');
  h.clearOverride('mx');
  t.like(h.get('mx'), { state: 'up', source: 'signals' });
});

test('signals for unknown relays are refused; reconcile keeps known relays and their state', (t) => {
  const { h, send } = store();
  t.false(h.ingest({ relay: 'nope', source: 'x', kind: 'reachable', value: true, at: 0, maxAgeMs: 1 }));
  send({ kind: 'reachable', value: false });
  h.reconcile([relay('mx'), relay('new')]);
  t.is(h.get('mx')?.state, 'down');
  t.is(h.get('gw'), undefined);
  t.is(h.get('new')?.state, 'up');
});

test('RTT: the freshest measurement is used for ranking', (t) => {
  const { h, send, advance } = store();
  send({ kind: 'rttMs', value: 30, source: 'prober' });
  advance(10);
  send({ kind: 'rttMs', value: 12, source: 'gnmi' });
  t.is(h.rttMs('mx'), 12);
});

test('parseSignal checks every field and names the bad one', (t) => {
  const now = 1_000_000;
  const d = { maxAgeMs: 100, silenceIntervals: 3 };
  t.deepEqual(parseSignal({ relay: 'mx', source: 'p', kind: 'rttMs', value: 3 }, now, d), { relay: 'mx', source: 'p', kind: 'rttMs', value: 3, at: now, maxAgeMs: 100 });
  t.throws(() => parseSignal({ relay: 'mx', source: 'p', kind: 'latency', value: 3 }, now, d), { message: /^kind must be one of/ });
  t.throws(() => parseSignal({ relay: 'mx', source: 'p', kind: 'reachable', value: 'yes' }, now, d), { message: 'value of a reachable signal must be true or false' });
  t.throws(() => parseSignal({ relay: 'mx', source: 'p', kind: 'tunnels', value: -1 }, now, d), { message: 'value of a tunnels signal must be a number >= 0' });
  t.throws(() => parseSignal({ source: 'p', kind: 'tunnels', value: 1 }, now, d), { message: /^relay must be/ });
  t.throws(() => parseSignal({ relay: 'mx', source: 'p', kind: 'tunnels', value: 1, maxAgeMs: 0 }, now, d), { message: 'maxAgeMs must be a number from 1 to 86400000' });
  t.throws(() => parseSignal({ relay: 'mx', source: 'p', kind: 'tunnels', value: 1, intervalMs: 'often' }, now, d), { message: 'intervalMs must be a number from 1 to 28800000' });
  t.throws(() => parseSignal({ relay: 'mx', source: 'p', kind: 'tunnels', value: 1, intervalMs: 10, maxAgeMs: 30 }, now, d), { message: 'give maxAgeMs or intervalMs, not both' });
  t.throws(() => parseSignal([], now, d), { message: 'signal must be a JSON object' });
});

test('a periodic source states its interval: its signals count for just under silenceIntervals intervals', (t) => {
  const at = 1_000_000;
  const reachable = (intervalMs: number, silenceIntervals: number) =>
    parseSignal({ relay: 'mx', source: 'gnmi', kind: 'reachable', value: true, intervalMs }, at, { maxAgeMs: 30_000, silenceIntervals });
  t.like(reachable(10_000, 3), { intervalMs: 10_000, maxAgeMs: 29_995 }, 'a 5 ms margin to act');
  t.like(reachable(100, 3), { intervalMs: 100, maxAgeMs: 295 });
  t.like(reachable(20, 2), { intervalMs: 20, maxAgeMs: 39 }, 'at most 5% of an interval');

  const { h, advance, now } = store();
  h.ingest({ ...reachable(100, 3), at: now() });
  advance(294);
  t.false(h.signals('mx')[0]?.stale, 'fresh until just before the third interval ends');
  advance(1);
  t.true(h.signals('mx')[0]?.stale, 'stale before three intervals have passed');
});

test('silence is noticed on time even while a recovery is held back by minHoldMs', async (t) => {
  const h = new HealthStore([relay('mx')], { ...policy, upAfter: 2, minHoldMs: 5000 });
  const keepAlive = setTimeout(() => {}, 5000);
  t.teardown(() => {
    h.close();
    clearTimeout(keepAlive);
  });
  const send = (value: string) => h.ingest({ relay: 'mx', source: 's', kind: 'state', value, at: Date.now(), maxAgeMs: 150 });
  send('degraded');
  t.is(h.get('mx')?.state, 'degraded');
  send('up');
  send('up'); // two agreeing results, but inside the 5 s hold: stays degraded
  t.is(h.get('mx')?.state, 'degraded');
  const sentAt = Date.now();
  const changed = new Promise<number>((resolve) => h.onChange(() => resolve(Date.now())));
  const at = await changed;
  t.is(h.get('mx')?.state, 'unknown');
  t.true(at - sentAt < 1000, `unknown after ${at - sentAt} ms, not when the hold ended`);
});

test('rate signals (packets, discoveries, requests per second) are kept and expire like any other, and judge nothing', (t) => {
  const { h, send, advance } = store();
  const now = 1_000_000;
  for (const kind of ['packetsPerSecond', 'discoveriesPerSecond', 'requestsPerSecond'] as const) {
    t.like(parseSignal({ relay: 'gw', source: 'ebpf', kind, value: 12.5, intervalMs: 1000 }, now, { maxAgeMs: 100, silenceIntervals: 3 }), { kind, value: 12.5, maxAgeMs: 2995 });
    t.throws(() => parseSignal({ relay: 'gw', source: 'ebpf', kind, value: -1 }, now, { maxAgeMs: 100, silenceIntervals: 3 }), { message: `value of a ${kind} signal must be a number >= 0` });
    send({ kind, value: 1_000_000, source: 'ebpf' });
  }
  // A million of each per second: a rate alone neither degrades nor downs a relay.
  t.like(h.get('mx'), { state: 'up', source: 'signals', reason: '3 fresh signals' });
  t.deepEqual(h.signals('mx').map((s) => s.kind), ['packetsPerSecond', 'discoveriesPerSecond', 'requestsPerSecond']);
  advance(3000);
  t.true(h.signals('mx').every((s) => s.stale), 'stale after their maxAgeMs');
});
