// Tunnel records from the real loader: gateways in a namespace open tunnels over a veth pair, half
// tear down; the collector in XDP mode (zero configuration) hands one amt-tunnel-lifecycle record
// per tunnel to a real accounting spool: torn down ones as their Teardown comes (with the counters
// of the snapshot after it), the rest when tracking stops.
import test from 'ava';
import type { AmtTunnelLifecycle } from '../../../src/accounting/records.ts';
import { until } from '../../helpers/until.ts';
import { openSpool, readAll, tempDir } from '../../accounting/helpers.ts';
import { gatewayMessages } from './helpers/amt-pcap.ts';
import { linuxRelay, startTracker } from './helpers/collector.ts';
import { probeLoader } from './helpers/loader.ts';
import { createVethPair } from './helpers/netns.ts';
import { startNsPeer } from './helpers/peers.ts';

const capability = await probeLoader();
const GATEWAYS = 20;

if (!capability.run) {
  test(`xdp tunnel records: skipped: ${capability.reason}`, (t) => {
    if (!capability.skip) t.fail(capability.reason);
    else t.pass();
  });
} else {
  test('xdp mode: one spooled record per tunnel, torn down or stopped, with its groups and the counters of its messages', async (t) => {
    const pair = await createVethPair();
    t.teardown(() => pair.destroy());
    const spool = await openSpool(tempDir());
    t.teardown(() => spool.close());
    const { tracker, signals } = await startTracker(linuxRelay(pair.host4), { snapshotMs: 100 }, { account: async (r) => void (await spool.append(r as never)) });
    let stopped = false;
    t.teardown(() => (stopped ? undefined : tracker.stop()));
    t.is(tracker.mode, 'xdp');
    t.true(await until(async () => tracker.status().sessions[0]!.connected, 10_000), JSON.stringify(tracker.status()));

    // Two samples before any traffic (a rate of 0 is sent), so the traffic shows in a later rate.
    t.true(await until(async () => signals.some((s) => s.kind === 'requestsPerSecond'), 5000));
    const began = Date.now();
    const peer = startNsPeer(pair);
    const sent = new Map<number, Buffer[]>();
    try {
      for (let i = 0; i < GATEWAYS; i++) {
        const gw = { address: pair.ns4, port: 42000 + i };
        const msgs = gatewayMessages(gw, 0x7000 + i, ['232.1.1.1', `232.9.9.${i}`], { teardown: i % 2 === 0 });
        sent.set(gw.port, msgs);
        for (const m of msgs) await peer.send(gw, { address: pair.host4, port: 2268 }, m);
      }
    } finally {
      await peer.close();
    }
    // The torn-down half is spooled once a snapshot after each Teardown has come.
    t.true(await until(async () => tracker.status().tunnelRecords.spooled === GATEWAYS / 2, 10_000), JSON.stringify(tracker.status().tunnelRecords));
    t.true(await until(async () => signals.some((s) => s.kind === 'requestsPerSecond' && (s.value as number) > 0), 5000), 'a request rate while they came');
    t.deepEqual(tracker.table.seen.request, { packets: GATEWAYS, bytes: 8 * GATEWAYS });
    t.is(tracker.table.seen.discovery.packets, GATEWAYS);
    await tracker.stop();
    stopped = true;
    const ended = Date.now();

    const records = (await readAll(spool, 'c1')).map((e) => e.record as unknown as AmtTunnelLifecycle);
    t.is(records.length, GATEWAYS);
    t.is(new Set(records.map((r) => r.id)).size, GATEWAYS, 'one id per tunnel');
    for (const r of records) {
      const i = r.gatewayPort - 42000;
      const msgs = sent.get(r.gatewayPort)!;
      const own = msgs.slice(1); // Discovery comes before the tunnel
      t.like(r, {
        type: 'amt-tunnel-lifecycle',
        source: 'ebpf',
        relay: 'gateway',
        relayAddress: pair.host4,
        gateway: pair.ns4,
        endReason: i % 2 === 0 ? 'teardown' : 'stopped',
        groups: ['232.1.1.1', `232.9.9.${i}`],
        groupsOmitted: 0,
        packets: 0,
        bytes: 0,
        packetsFromGateway: own.length,
        bytesFromGateway: own.reduce((a, m) => a + m.length, 0),
        mode: 'xdp',
      });
      t.true(r.start >= began - 1000 && r.start <= r.end && r.end <= ended + 1000 && r.durationMs === r.end - r.start, JSON.stringify(r));
    }
    // Teardowns first, in the order sent; then the stopped ones.
    t.deepEqual(records.slice(0, GATEWAYS / 2).map((r) => r.gatewayPort), Array.from({ length: GATEWAYS / 2 }, (_, k) => 42000 + 2 * k));
  });
}
