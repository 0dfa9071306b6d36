// Frames the kernel's own sockets would not build here, sent raw from the namespace: VLAN tags
// (one, two, three, and the priority tag VID 0), IPv4 options, IPv6 extension headers and
// fragments. A packet socket on the host end shows every frame was passed on (XDP_PASS).
import test from 'ava';
import { until } from '../../helpers/until.ts';
import * as amt from './helpers/amt-bytes.ts';
import { snapshotWithPackets, withoutEventTimes, withoutTimes } from './helpers/lifecycle.ts';
import { probeLoader, startLoader, type Run } from './helpers/loader.ts';
import { createVethPair, type VethPair } from './helpers/netns.ts';
import { hostSocket, sendRawFrames, startCapture, type HostSocket } from './helpers/peers.ts';

const capability = await probeLoader();
const maybe = capability.run || !capability.skip ? test.serial : test.serial.skip;
if (!capability.run && capability.skip) test.skip(`eBPF raw-frame tests skipped: ${capability.reason}`, () => {});

interface Rig {
  pair: VethPair;
  loader: Run;
  relay4: HostSocket;
  relay6: HostSocket;
  frame: (vlans?: { tpid: number; vid: number }[]) => amt.FrameOpts;
}

async function setup(t: import('ava').ExecutionContext): Promise<Rig> {
  if (!capability.run) throw new Error(capability.reason);
  const pair = await createVethPair();
  t.teardown(() => pair.destroy());
  const loader = startLoader(['--ifname', pair.hostIf, '--map-size', '64', '--snapshot-ms', '100']);
  t.teardown(async () => void (await loader.stop()));
  await loader.waitFor((l) => l.type === 'ready');
  const relay4 = await hostSocket(pair.host4, 2268);
  const relay6 = await hostSocket(pair.host6, 2268);
  t.teardown(() => (relay4.close(), relay6.close()));
  return { pair, loader, relay4, relay6, frame: (vlans) => ({ srcMac: pair.nsMac, dstMac: pair.hostMac, vlans }) };
}

const counts = (packets: number, bytes: number) => ({ packets, bytes });
const none = counts(0, 0);

function entry(address: string, port: number, over: { toRelay?: object; requestNonce?: string | null; requestFlags?: number | null }) {
  return {
    type: 'gateway',
    address,
    port,
    requestNonce: over.requestNonce ?? null,
    requestFlags: over.requestFlags ?? null,
    lastQuery: null,
    kernelShapedRequests: 0,
    nonceMismatches: 0,
    toRelay: { discovery: none, request: none, update: none, teardown: none, ...over.toRelay },
    fromRelay: { advertisement: none, query: none, data: none },
    wrongDirection: none,
  };
}

const byPort = (a: Record<string, any>, b: Record<string, any>) => (a.port as number) - (b.port as number);

maybe('VLAN tags: 802.1Q, 802.1ad + 802.1Q, the priority tag, and one tag too many', async (t) => {
  const { pair, loader, relay4, frame } = await setup(t);
  const capture = await startCapture(pair.hostIf);
  t.teardown(() => capture.stop());
  const mac = [1, 2, 3, 4, 5, 6];
  const report = amt.mldv2Report('fe80::2', [{ type: 4, group: 'ff3e::1234', sources: [] }]);
  const update = amt.membershipUpdate(mac, 0x55667788, report);
  const discovery = amt.relayDiscovery(0x01010101);
  const frames = [
    amt.ipv4UdpFrame(frame([{ tpid: 0x8100, vid: 100 }]), { src: pair.ns4, dst: pair.host4, sport: 41001, dport: 2268 }, amt.request(0x0a0b0c0d, { p: true })),
    amt.ipv6UdpFrame(frame([{ tpid: 0x88a8, vid: 200 }, { tpid: 0x8100, vid: 100 }]), { src: pair.ns6, dst: pair.host6, sport: 41002, dport: 2268 }, update),
    amt.ipv4UdpFrame(frame([{ tpid: 0x8100, vid: 0 }]), { src: pair.ns4, dst: pair.host4, sport: 41003, dport: 2268 }, discovery),
    amt.ipv4UdpFrame(frame([1, 2, 3].map((vid) => ({ tpid: 0x8100, vid }))), { src: pair.ns4, dst: pair.host4, sport: 41004, dport: 2268 }, discovery),
  ];
  await sendRawFrames(pair, frames);

  t.true(await capture.sawAll(frames), 'every frame, tagged or not, went on past XDP');
  // Without a VLAN device for the tag the kernel drops tagged frames after XDP; the priority tag
  // (VID 0) is taken as untagged, so that one reaches the relay's socket.
  t.true(await until(async () => relay4.received.length === 1));
  t.deepEqual(relay4.received.map((r) => r.hex), [discovery.toString('hex')]);

  const snap = await snapshotWithPackets(loader, 3);
  t.deepEqual(snap.gateways.map(withoutTimes).sort(byPort), [
    entry(pair.ns4, 41001, { toRelay: { request: counts(1, 8) }, requestNonce: '0a0b0c0d', requestFlags: 1 }),
    entry(pair.ns6, 41002, { toRelay: { update: counts(1, update.length) } }),
    entry(pair.ns4, 41003, { toRelay: { discovery: counts(1, 8) } }),
  ]);
  t.like(snap.summary.stats, { udpPort: 3, amt: 3, vlan: 3, vlanTooDeep: 1, entriesCreated: 3 });
  await loader.waitFor((l) => l.type === 'update');
  t.deepEqual(loader.events('request').map(withoutEventTimes), [
    { type: 'request', hook: 'xdp', gateway: { address: pair.ns4, port: 41001 }, nonce: '0a0b0c0d', p: 1, kernelShaped: false, flags: 1, length: 8 },
  ]);
  t.deepEqual(loader.events('update').map(withoutEventTimes), [
    {
      type: 'update',
      hook: 'xdp',
      gateway: { address: pair.ns6, port: 41002 },
      nonce: '55667788',
      mac: '010203040506',
      length: update.length,
      report: 'mldv2',
      records: 1,
      groups: [{ address: 'ff3e::1234', recordType: 4, sources: 0 }],
    },
  ]);
});

