import test from 'ava';
import { startGnmiMx, type GnmiMxOptions } from '../../sim/gnmi-mx/server.ts';
import { mxRelay, PASSWORD, startHarness, testSettings, type Harness } from './harness.ts';
import type { GnmiSettings } from '../../../src/collectors/gnmi/settings.ts';

async function setup(t: { teardown(f: () => Promise<void> | void): void }, sim: GnmiMxOptions = {}, over: Partial<GnmiSettings> = {}) {
  const mx = await startGnmiMx({ tunnels: 100, ...sim });
  t.teardown(() => mx.stop());
  const h = await startHarness(testSettings(over), [mxRelay('mx', mx.address)]);
  t.teardown(() => h.stop());
  return { mx, h };
}

const reachable = (h: Harness) => h.latest('reachable')?.value;
const reasonOf = (h: Harness) => h.latest('reachable')?.reason ?? '';

test('STREAM: Capabilities logged once, signals only after the first sync, then every interval', async (t) => {
  const { mx, h } = await setup(t, { tunnels: 1234 });
  t.true(await h.waitFor(() => h.session()?.synced === true));
  t.true(await h.waitFor(() => h.latest('bandwidthBps') !== undefined), 'a rate needs two samples');
  const st = h.session()!;
  t.like(st, { mode: 'stream', connected: true, synced: true, encoding: 'PROTO', gnmiVersion: '0.7.0', errors: 0, reconnects: 0, lastError: null, systemId: `${mx.model.hostname}:${mx.model.relayAddress}` });
  t.is(h.latest('tunnels')?.value, 1234);
  t.is(h.latest('state')?.value, 'up');
  t.is(reachable(h), true);
  for (const s of h.signals) t.true('intervalMs' in s && s.intervalMs === 250, 'periodic signals say their interval');
  // Bandwidth: the simulator sends tunnels x tunnelBps over the two relay-facing interfaces (4 Mbit/s each by default)
  const bw = h.latest('bandwidthBps')!.value as number;
  t.true(bw > 0 && Number.isFinite(bw));
  t.is(mx.stats.subscribes.STREAM, 1);
  const capsLines = h.lines.filter((l) => l.includes('target speaks gNMI'));
  t.is(capsLines.length, 1);
  t.regex(capsLines[0]!, /0\.7\.0.*PROTO/);
  t.regex(capsLines[0]!, /xmlproxyd_amt-tunnel@/);

  // The tunnel count follows the MX, the summary being ON_CHANGE
  mx.setTunnels(2000);
  t.true(await h.waitFor(() => h.latest('tunnels')?.value === 2000));
  // Oper-status, ON_CHANGE: one relay-facing interface down is degraded, with the reason
  mx.setOperStatus('xe-0/0/1', 'DOWN');
  t.true(await h.waitFor(() => h.latest('state')?.value === 'degraded'));
  t.is(h.latest('state')?.reason, 'relay-facing interface down: xe-0/0/1');
});

test('the signal timestamps follow the messages, so silence makes the relay unknown and the session reconnects', async (t) => {
  // A subscription opened while the simulator is silent gets no initial sync even after it heals: the sync timeout recovers it.
  const { mx, h } = await setup(t, {}, { syncTimeoutMs: 1500 });
  t.true(await h.waitFor(() => h.session()?.synced === true && h.latest('reachable') !== undefined));
  await mx.fail('silent');
  const silentAt = Date.now();
  t.true(await h.waitFor(() => (h.session()?.lastError ?? '').startsWith('gNMI target silent'), 8000));
  const detectedMs = Date.now() - silentAt;
  t.true(detectedMs < 4000, `silence noticed after ${detectedMs} ms (3 x 250 ms expected)`);
  // No `reachable: false` for silence: the signals stop being renewed and expire (health: unknown)
  t.is(reachable(h), true);
  const detectedAt = Date.now();
  const newest = () => Math.max(...h.signals.map((s) => s.at));
  const lastAt = newest();
  t.true(lastAt <= detectedAt - 500, 'the newest signal is as old as the last message');
  await new Promise((r) => setTimeout(r, 300));
  t.true(h.signals.every((s) => s.kind !== 'reachable' || s.value === true));
  await mx.heal();
  t.true(await h.waitFor(() => (h.session()?.reconnects ?? 0) >= 1 && h.session()?.synced === true && newest() > lastAt, 10_000));
});

