// The XDP and tc programs on a real veth pair: full AMT exchanges over UDP sockets between a
// namespace (the gateway) and the host (the relay), IPv4 and IPv6, native and generic XDP,
// tcx and classic tc egress.
import test from 'ava';
import { until } from '../../helpers/until.ts';
import * as amt from './helpers/amt-bytes.ts';
import { runLifecycle, snapshotWithPackets, withoutTimes } from './helpers/lifecycle.ts';
import { hostSocket, sendFromHost, startNsPeer } from './helpers/peers.ts';
import { probeLoader, startLoader, type Run } from './helpers/loader.ts';
import { addVlan, createVethPair, kernelHasVlanDevices, type VethPair } from './helpers/netns.ts';

const capability = await probeLoader();
const vlan = capability.run ? await kernelHasVlanDevices() : false;
const maybe = capability.run || !capability.skip ? test.serial : test.serial.skip;
if (!capability.run && capability.skip) test.skip(`eBPF tracker tests skipped: ${capability.reason}`, () => {});

async function setup(t: import('ava').ExecutionContext, args: string[]): Promise<{ pair: VethPair; loader: Run; ready: Record<string, any> }> {
  if (!capability.run) throw new Error(capability.reason);
  const pair = await createVethPair();
  t.teardown(() => pair.destroy());
  const loader = startLoader(['--ifindex', String(pair.hostIfindex), '--map-size', '64', '--snapshot-ms', '100', ...args]);
  t.teardown(async () => void (await loader.stop()));
  const ready = await loader.waitFor((l) => l.type === 'ready');
  return { pair, loader, ready };
}

maybe('IPv4: a tunnel lifecycle through native XDP and tcx egress', async (t) => {
  const { pair, loader, ready } = await setup(t, ['--mode', 'native']);
  t.like(ready, { ifindex: pair.hostIfindex, ifname: pair.hostIf, port: 2268, mapSize: 64, xdpMode: 'native', egress: 'tcx' });
  await runLifecycle(t, pair, loader, { relay: pair.host4, gateway: pair.ns4 }, { egress: true });
});

maybe('IPv6: a tunnel lifecycle through generic XDP and classic tc egress', async (t) => {
  const { pair, loader, ready } = await setup(t, ['--mode', 'skb', '--egress', 'tc']);
  t.like(ready, { xdpMode: 'generic', egress: 'tc' });
  await runLifecycle(t, pair, loader, { relay: pair.host6, gateway: pair.ns6 }, { egress: true });
});

maybe('egress off: only what arrives on the interface is counted', async (t) => {
  const { pair, loader, ready } = await setup(t, ['--egress', 'off']);
  t.like(ready, { egress: 'off' });
  await runLifecycle(t, pair, loader, { relay: pair.host4, gateway: pair.ns4 }, { egress: false });
});

// The VLAN sub-interface variant needs CONFIG_VLAN_8021Q; raw-frames.test.ts sends tagged
// frames (802.1Q, 802.1ad + 802.1Q) on every kernel.
(vlan ? maybe : test.skip)(
  vlan ? 'IPv4 over a VLAN sub-interface' : 'IPv4 over a VLAN sub-interface: skipped, this kernel has no 802.1Q devices (CONFIG_VLAN_8021Q); raw-frames.test.ts covers tags',
  async (t) => {
    const { pair, loader } = await setup(t, []);
    const addrs = await addVlan(pair, 100);
    await runLifecycle(t, pair, loader, { relay: addrs.host4, gateway: addrs.ns4 }, { egress: true });
  },
);

