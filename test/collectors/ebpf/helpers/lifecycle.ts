// One gateway's full AMT exchange with the relay over real UDP sockets across the veth pair,
// and what the tracker must report for it. Shared by the IPv4, IPv6 and VLAN tests.
import type { ExecutionContext } from 'ava';
import { isIPv4 } from 'node:net';
import { until } from '../../../helpers/until.ts';
import * as amt from './amt-bytes.ts';
import type { Line, Run } from './loader.ts';
import { hostSocket, sendFromHost, startNsPeer, type Endpoint } from './peers.ts';
import type { VethPair } from './netns.ts';

export const TYPE_NAMES = ['', 'discovery', 'advertisement', 'request', 'query', 'update', 'data', 'teardown'] as const;

/** The counters a gateway entry must show for these messages (type from byte 0, bytes = UDP payload). */
export function tally(toRelay: Buffer[], fromRelay: Buffer[]) {
  const zero = () => ({ packets: 0, bytes: 0 });
  const to = { discovery: zero(), request: zero(), update: zero(), teardown: zero() } as Record<string, { packets: number; bytes: number }>;
  const from = { advertisement: zero(), query: zero(), data: zero() } as Record<string, { packets: number; bytes: number }>;
  for (const m of toRelay) {
    to[TYPE_NAMES[m[0]! & 0x0f]]!.packets++;
    to[TYPE_NAMES[m[0]! & 0x0f]]!.bytes += m.length;
  }
  for (const m of fromRelay) {
    from[TYPE_NAMES[m[0]! & 0x0f]]!.packets++;
    from[TYPE_NAMES[m[0]! & 0x0f]]!.bytes += m.length;
  }
  return { toRelay: to, fromRelay: from, wrongDirection: zero() };
}

/** A gateway line without the clock fields (those are checked apart). */
export function withoutTimes(line: Line): Line {
  const { seq: _seq, firstSeen: _a, lastSeen: _b, firstSeenNs: _c, lastSeenNs: _d, ...rest } = line;
  return rest as Line;
}

export function withoutEventTimes(line: Line): Line {
  const { at: _at, ns: _ns, ...rest } = line;
  return rest as Line;
}

/** Waits until a full snapshot holds `packets` packets in all; returns it. */
export async function snapshotWithPackets(loader: Run, packets: number) {
  let snap = await loader.fullSnapshot();
  const total = () =>
    snap.gateways.reduce((sum, g) => {
      const counts = [...Object.values(g.toRelay), ...Object.values(g.fromRelay), g.wrongDirection] as { packets: number }[];
      return sum + counts.reduce((s, c) => s + c.packets, 0);
    }, 0);
  await until(async () => {
    snap = await loader.fullSnapshot();
    return total() >= packets;
  }, 10_000);
  return snap;
}

export interface LifecycleAddresses {
  relay: string; // host end
  gateway: string; // namespace end
}

/**
 * Discovery, Advertisement, Requests (P=0, P=1, kernel-shaped), Query, Update with a report
 * for two groups, Multicast Data, Teardown; checks events, counters and that every datagram
 * reached the socket it was sent to (XDP_PASS, TC_ACT_OK).
 */