test('wrong password: reachable false, reason "gNMI auth failed"; the password never appears', async (t) => {
  const wrong = 'wrong-secret-Xq7';
  const { mx, h } = await setup(t, {}, { password: wrong });
  t.true(await h.waitFor(() => reachable(h) === false));
  t.regex(reasonOf(h), /^gNMI auth failed: Capabilities: UNAUTHENTICATED/);
  t.true(mx.stats.authRejected >= 1);
  t.like(h.session(), { connected: false, synced: false });
  t.true(h.session()!.errors >= 1);
  t.true(await h.waitFor(() => (h.session()?.reconnects ?? 0) >= 2), 'keeps retrying with backoff');
  const everything = [...h.lines, JSON.stringify(h.collector.status()), JSON.stringify(h.signals), h.metrics.render()].join('\n');
  t.false(everything.includes(wrong));
  t.false(everything.includes(PASSWORD));
  t.true(h.lines.some((l) => l.includes('gNMI auth failed')), 'logged');
  t.true(h.metrics.get('driad_gnmi_errors_total', { relay: 'mx', kind: 'auth' }) >= 1);
});

test('PERMISSION_DENIED is an auth failure too', async (t) => {
  const { mx, h } = await setup(t);
  await mx.fail('permission-denied');
  t.true(await h.waitFor(() => reachable(h) === false));
  t.regex(reasonOf(h), /^gNMI auth failed: .*PERMISSION_DENIED/);
});

test('a target that refuses STREAM (UNIMPLEMENTED) is polled at the sample interval, and the status says so', async (t) => {
  const { mx, h } = await setup(t, { tunnels: 321 });
  await mx.fail('refuse-stream');
  await mx.fail('end-stream'); // the open STREAM ends; the next one is refused
  t.true(await h.waitFor(() => h.session()?.mode === 'poll' && h.session()?.synced === true && h.latest('tunnels')?.value === 321));
  t.regex(h.session()!.modeReason!, /gNMI target refused STREAM.*UNIMPLEMENTED.*polling every 250 ms/);
  t.is(h.collector.status().mode, 'poll');
  t.regex(h.collector.status().modeReason!, /^mx: gNMI target refused STREAM/);
  const polls = mx.stats.polls;
  t.true(await h.waitFor(() => mx.stats.polls >= polls + 3), 'polls keep coming');
  t.true(await h.waitFor(() => h.latest('bandwidthBps') !== undefined), 'counter deltas across polls');
  mx.setTunnels(400);
  t.true(await h.waitFor(() => h.latest('tunnels')?.value === 400));
  t.true(h.lines.some((l) => l.includes('refused STREAM')));
});

test('a STREAM that closes at once counts as refused too', async (t) => {
  const { mx, h } = await setup(t);
  await mx.fail('close-stream');
  await mx.fail('end-stream');
  t.true(await h.waitFor(() => h.session()?.mode === 'poll' && h.session()?.synced === true));
  t.regex(h.session()!.modeReason!, /closed at once/);
});

test('gnmi.mode poll polls from the start', async (t) => {
  const { mx, h } = await setup(t, {}, { mode: 'poll' });
  t.true(await h.waitFor(() => h.session()?.synced === true && h.latest('tunnels')?.value === 100));
  t.is(mx.stats.subscribes.STREAM, 0);
  t.true(mx.stats.subscribes.POLL >= 1);
  t.is(h.session()!.modeReason, 'gnmi.mode is poll');
});

test('a stream the target ends or breaks: reachable false with the reason, then a reconnect with backoff', async (t) => {
  const { mx, h } = await setup(t);
  t.true(await h.waitFor(() => h.session()?.synced === true && reachable(h) === true));
  // The reconnect can come within one poll of the test, so look for the failure among all signals since the fault.
  const failedSince = (n: number) => h.signals.slice(n).find((s) => s.kind === 'reachable' && s.value === false);
  const cases: Array<[Parameters<typeof mx.fail>[0], RegExp]> = [
    ['end-stream', /^gNMI stream ended/],
    ['error-stream', /^gNMI target unreachable: Subscribe: UNAVAILABLE/],
    ['drop-connections', /^gNMI (target unreachable|stream failed|stream ended)/],
  ];
  for (const [fault, reason] of cases) {
    const n = h.signals.length;
    const reconnects = h.session()!.reconnects;
    await mx.fail(fault);
    t.true(await h.waitFor(() => failedSince(n) !== undefined), fault);
    t.regex(failedSince(n)!.reason!, reason);
    t.true(await h.waitFor(() => reachable(h) === true && h.session()!.reconnects > reconnects), `${fault}: back`);
  }
  t.true(h.metrics.get('driad_gnmi_reconnects_total', { relay: 'mx' }) >= 3);
});

