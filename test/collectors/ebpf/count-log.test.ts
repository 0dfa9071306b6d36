// The count log (src/collectors/ebpf/bpf/amt_tracker.h): Multicast Data counted through the
// programs' per-CPU rings and added up by the loader must report exactly what the map alone would,
// with the log on, with rings too small for a burst (the map takes what they cannot), and off.
import test from 'ava';
import { until } from '../../helpers/until.ts';
import * as amt from './helpers/amt-bytes.ts';
import { snapshotWithPackets, withoutTimes } from './helpers/lifecycle.ts';
import { probeLoader, startLoader, type Run } from './helpers/loader.ts';
import { createVethPair, type VethPair } from './helpers/netns.ts';
import { hostSocket, sendRawFrames } from './helpers/peers.ts';

const capability = await probeLoader();
const maybe = capability.run || !capability.skip ? test.serial : test.serial.skip;
if (!capability.run && capability.skip) test.skip(`eBPF count-log tests skipped: ${capability.reason}`, () => {});

async function setup(t: import('ava').ExecutionContext, args: string[]): Promise<{ pair: VethPair; loader: Run; ready: Record<string, any> }> {
  if (!capability.run) throw new Error(capability.reason);
  const pair = await createVethPair();
  t.teardown(() => pair.destroy());
  const loader = startLoader(['--ifname', pair.hostIf, '--map-size', '64', '--snapshot-ms', '100', ...args]);
  t.teardown(async () => void (await loader.stop()));
  const ready = await loader.waitFor((l) => l.type === 'ready');
  return { pair, loader, ready };
}

const GATEWAYS = 5;
const DATA_EACH = 150; // over AMT_LOG_SAMPLE (64): some go to the map, which creates the entries
const WRONG = 40;

/** Multicast Data from a relay in the namespace (port 2268) to gateways on the host, interleaved,
 * and Data the wrong way (a gateway in the namespace sending it to the relay's port). */
function burst(pair: VethPair) {
  const frame = { srcMac: pair.nsMac, dstMac: pair.hostMac };
  const data = amt.multicastData(amt.ipv4MulticastUdp('198.51.100.1', '232.0.0.7', 200));
  const frames: Buffer[] = [];
  for (let i = 0; i < DATA_EACH; i++) {
    for (let g = 0; g < GATEWAYS; g++) frames.push(amt.ipv4UdpFrame(frame, { src: pair.ns4, dst: pair.host4, sport: 2268, dport: 47000 + g }, data));
  }
  for (let i = 0; i < WRONG; i++) frames.push(amt.ipv4UdpFrame(frame, { src: pair.ns4, dst: pair.host4, sport: 48000, dport: 2268 }, data));
  return { frames, data };
}

for (const [name, args] of [
  ['the log on (the default)', []],
  ['rings of one record: a burst overflows them into the map', ['--log-records', '1']],
  ['the log off', ['--log-records', '0']],
] as [string, string[]][]) {
  maybe(`count log, ${name}: every Data message counted once, per gateway`, async (t) => {
    const { pair, loader, ready } = await setup(t, args);
    const logRecords = args.length ? Number(args[1]) : 8192;
    t.is(ready.logRecords, logRecords);
    const sink = await hostSocket(pair.host4, 2268);
    t.teardown(() => sink.close());
    const { frames, data } = burst(pair);
    await sendRawFrames(pair, frames);

    const snap = await snapshotWithPackets(loader, frames.length);
    const rows = snap.gateways.map(withoutTimes).sort((a, b) => a.port - b.port);
    const expected = [
      ...Array.from({ length: GATEWAYS }, (_, g) => [47000 + g, { packets: DATA_EACH, bytes: DATA_EACH * data.length }, { packets: 0, bytes: 0 }]),
      [48000, { packets: 0, bytes: 0 }, { packets: WRONG, bytes: WRONG * data.length }],
    ];
    t.deepEqual(
      rows.map((g) => [g.port, g.fromRelay.data, g.wrongDirection]),
      expected,
    );
    const stats = snap.summary.stats;
    t.like(stats, { udpPort: frames.length, amt: frames.length });
    if (logRecords === 0) {
      t.false('logged' in stats, 'no count log, no log counters');
      t.is(stats.logFull, 0);
    } else {
      t.true(stats.logged > 0, `some Data went through the log: ${JSON.stringify(stats)}`);
      t.true(stats.logged < frames.length, 'one in AMT_LOG_SAMPLE per ring goes to the map');
      t.is(stats.logUntracked, 0);
      if (logRecords === 1) t.true(stats.logFull > 0, `a one-record ring overflows in a burst: ${JSON.stringify(stats)}`);
    }
    // Later snapshots report the same: the log's counts are not added twice.
    await until(async () => (loader.lastSnapshot()?.summary.seq ?? 0) > snap.summary.seq + 2);
    const again = await loader.fullSnapshot();
    t.deepEqual(
      again.gateways.map(withoutTimes).sort((a, b) => a.port - b.port).map((g) => [g.port, g.fromRelay.data, g.wrongDirection]),
      expected,
    );
  });
}