export async function runLifecycle(t: ExecutionContext, pair: VethPair, loader: Run, addrs: LifecycleAddresses, opts: { egress: boolean }) {
  const v4 = isIPv4(addrs.gateway);
  const relay = await hostSocket(addrs.relay, 2268);
  t.teardown(() => relay.close());
  const peer = startNsPeer(pair);
  t.teardown(() => peer.close());
  const gw: Endpoint = { address: addrs.gateway, port: 40000 + Math.floor(Math.random() * 20000) };
  await peer.bind(gw);

  const mac = [0x11, 0x22, 0x33, 0x44, 0x55, 0x66];
  const [dNonce, n1, n2, n3] = [0x0badc0de, 0x01020304, 0xa1b2c3d4, 0xfeedf00d];
  const groups = v4
    ? [
        { type: 5, group: '232.1.2.3', sources: ['198.51.100.7'] }, // ALLOW_NEW_SOURCES (SSM join)
        { type: 4, group: '239.1.1.1', sources: [] }, // CHANGE_TO_EXCLUDE_MODE {} (ASM join)
      ]
    : [
        { type: 5, group: 'ff3e::8000:1', sources: ['2001:db8::7'] },
        { type: 3, group: 'ff3e::8000:2', sources: [] }, // CHANGE_TO_INCLUDE_MODE {} (leave)
      ];
  const report = v4 ? amt.igmpv3Report(addrs.gateway, groups) : amt.mldv2Report('fe80::2', groups);
  const query = v4 ? amt.igmpv3GeneralQuery('0.0.0.0') : amt.mldv2GeneralQuery('fe80::1');
  const data = v4 ? amt.ipv4MulticastUdp('198.51.100.7', '232.1.2.3', 100) : amt.ipv4MulticastUdp('198.51.100.7', '232.1.2.3', 200);

  const steps: [dir: 'to' | 'from', bytes: Buffer][] = [
    ['to', amt.relayDiscovery(dNonce)],
    ['from', amt.relayAdvertisement(dNonce, addrs.relay)],
    ['to', amt.request(n1)],
    ['to', amt.request(n2, { p: true })],
    ['to', amt.request(n3, { kernelShaped: true })],
    ['from', amt.membershipQuery(mac, n3, query, gw, true)],
    ['to', amt.membershipUpdate(mac, n3, report)],
    ['from', amt.multicastData(data)],
    ['to', amt.teardown(mac, n3, gw)],
  ];
  for (const [dir, bytes] of steps) {
    if (dir === 'to') await peer.send(gw, relay.endpoint, bytes);
    else await sendFromHost(relay, gw, bytes);
  }
  const toRelay = steps.filter(([d]) => d === 'to').map(([, b]) => b);
  const fromRelay = steps.filter(([d]) => d === 'from').map(([, b]) => b);

  // Every datagram arrived where it was sent: the tracker passed them all on.
  t.true(await until(async () => relay.received.length === toRelay.length), 'the relay socket got every datagram');
  t.deepEqual(relay.received.map((r) => r.hex), toRelay.map((b) => b.toString('hex')));
  let got: { hex: string }[] = [];
  t.true(await until(async () => (got = await peer.received()).length === fromRelay.length), 'the gateway socket got every datagram');
  t.deepEqual(got.map((r) => r.hex), fromRelay.map((b) => b.toString('hex')));

  const counted = opts.egress ? steps.length : toRelay.length;
  const snap = await snapshotWithPackets(loader, counted);
  t.is(snap.gateways.length, 1);
  const entry = snap.gateways[0]!;
  const expected = tally(toRelay, opts.egress ? fromRelay : []);
  t.deepEqual(withoutTimes(entry), {
    type: 'gateway',
    address: gw.address,
    port: gw.port,
    requestNonce: 'feedf00d',
    requestFlags: 0x80,
    lastQuery: opts.egress ? { flags: 3, l: 1, g: 1 } : null,
    kernelShapedRequests: 1,
    nonceMismatches: 0,
    ...expected,
  });
  t.is(entry.toRelay.request.bytes, 24);
  t.is(entry.toRelay.teardown.bytes, 30);
  t.true(entry.firstSeenNs <= entry.lastSeenNs && Math.abs(entry.lastSeen - Date.now()) < 60_000);
  t.like(snap.summary.stats, {
    udpPort: counted,
    amt: counted,
    badVersion: 0,
    badType: 0,
    truncated: 0,
    kernelShapedRequests: 1,
    kernelShapedQueries: 0,
    queriesLimited: opts.egress ? 1 : 0,
    entriesCreated: 1,
    ringbufDrops: 0,
    reportUnparsed: 0,
  });
  t.like(snap.summary, { entries: 1, entriesCreated: 1, evicted: 0 });

  await loader.waitFor((l) => l.type === 'teardown');
  const gateway = { address: gw.address, port: gw.port };
  t.deepEqual(loader.events('request').map(withoutEventTimes), [
    { type: 'request', hook: 'xdp', gateway, nonce: '01020304', p: 0, kernelShaped: false, flags: 0, length: 8 },
    { type: 'request', hook: 'xdp', gateway, nonce: 'a1b2c3d4', p: 1, kernelShaped: false, flags: 1, length: 8 },
    { type: 'request', hook: 'xdp', gateway, nonce: 'feedf00d', p: 0, kernelShaped: true, flags: 0x80, length: 8 },
  ]);
  t.deepEqual(loader.events('update').map(withoutEventTimes), [
    {
      type: 'update',
      hook: 'xdp',
      gateway,
      nonce: 'feedf00d',
      mac: '112233445566',
      length: 12 + report.length,
      report: v4 ? 'igmpv3' : 'mldv2',
      records: 2,
      groups: groups.map((g) => ({ address: g.group, recordType: g.type, sources: g.sources.length })),
    },
  ]);
  t.deepEqual(loader.events('teardown').map(withoutEventTimes), [
    { type: 'teardown', hook: 'xdp', gateway, nonce: 'feedf00d', mac: '112233445566', length: 30, tunnel: gateway },
  ]);
  t.deepEqual(loader.events('eviction'), []);
}
