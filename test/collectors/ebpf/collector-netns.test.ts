// The collector on a real kernel path: a veth pair into a namespace where the gateways are,
// AMT built with src/amt sent over UDP, and the collector on the host end in XDP mode (the real
// loader) or capture mode (real tcpdump), found from the relay's address with no configuration.
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { startTestDriad } from '../../helpers/driad.ts';
import { until } from '../../helpers/until.ts';
import { gatewayMessages } from './helpers/amt-pcap.ts';
import { linuxRelay, startTracker } from './helpers/collector.ts';
import { probeLoader } from './helpers/loader.ts';
import { createVethPair, ip, type VethPair } from './helpers/netns.ts';
import { startNsPeer } from './helpers/peers.ts';

const capability = await probeLoader();
const root = process.getuid?.() === 0;
const tcpdump = ['/usr/bin/tcpdump', '/usr/sbin/tcpdump'].find((p) => existsSync(p));

const GATEWAYS = 60;
const EXTRA_ADDRESSES = 2;

/**
 * GATEWAYS tunnels from the namespace: ports 41000+, spread over its own address and two more;
 * each joins two groups, every third leaves one, every tenth tears down. Returns what the
 * collector must report.
 */
async function exchange(pair: VethPair) {
  const subnet = pair.ns4.replace(/\.\d+$/, '');
  const addresses = [pair.ns4];
  for (let i = 0; i < EXTRA_ADDRESSES; i++) {
    const a = `${subnet}.${100 + i}`;
    await ip('-n', pair.ns, 'addr', 'add', `${a}/24`, 'dev', pair.nsIf);
    addresses.push(a);
  }
  const peer = startNsPeer(pair);
  const expected = new Map<string, { groups: string[]; active: boolean; updates: number }>();
  try {
    for (let i = 0; i < GATEWAYS; i++) {
      const gw = { address: addresses[i % addresses.length]!, port: 41000 + i };
      const leave = i % 3 === 0 ? ['232.1.1.1'] : [];
      const teardown = i % 10 === 0;
      for (const m of gatewayMessages(gw, 0x5000 + i, ['232.1.1.1', `232.9.9.${i}`], { leave, teardown })) {
        await peer.send(gw, { address: pair.host4, port: 2268 }, m);
      }
      expected.set(`${gw.address}:${gw.port}`, { groups: teardown ? [] : leave.length ? [`232.9.9.${i}`] : ['232.1.1.1', `232.9.9.${i}`].sort(), active: !teardown, updates: 1 + leave.length });
    }
  } finally {
    await peer.close();
  }
  return { expected, active: [...expected.values()].filter((e) => e.active).length, addresses: addresses.length };
}

function checkTable(t: ExecutionContext, entries: Array<{ address: string; port: number; groups: Set<string>; counters: { request: { packets: number }; update: { packets: number }; discovery: { packets: number } } }>, expected: Map<string, { groups: string[]; updates: number }>) {
  t.is(entries.length, expected.size);
  for (const e of entries) {
    const want = expected.get(`${e.address}:${e.port}`);
    t.truthy(want, `${e.address}:${e.port} was not generated`);
    t.deepEqual([...e.groups].sort(), want!.groups, `${e.address}:${e.port}`);
    t.is(e.counters.update.packets, want!.updates);
    t.is(e.counters.request.packets, 1);
    t.is(e.counters.discovery.packets, 1);
  }
}

if (!capability.run) {
  test(`xdp collector: skipped: ${capability.reason}`, (t) => {
    if (!capability.skip) t.fail(capability.reason);
    else t.pass();
  });
} else {
  test('xdp mode, zero configuration: the relay address finds the veth, the real loader attaches, and tunnels, groups and counters are exactly those sent', async (t) => {
    const pair = await createVethPair();
    const { tracker, signals, metrics } = await startTracker(linuxRelay(pair.host4), { snapshotMs: 100 });
    try {
      t.is(tracker.mode, 'xdp');
      t.true(await until(async () => tracker.status().sessions[0]!.connected, 10_000), JSON.stringify(tracker.status()));
      t.like(tracker.status().sessions[0], { target: pair.hostIf, mode: 'xdp', relay: 'gateway' });
      const sent = await exchange(pair);
      const updates = [...sent.expected.values()].reduce((n, e) => n + e.updates, 0);
      t.true(await until(async () => tracker.table.totals().update.packets === updates && tracker.table.active(Date.now()).tunnels === sent.active, 10_000), JSON.stringify(tracker.table.totals()));
      checkTable(t, tracker.table.entries(), sent.expected);
      t.deepEqual(tracker.table.active(Date.now()), { tunnels: sent.active, addresses: sent.addresses });
      t.true(await until(async () => signals.some((s) => s.kind === 'tunnels' && s.value === sent.active), 5000));
      t.like(signals.find((s) => s.kind === 'reachable'), { relay: 'gateway', value: true, intervalMs: 200 });
      t.is(metrics.get('driad_ebpf_tunnels', { relay: 'gateway', key: 'gateway' }), sent.active);
      t.is(metrics.get('driad_ebpf_loader_stat', { stat: 'ringbufDrops' }), 0);
    } finally {
      await tracker.stop();
      await pair.destroy();
    }
  });
}