test('reconnects after the simulator is stopped and started again on the same port', async (t) => {
  const first = await startGnmiMx({ tunnels: 10 });
  const port = first.port;
  const h = await startHarness(testSettings({ backoff: { initialMs: 20, maxMs: 200 } }), [mxRelay('mx', first.address)]);
  t.teardown(() => h.stop());
  t.true(await h.waitFor(() => h.latest('tunnels')?.value === 10));
  await first.stop();
  t.true(await h.waitFor(() => reachable(h) === false));
  t.regex(reasonOf(h), /^gNMI (target unreachable|stream)/);
  const second = await startGnmiMx({ tunnels: 20, port });
  t.teardown(() => second.stop());
  t.true(await h.waitFor(() => h.latest('tunnels')?.value === 20 && reachable(h) === true, 8000));
});

test('garbage on the stream is counted and logged; the stream goes on', async (t) => {
  const { mx, h } = await setup(t);
  t.true(await h.waitFor(() => h.session()?.synced === true));
  await mx.fail('garbage');
  t.true(await h.waitFor(() => h.metrics.get('driad_bad_input_total', { component: 'gnmi', kind: 'undecodable message' }) >= 1));
  t.true(h.lines.some((l) => l.includes('undecodable message')));
  const n = h.signals.length;
  t.true(await h.waitFor(() => h.signals.length > n + 4 && reachable(h) === true), 'signals keep flowing');
  t.is(h.session()!.errors, 0, 'not a session failure');
});