function dataFrames(pair: VethPair, port: number, n: number) {
  const frame = { srcMac: pair.nsMac, dstMac: pair.hostMac };
  const data = amt.multicastData(amt.ipv4MulticastUdp('198.51.100.1', '232.0.0.8', 100));
  return { data, frames: Array.from({ length: n }, () => amt.ipv4UdpFrame(frame, { src: pair.ns4, dst: pair.host4, sport: 2268, dport: port }, data)) };
}

maybe('count log: a gateway only Data reaches gets its entry from the loader, and keeps it', async (t) => {
  const { pair, loader } = await setup(t, []);
  // Fewer than AMT_LOG_SAMPLE on each ring: none reaches the map through the programs.
  const { data, frames } = dataFrames(pair, 47100, 10);
  await sendRawFrames(pair, frames);
  const snap = await snapshotWithPackets(loader, frames.length);
  t.deepEqual(
    snap.gateways.map(withoutTimes).map((g) => [g.port, g.fromRelay.data, g.requestNonce, g.toRelay.request]),
    [[47100, { packets: 10, bytes: 10 * data.length }, null, { packets: 0, bytes: 0 }]],
  );
  const g = snap.gateways[0]!;
  t.true(g.firstSeenNs > 0 && g.lastSeenNs >= g.firstSeenNs, JSON.stringify(g));
  t.like(snap.summary, { entries: 1, entriesCreated: 1, evicted: 0 });
  t.like(snap.summary.stats, { entriesCreated: 1, evictionsAtCapacity: 0, entryFailures: 0 });
  // Idle, it stays like any entry: only the LRU removes one.
  await until(async () => (loader.lastSnapshot()?.summary.seq ?? 0) > snap.summary.seq + 3);
  const later = await loader.fullSnapshot();
  t.deepEqual(later.gateways.map((x) => [x.port, x.fromRelay.data.packets]), [[47100, 10]]);
  t.deepEqual(loader.events('gone'), []);
});

maybe('count log: gateways the log saw first fill the map like any others: evictions announced, counted, gone named', async (t) => {
  const { pair, loader } = await setup(t, ['--map-size', '4']);
  const ports = Array.from({ length: 10 }, (_, i) => 47200 + i);
  await sendRawFrames(pair, ports.flatMap((p) => dataFrames(pair, p, 3).frames));
  await until(async () => loader.events('eviction').length === 6);
  t.deepEqual(loader.events('eviction').map((e) => e.entriesCreated).sort((a, b) => a - b), [5, 6, 7, 8, 9, 10]);
  t.true(loader.events('eviction').every((e) => ports.includes(e.gateway.port) && e.hook === 'xdp'));
  let last = await loader.fullSnapshot();
  await until(async () => (last = await loader.fullSnapshot()).summary.entriesCreated === 10);
  const live = last.gateways.map((g) => g.port as number);
  t.true(live.length >= 1 && live.length <= 4, `live entries: ${JSON.stringify(live)}`);
  t.like(last.summary, { entriesCreated: 10, entries: live.length, evicted: 10 - live.length });
  t.like(last.summary.stats, { entriesCreated: 10, evictionsAtCapacity: 6 });
  // What the map kept has every count the log read for it.
  t.true(last.gateways.every((g) => g.fromRelay.data.packets === 3), JSON.stringify(last.gateways.map(withoutTimes)));
  const shown = new Set(loader.events('gateway').map((g) => g.port as number));
  const gone = loader.events('gone').map((g) => g.port as number);
  t.deepEqual([...gone].sort(), [...shown].filter((p) => !live.includes(p)).sort());
});