maybe('IPv4 options, IPv6 extension headers and IPv6 fragments', async (t) => {
  const { pair, loader, relay4, relay6, frame } = await setup(t);
  const request = amt.request(0x0c0c0c0c);
  const discovery = amt.relayDiscovery(0x0d0d0d0d);
  const routerAlertAndNops = [0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00];
  // An Update whose report does not fit in the first fragment: counted whole (the UDP length),
  // its report left unparsed; the second fragment has no UDP header and is only counted as one.
  const groups = [1, 2, 3, 4].map((i) => ({ type: 4, group: `ff3e::${i}`, sources: [] as string[] }));
  const update = amt.membershipUpdate([9, 9, 9, 9, 9, 9], 0x0c0c0c0c, amt.mldv2Report('fe80::2', groups));
  const [first, second] = amt.ipv6UdpFragments(frame(), { src: pair.ns6, dst: pair.host6, sport: 42003, dport: 2268 }, update, 48, 0x1234);
  const seven = new Array(7).fill(0).map(() => ({ type: 60 }));
  const frames = [
    amt.ipv4UdpFrame(frame(), { src: pair.ns4, dst: pair.host4, sport: 42001, dport: 2268 }, request, routerAlertAndNops),
    amt.ipv6UdpFrame(frame(), { src: pair.ns6, dst: pair.host6, sport: 42002, dport: 2268 }, discovery, [{ type: 0 }, { type: 60, lengthUnits: 1 }]),
    first!,
    second!,
    amt.ipv6UdpFrame(frame(), { src: pair.ns6, dst: pair.host6, sport: 42004, dport: 2268 }, discovery, seven),
  ];
  await sendRawFrames(pair, frames);

  // The kernel took them all as usual: the options, the extension headers, the reassembly.
  t.true(await until(async () => relay4.received.length === 1 && relay6.received.length >= 2));
  t.deepEqual(relay4.received.map((r) => r.hex), [request.toString('hex')]);
  t.deepEqual(relay6.received.slice(0, 2).map((r) => r.hex).sort(), [discovery.toString('hex'), update.toString('hex')].sort());

  const snap = await snapshotWithPackets(loader, 3);
  t.deepEqual(snap.gateways.map(withoutTimes).sort(byPort), [
    entry(pair.ns4, 42001, { toRelay: { request: counts(1, 8) }, requestNonce: '0c0c0c0c', requestFlags: 0 }),
    entry(pair.ns6, 42002, { toRelay: { discovery: counts(1, 8) } }),
    entry(pair.ns6, 42003, { toRelay: { update: counts(1, update.length) } }),
  ]);
  t.like(snap.summary.stats, { udpPort: 3, amt: 3, fragments: 1, ipv6ExtTooDeep: 1, reportUnparsed: 1, truncated: 0 });
  const [event] = loader.events('update').map(withoutEventTimes);
  t.like(event, { gateway: { address: pair.ns6, port: 42003 }, report: 'unparsed', records: 0, groups: [], length: update.length });
});

maybe('malformed AMT is counted by kind, creates no entry, and is still delivered', async (t) => {
  const { pair, loader, relay4, frame } = await setup(t);
  const other = await hostSocket(pair.host4, 0);
  t.teardown(() => other.close());
  const ep = (sport: number, dport = 2268) => ({ src: pair.ns4, dst: pair.host4, sport, dport });
  const bad = [
    Buffer.from('1300000011223344', 'hex'), // version 1
    Buffer.from('0800000011223344', 'hex'), // type 8
    Buffer.from('0000000011223344', 'hex'), // type 0
    Buffer.from('03000000', 'hex'), // Request cut to 4 bytes
    amt.teardown([1, 2, 3, 4, 5, 6], 1, { address: pair.ns4, port: 1 }).subarray(0, 20),
    Buffer.alloc(0), // empty datagram
  ];
  const frames = [
    ...bad.map((payload, i) => amt.ipv4UdpFrame(frame(), ep(43000 + i), payload)),
    amt.ipv4UdpFrame(frame(), ep(43100, other.endpoint.port), amt.relayDiscovery(7)), // not the AMT port
  ];
  await sendRawFrames(pair, frames);
  t.true(await until(async () => relay4.received.length === bad.length && other.received.length === 1));
  t.deepEqual(relay4.received.map((r) => r.hex), bad.map((b) => b.toString('hex')));

  let summary = loader.lastSnapshot()?.summary;
  t.true(await until(async () => ((summary = (await loader.fullSnapshot()).summary).stats.udpPort === bad.length)));
  t.like(summary, { entries: 0, entriesCreated: 0 });
  t.like(summary!.stats, { udpPort: 6, amt: 0, badVersion: 1, badType: 2, truncated: 3, entriesCreated: 0 });
  t.deepEqual(loader.lines.filter((l) => ['request', 'update', 'teardown', 'eviction', 'gateway'].includes(l.type)), []);
});