test('values of the wrong type or bad JSON: reachable false "gNMI undecodable values", back when they are readable', async (t) => {
  for (const [fault, encoding] of [['wrong-type', 'PROTO'], ['bad-json', 'JSON_IETF']] as const) {
    const { mx, h } = await setup(t, {}, { encoding });
    t.true(await h.waitFor(() => reachable(h) === true), encoding);
    await mx.fail(fault);
    t.true(await h.waitFor(() => reachable(h) === false), fault);
    t.regex(reasonOf(h), /^gNMI undecodable values: \/(interfaces|junos)\//);
    t.true(h.metrics.get('driad_bad_input_total', { component: 'gnmi', kind: fault === 'wrong-type' ? 'wrong type' : 'undecodable value' }) > 0);
    await mx.heal();
    t.true(await h.waitFor(() => reachable(h) === true), `${fault} healed`);
  }
});

test('a sync_response that never comes: reachable false with the reason after gnmi.syncTimeoutMs', async (t) => {
  const mx = await startGnmiMx({ tunnels: 10 });
  t.teardown(() => mx.stop());
  await mx.fail('no-sync');
  const h = await startHarness(testSettings({ syncTimeoutMs: 300 }), [mxRelay('mx', mx.address)]);
  t.teardown(() => h.stop());
  t.true(await h.waitFor(() => reachable(h) === false));
  t.regex(reasonOf(h), /^gNMI sync_response missing: updates but no sync_response/);
  t.false(h.session()!.synced);
  t.is(h.latest('tunnels'), undefined, 'nothing counts before the sync');
  t.true(await h.waitFor(() => (h.session()?.reconnects ?? 0) >= 1), 'and subscribes again');
  await mx.heal();
  t.true(await h.waitFor(() => reachable(h) === true && h.latest('tunnels')?.value === 10));
});

test('a flood: the bounded queue drops the oldest, counts them, and the state is right afterwards', async (t) => {
  const { mx, h } = await setup(t, { tunnels: 50 }, { queueLimit: 20 });
  t.true(await h.waitFor(() => h.session()?.synced === true));
  await mx.fail('flood');
  t.true(await h.waitFor(() => (h.session()?.dropped ?? 0) > 0, 10_000));
  mx.setTunnels(77);
  await mx.heal();
  t.true(await h.waitFor(() => h.latest('tunnels')?.value === 77 && reachable(h) === true, 10_000));
  t.true(h.metrics.get('driad_gnmi_dropped_total', { relay: 'mx' }) > 0);
  t.true(h.lines.some((l) => l.includes('queue full')));
});

test('a router reboot resets counters: detected, never a negative or huge rate', async (t) => {
  const { mx, h } = await setup(t, { tunnels: 1000 });
  t.true(await h.waitFor(() => h.latest('bandwidthBps') !== undefined));
  mx.reboot();
  t.true(await h.waitFor(() => (h.session()?.counterResets ?? 0) > 0));
  const n = h.signals.length;
  t.true(await h.waitFor(() => h.signals.slice(n).filter((s) => s.kind === 'bandwidthBps').length >= 3));
  for (const s of h.signals.filter((x) => x.kind === 'bandwidthBps')) {
    const v = s.value as number;
    t.true(v >= 0 && v < 50e9, `rate ${v}`);
  }
  t.true(h.metrics.get('driad_gnmi_counter_resets_total', { relay: 'mx', kind: 'reset' }) > 0);
});

test('without the summary sensor, tunnels are counted from the tunnel list, deletes included', async (t) => {
  const paths = [...testSettings().paths.filter((p) => !p.path.startsWith('/junos/amt/summary')), { path: '/junos/amt/tunnels/tunnel', mode: 'on_change' as const }];
  const { mx, h } = await setup(t, { tunnels: 30 }, { paths });
  t.true(await h.waitFor(() => h.latest('tunnels')?.value === 30));
  mx.setTunnels(12);
  t.true(await h.waitFor(() => h.latest('tunnels')?.value === 12));
  t.true(h.session()!.deletes >= 18);
  mx.churn(5); // 5 leave, 5 arrive
  await new Promise((r) => setTimeout(r, 300));
  t.is(h.latest('tunnels')?.value, 12);
});

test('JSON_IETF and JSON encodings give the same readings as PROTO', async (t) => {
  for (const encoding of ['JSON_IETF', 'JSON'] as const) {
    const { h } = await setup(t, { tunnels: 55 }, { encoding });
    t.true(await h.waitFor(() => h.latest('tunnels')?.value === 55 && h.latest('bandwidthBps') !== undefined && h.latest('state')?.value === 'up'), encoding);
    t.is(h.session()!.encoding, encoding);
  }
});

test('inventory changes add and remove sessions; several MX at once', async (t) => {
  const a = await startGnmiMx({ tunnels: 1, hostname: 'mx-a' });
  const b = await startGnmiMx({ tunnels: 2, hostname: 'mx-b' });
  const c = await startGnmiMx({ tunnels: 3, hostname: 'mx-c' });
  t.teardown(async () => void (await Promise.all([a.stop(), b.stop(), c.stop()])));
  const h = await startHarness(testSettings(), [mxRelay('a', a.address), mxRelay('b', b.address)]);
  t.teardown(() => h.stop());
  t.true(await h.waitFor(() => h.latest('tunnels', 'a')?.value === 1 && h.latest('tunnels', 'b')?.value === 2));
  h.relays.set([mxRelay('b', b.address), mxRelay('c', c.address), { ...mxRelay('gw', 'x'), kind: 'linux', gnmiTarget: undefined }]);
  t.true(await h.waitFor(() => h.latest('tunnels', 'c')?.value === 3));
  t.deepEqual(h.collector.status().sessions.map((s) => s.relay).sort(), ['b', 'c'], 'a left; a linux relay gets no session');
  t.true(await h.waitFor(() => a.stats.openStreams === 0 || [...(a as unknown as { sessions: Set<unknown> }).sessions].length === 0));
  const fromA = h.signals.filter((s) => s.relay === 'a').length;
  await new Promise((r) => setTimeout(r, 300));
  t.is(h.signals.filter((s) => s.relay === 'a').length, fromA, 'no signal for a relay that left');
  // A new target for a relay: a new session
  h.relays.set([mxRelay('b', c.address), mxRelay('c', c.address)]);
  t.true(await h.waitFor(() => h.session('b')?.target === c.address && h.latest('tunnels', 'b')?.value === 3));
});