maybe('count log: more new gateways between two snapshots than it holds: it forgets those the map evicted, nothing more', async (t) => {
  // No periodic snapshot (no sweep): the table (twice the map) fills, and a compaction makes room.
  const { pair, loader } = await setup(t, ['--map-size', '4', '--snapshot-ms', '600000']);
  const ports = Array.from({ length: 20 }, (_, i) => 47300 + i);
  await sendRawFrames(pair, ports.flatMap((p) => dataFrames(pair, p, 2).frames));
  await until(async () => loader.events('eviction').length === 16);
  const snap = await loader.fullSnapshot();
  t.like(snap.summary, { entriesCreated: 20, evicted: 20 - snap.gateways.length });
  t.like(snap.summary.stats, { logged: 40, logUntracked: 0, evictionsAtCapacity: 16 });
  t.true(snap.summary.stats.logCompactions >= 1, JSON.stringify(snap.summary.stats));
  t.true(snap.gateways.length >= 1 && snap.gateways.length <= 4);
  t.true(snap.gateways.every((g) => g.fromRelay.data.packets === 2), JSON.stringify(snap.gateways.map(withoutTimes)));
});

maybe('count log: a flood of Data from 20,000 spoofed sources into a 1,024-entry map: bounded, every creation counted, nothing untracked', async (t) => {
  // No periodic snapshot until the test asks: the loader's table (twice the map) fills within the
  // flood whatever the sender's speed, and must compact.
  const { pair, loader } = await setup(t, ['--map-size', '1024', '--snapshot-ms', '600000']);
  // A socket on the relay's port takes the flood, so the host sends no ICMP Port Unreachable to
  // the spoofed sources (they are routed out of the machine, not back into the namespace).
  const sink = await hostSocket(pair.host4, 2268);
  t.teardown(() => sink.close());
  const frame = { srcMac: pair.nsMac, dstMac: pair.hostMac };
  const data = amt.multicastData(amt.ipv4MulticastUdp('198.51.100.1', '232.0.0.9', 64));
  const sources = 20_000;
  // The wrong way (to the relay's port), each from its own address in 10.100.0.0/16 and on:
  // the veth delivers whatever source a frame carries.
  const frames = Array.from({ length: sources }, (_, i) =>
    amt.ipv4UdpFrame(frame, { src: `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, dst: pair.host4, sport: 40000, dport: 2268 }, data),
  );
  await sendRawFrames(pair, frames);
  let snap = await loader.fullSnapshot();
  t.true(await until(async () => (snap = await loader.fullSnapshot()).summary.stats.amt === sources, 20_000), JSON.stringify(snap.summary));
  await until(async () => (snap = await loader.fullSnapshot()).summary.entriesCreated === sources, 10_000);
  t.like(snap.summary, { entriesCreated: sources, evicted: sources - snap.gateways.length });
  t.true(snap.gateways.length <= 1024 && snap.gateways.length > 0, `${snap.gateways.length} entries`);
  t.like(snap.summary.stats, { logUntracked: 0, entryFailures: 0, ringbufDrops: 0 });
  t.true(snap.summary.stats.logCompactions >= 1, JSON.stringify(snap.summary.stats));
  // Every entry left holds its one message, whichever path counted it.
  t.true(snap.gateways.every((g) => g.wrongDirection.packets === 1), JSON.stringify(snap.gateways.slice(0, 3).map(withoutTimes)));
  t.is(loader.child.exitCode, null, 'the loader is still running');
  t.true(sink.received.length > 0, 'the flood went on past XDP to the socket');
});