maybe('--port: another AMT port; both directions on each hook (a relay in the namespace, a gateway here)', async (t) => {
  const port = 20000 + Math.floor(Math.random() * 10000);
  const { pair, loader, ready } = await setup(t, ['--port', String(port)]);
  t.like(ready, { port });
  const relay = await hostSocket(pair.host4, port);
  const default2268 = await hostSocket(pair.host4, 2268);
  const hostGateway = await hostSocket(pair.host4, 0);
  t.teardown(() => (relay.close(), default2268.close(), hostGateway.close()));
  const peer = startNsPeer(pair);
  t.teardown(() => peer.close());
  const gw = { address: pair.ns4, port: 45001 };
  const nsRelay = { address: pair.ns4, port };
  await peer.bind(nsRelay);

  const data = amt.multicastData(amt.ipv4MulticastUdp('198.51.100.1', '232.0.0.1', 64));
  const request = amt.request(0x77777777, { p: true });
  await peer.send(gw, default2268.endpoint, amt.relayDiscovery(1)); // 2268 is not the port now
  await peer.send(gw, relay.endpoint, amt.relayDiscovery(2)); // ingress, to the relay
  await peer.send(nsRelay, hostGateway.endpoint, data); // ingress, from a relay to a gateway here
  await sendFromHost(hostGateway, nsRelay, request); // egress, from a gateway here to the relay
  // A Query shaped like Linux's struct amt_header_query (L and G at 0x40 and 0x80), arriving.
  const kernelQuery = amt.membershipQuery([1, 2, 3, 4, 5, 6], 0x77777777, amt.igmpv3GeneralQuery('0.0.0.0'), undefined, false, 0xc0);
  await peer.send(nsRelay, hostGateway.endpoint, kernelQuery);
  t.true(await until(async () => relay.received.length === 1 && default2268.received.length === 1 && hostGateway.received.length === 2));

  const snap = await snapshotWithPackets(loader, 4);
  const zero = { packets: 0, bytes: 0 };
  const sorted = snap.gateways.map(withoutTimes).sort((a, b) => (a.address as string).localeCompare(b.address) || a.port - b.port);
  t.deepEqual(
    sorted.map((g) => [g.address, g.port, g.toRelay.discovery, g.toRelay.request, g.fromRelay.data, g.fromRelay.query, g.lastQuery]),
    [
      [pair.host4, hostGateway.endpoint.port, zero, { packets: 1, bytes: 8 }, { packets: 1, bytes: data.length }, { packets: 1, bytes: kernelQuery.length }, { flags: 0xc0, l: 0, g: 0 }],
      [pair.ns4, 45001, { packets: 1, bytes: 8 }, zero, zero, zero, null],
    ].sort((a, b) => (a[0] as string).localeCompare(b[0] as string)),
  );
  t.like(snap.summary.stats, { udpPort: 4, amt: 4, kernelShapedQueries: 1, queriesLimited: 0 });
  const [event] = (await loader.waitFor((l) => l.type === 'request')) ? loader.events('request') : [];
  t.like(event, { hook: 'tc', gateway: { address: pair.host4, port: hostGateway.endpoint.port }, nonce: '77777777', p: 1 });
});

maybe('LRU eviction: a full map evicts, each creation past capacity is an event, and snapshots name what left', async (t) => {
  const { pair, loader } = await setup(t, ['--map-size', '4']);
  const relay = await hostSocket(pair.host4, 2268);
  t.teardown(() => relay.close());
  const peer = startNsPeer(pair);
  t.teardown(() => peer.close());
  const from = (i: number) => ({ address: pair.ns4, port: 46000 + i });

  for (let i = 0; i < 4; i++) await peer.send(from(i), relay.endpoint, amt.relayDiscovery(i));
  const first = await snapshotWithPackets(loader, 4);
  const firstKeys = first.gateways.map((g) => g.port as number).sort();
  t.true(firstKeys.length >= 1 && firstKeys.length <= 4, `at most 4 entries, got ${firstKeys}`);
  for (let i = 4; i < 10; i++) await peer.send(from(i), relay.endpoint, amt.relayDiscovery(i));
  t.true(await until(async () => relay.received.length === 10));

  // The program's own count: creations 5 to 10 came with the map full.
  await until(async () => loader.events('eviction').length === 6);
  t.deepEqual(
    loader.events('eviction').map((e) => [e.gateway.port, e.entriesCreated]),
    [4, 5, 6, 7, 8, 9].map((i) => [46000 + i, i + 1]),
  );
  // The snapshots' count: created less present, exact whatever the LRU chose.
  let last = await loader.fullSnapshot();
  await until(async () => (last = await loader.fullSnapshot()).summary.entriesCreated === 10);
  const live = last.gateways.map((g) => g.port as number);
  t.true(live.length <= 4 && live.length >= 1, `live entries: ${JSON.stringify(live)}, summary ${JSON.stringify(last.summary)}`);
  t.like(last.summary, { entriesCreated: 10, entries: live.length, evicted: 10 - live.length });
  t.like(last.summary.stats, { entriesCreated: 10, evictionsAtCapacity: 6, ringbufDrops: 0 });
  // Every entry a snapshot showed and that is no longer there was named in a "gone" line once.
  const shown = new Set(loader.events('gateway').map((g) => g.port as number));
  const gone = loader.events('gone').map((g) => g.port as number);
  t.deepEqual([...gone].sort(), [...shown].filter((p) => !live.includes(p)).sort());
  t.is(new Set(gone).size, gone.length);
});