if (!root || !tcpdump) {
  test(`capture collector: skipped: ${!root ? 'not root (tcpdump needs CAP_NET_RAW, the veth pair CAP_NET_ADMIN)' : 'tcpdump not installed (DRIAD_DEBS)'}`, (t) => t.pass());
} else {
  test('capture mode: real tcpdump on the veth, the stream decoded by src/capture and src/amt into the same tunnel table', async (t) => {
    const pair = await createVethPair();
    const { tracker, signals } = await startTracker(linuxRelay(pair.host4), { mode: 'capture' });
    try {
      t.is(tracker.mode, 'capture');
      t.true(await until(async () => tracker.status().sessions[0]!.connected, 10_000), JSON.stringify(tracker.status()));
      // tcpdump writes the pcap header once its capture is open; a little more for the filter to be in place.
      await new Promise((r) => setTimeout(r, 300));
      const sent = await exchange(pair);
      const updates = [...sent.expected.values()].reduce((n, e) => n + e.updates, 0);
      t.true(await until(async () => tracker.table.totals().update.packets === updates && tracker.table.totals().teardown.packets === GATEWAYS / 10, 10_000), JSON.stringify(tracker.table.totals()));
      checkTable(t, tracker.table.entries(), sent.expected);
      t.deepEqual(tracker.table.active(Date.now()), { tunnels: sent.active, addresses: sent.addresses });
      t.true(await until(async () => signals.some((s) => s.kind === 'tunnels' && s.value === sent.active), 5000));
    } finally {
      await tracker.stop();
      await pair.destroy();
    }
  });

  test('capture mode: tcpdump killed mid-stream is restarted (reconnects counted), and tracking goes on', async (t) => {
    const pair = await createVethPair();
    const { tracker } = await startTracker(linuxRelay(pair.host4), { mode: 'capture', restartMinMs: 50, restartMaxMs: 60_000, maxFailures: 5 });
    try {
      t.true(await until(async () => tracker.status().sessions[0]!.connected, 10_000));
      const first = tracker.childPid!;
      process.kill(first, 'SIGKILL');
      t.true(await until(async () => tracker.status().sessions[0]!.reconnects === 1 && tracker.status().sessions[0]!.connected, 10_000), JSON.stringify(tracker.status()));
      t.is(tracker.mode, 'capture');
      t.regex(tracker.status().sessions[0]!.lastError!, /^capture: killed by SIGKILL/);
      t.not(tracker.childPid, first);
      await new Promise((r) => setTimeout(r, 300));
      const sent = await exchange(pair);
      t.true(await until(async () => tracker.table.active(Date.now()).tunnels === sent.active, 10_000));
    } finally {
      await tracker.stop();
      await pair.destroy();
    }
  });
}

if (capability.run) {
  test('end to end: AMT Requests sent in the namespace make /api/v1/relays show the gateway relay\'s tunnels from the ebpf collector', async (t) => {
    const pair = await createVethPair();
    const d = await startTestDriad(`gateway:\n  publicIP: ${pair.host4}\nebpf:\n  enabled: true\n  signalIntervalMs: 200\n  snapshotMs: 100\n`);
    try {
      const relays = async () => (await (await fetch(`http://127.0.0.1:${d.httpPort}/api/v1/relays`)).json()) as any;
      t.true(await until(async () => (await relays()).collectors.some((c: any) => c.collector === 'ebpf' && c.sessions[0].connected), 10_000));
      const sent = await exchange(pair);
      let body: any;
      t.true(
        await until(async () => {
          body = await relays();
          const gw = body.relays.find((r: any) => r.name === 'gateway');
          return gw.signals.some((s: any) => s.source === 'ebpf' && s.kind === 'tunnels' && s.value === sent.active);
        }, 10_000),
        JSON.stringify(body?.relays),
      );
      const gw = body.relays.find((r: any) => r.name === 'gateway');
      t.like(gw.signals.find((s: any) => s.kind === 'tunnels'), { source: 'ebpf', intervalMs: 200, stale: false });
      t.like(gw.collectors[0], { collector: 'ebpf', mode: 'xdp', target: pair.hostIf, connected: true });
      t.like(body.collectors.find((c: any) => c.collector === 'ebpf'), { mode: 'xdp', tunnels: { active: sent.active, activeAddresses: sent.addresses } });
      const metrics = await (await fetch(`http://127.0.0.1:${d.httpPort}/metrics`)).text();
      t.regex(metrics, /^driad_ebpf_mode\{mode="xdp"\} 1$/m);
    } finally {
      await d.stop();
      await pair.destroy();
    }
  });
}
