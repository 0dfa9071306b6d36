// The capture path end to end: a pcap of generated AMT exchanges streamed by a stand-in tcpdump
// (tail -f of a file the test appends to) into the collector, on a clock the test moves. Asserts
// the signals (tunnels, reachable, bandwidthBps, packets/discoveries/requests per second, each with
// its interval) and the amt-tunnel-lifecycle records in a real accounting spool, exactly.
import test from 'ava';
import { appendFileSync, chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeAmt } from '../../../src/amt/codec.ts';
import { RECORD_TYPE } from '../../../src/amt/group-records.ts';
import { udpPacket } from '../../../src/amt/inet.ts';
import { encodeMembershipQuery, encodeMembershipReport } from '../../../src/amt/membership.ts';
import type { AmtMessage } from '../../../src/amt/messages.ts';
import { usageLine } from '../../../src/accounting/cdni.ts';
import { lifecycleAsUsage, tunnelLifecycleId, type AccountingRecord, type AmtTunnelLifecycle } from '../../../src/accounting/records.ts';
import { ethernetFrame } from '../../../src/capture/frame.ts';
import { LINKTYPE, pcapFileHeader, pcapRecord } from '../../../src/capture/pcap.ts';
import { KINDS } from '../../../src/collectors/ebpf/tunnel-table.ts';
import { until } from '../../helpers/until.ts';
import { openSpool, readAll, tempDir } from '../../accounting/helpers.ts';
import { linuxRelay, startTracker } from './helpers/collector.ts';

const RELAY = '127.0.0.1';
const PORT = 2268;
const T0 = 1_700_000_000_000;
const IDLE = 60_000;
const MAC = 0x0a0b0c0d0e0f;
const PCAP = { linktype: LINKTYPE.ETHERNET, nanosecond: true };

interface Gw {
  address: string;
  port: number;
}
const G1 = { address: '203.0.113.1', port: 40001 };
const G2 = { address: '203.0.113.1', port: 40002 }; // behind the same NAT address as G1
const G3 = { address: '203.0.113.2', port: 40003 };

/** One message on the wire at `at`, and which way it went. */
interface Sent {
  at: number;
  gw: Gw;
  toRelay: boolean;
  bytes: Buffer;
}

const report = (change: 'join' | 'leave', ...groups: string[]) =>
  encodeMembershipReport({ family: 4, records: groups.map((group) => ({ type: change === 'join' ? RECORD_TYPE.ALLOW_NEW_SOURCES : RECORD_TYPE.BLOCK_OLD_SOURCES, group, sources: ['198.51.100.7'] })) });
const data = (group: string) => udpPacket({ source: '198.51.100.7', destination: group, sourcePort: 5000, destinationPort: 5000, payload: Buffer.alloc(100, 0x55) });

function msg(at: number, gw: Gw, m: AmtMessage): Sent {
  const toRelay = m.type === 'relay-discovery' || m.type === 'request' || m.type === 'membership-update' || m.type === 'teardown';
  return { at, gw, toRelay, bytes: encodeAmt(m) };
}

/** Discovery, Advertisement, Request, Query, Update joining `groups`, and `n` Multicast Data, from `at` on. */
function open(at: number, gw: Gw, nonce: number, groups: string[], n: number): Sent[] {
  return [
    msg(at, gw, { type: 'relay-discovery', nonce }),
    msg(at + 1, gw, { type: 'relay-advertisement', nonce, relayAddress: RELAY }),
    msg(at + 2, gw, { type: 'request', p: false, nonce }),
    msg(at + 3, gw, { type: 'membership-query', limited: false, responseMac: MAC, nonce, packet: encodeMembershipQuery({ family: 4 }), gateway: gw }),
    msg(at + 4, gw, { type: 'membership-update', responseMac: MAC, nonce, packet: report('join', ...groups) }),
    ...Array.from({ length: n }, (_, i) => msg(at + 5 + i, gw, { type: 'multicast-data', packet: data(groups[0]!) })),
  ];
}

function pcapRecords(sent: Sent[]): Buffer {
  return Buffer.concat(
    sent.map((s) => {
      const ip = s.toRelay
        ? udpPacket({ source: s.gw.address, destination: RELAY, sourcePort: s.gw.port, destinationPort: PORT, payload: s.bytes })
        : udpPacket({ source: RELAY, destination: s.gw.address, sourcePort: PORT, destinationPort: s.gw.port, payload: s.bytes });
      return pcapRecord(PCAP, { seconds: Math.floor(s.at / 1000), nanos: (s.at % 1000) * 1e6, data: ethernetFrame(ip) });
    }),
  );
}

const TYPE = ['', 'discovery', 'advertisement', 'request', 'query', 'update', 'data', 'teardown'];
/** What a tunnel's life counts of these messages (its own; Discovery and Advertisement come before it). */
function traffic(sent: Sent[], gw: Gw) {
  const own = sent.filter((s) => s.gw === gw && !['discovery', 'advertisement'].includes(TYPE[s.bytes[0]!]!));
  const sum = (xs: Sent[]) => ({ packets: xs.length, bytes: xs.reduce((a, s) => a + s.bytes.length, 0) });
  return { to: sum(own.filter((s) => !s.toRelay)), from: sum(own.filter((s) => s.toRelay)) };
}
const count = (sent: Sent[], type: string) => sent.filter((s) => TYPE[s.bytes[0]!] === type).length;
const octets = (sent: Sent[]) => sent.reduce((a, s) => a + s.bytes.length, 0);

test('capture path: a tunnel lifecycle gives exact rate and tunnel signals, and one spooled record per tunnel with why it ended', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'driad-ebpf-signals-'));
  const pcap = join(dir, 'stream.pcap');
  writeFileSync(pcap, pcapFileHeader(PCAP));
  // tcpdump's stand-in: the pcap stream as the test writes it (its -i/-w arguments are ignored).
  const tcpdump = join(dir, 'tcpdump');
  writeFileSync(tcpdump, `#!/bin/sh\nexec tail -c +1 -f '${pcap}'\n`);
  chmodSync(tcpdump, 0o755);

  const spool = await openSpool(tempDir());
  t.teardown(() => spool.close());
  let now = T0;
  const { tracker, signals, metrics } = await startTracker(
    linuxRelay(RELAY),
    { loaderPath: join(dir, 'no-loader'), tcpdumpPath: tcpdump, tunnelIdleMs: IDLE, signalIntervalMs: 100 },
    { account: async (r: AccountingRecord) => void (await spool.append(r as unknown as Parameters<typeof spool.append>[0])), now: () => now },
  );
  let stopped = false;
  t.teardown(() => (stopped ? undefined : tracker.stop()));
  const at = (when: number, kind: string) => signals.find((s) => s.at === when && s.kind === kind);
  const tick = async (when: number) => t.true(await until(async () => at(when, 'requestsPerSecond') !== undefined || (when === T0 && at(when, 'tunnels') !== undefined), 5000), `a tick at T0+${when - T0}`);

  t.true(await until(async () => tracker.mode === 'capture' && tracker.status().sessions[0]!.connected, 5000));
  t.is(tracker.status().modeReason, `xdp: loader not built (${join(dir, 'no-loader')}; scripts/build-native.sh)`);
  t.like(tracker.status().sessions[0], { target: 'lo', mode: 'capture' });
  // The first sample, at T0, before any packet: the rates' baseline.
  await tick(T0);
  t.like(at(T0, 'tunnels'), { relay: 'gateway', value: 0, intervalMs: 100 });
  t.is(at(T0, 'bandwidthBps'), undefined, 'one sample gives no rate');

  // Stage 1: three gateways (two behind one address) open tunnels; G2 joins two groups.
  const stage1 = [...open(T0 + 100, G1, 1, ['232.1.1.1'], 5), ...open(T0 + 200, G2, 2, ['232.1.1.1', '232.2.2.2'], 3), ...open(T0 + 300, G3, 3, ['232.3.3.3'], 2)];
  appendFileSync(pcap, pcapRecords(stage1));
  const total = () => KINDS.reduce((a, k) => a + tracker.table.seen[k].packets, 0);
  t.true(await until(async () => total() === stage1.length, 5000), 'every packet read');
  const T1 = T0 + 10_000;
  now = T1;
  await tick(T1);
  t.like(at(T1, 'tunnels'), { value: 3, intervalMs: 100 });
  t.like(at(T1, 'reachable'), { value: true, intervalMs: 100 });
  t.like(at(T1, 'bandwidthBps'), { value: Math.round((8 * octets(stage1)) / 10), intervalMs: 100 });
  t.like(at(T1, 'packetsPerSecond'), { value: stage1.length / 10, intervalMs: 100 });
  t.like(at(T1, 'discoveriesPerSecond'), { value: 0.3, intervalMs: 100 });
  t.like(at(T1, 'requestsPerSecond'), { value: 0.3, intervalMs: 100 });
  t.like(tracker.status(), { tunnels: { active: 3, activeAddresses: 2, entries: 3 } });
  t.is(metrics.get('driad_ebpf_tunnels', { relay: 'gateway', key: 'gateway' }), 3);
  t.is(metrics.get('driad_ebpf_tunnels', { relay: 'gateway', key: 'address' }), 2, 'the kernel keys by address: G1 and G2 are one tunnel there');
  t.is(metrics.get('driad_ebpf_rate', { relay: 'gateway', rate: 'requestsPerSecond' }), 0.3);

  // Stage 2: G1 tears down; G2 leaves a group and keeps receiving; G3 falls silent.
  const stage2 = [
    msg(T1 + 100, G1, { type: 'teardown', responseMac: MAC, nonce: 1, gateway: G1 }),
    msg(T1 + 200, G2, { type: 'membership-update', responseMac: MAC, nonce: 2, packet: report('leave', '232.1.1.1') }),
    ...Array.from({ length: 4 }, (_, i) => msg(T1 + 300 + i, G2, { type: 'multicast-data', packet: data('232.2.2.2') })),
  ];
  appendFileSync(pcap, pcapRecords(stage2));
  t.true(await until(async () => total() === stage1.length + stage2.length, 5000));
  // G3's last Update was at T0+304: it is active for three idle times after it.
  const T2 = T0 + 304 + 3 * IDLE;
  now = T2;
  await tick(T2);
  const seconds = (T2 - T1) / 1000;
  t.like(at(T2, 'tunnels'), { value: 1 });
  t.like(at(T2, 'bandwidthBps'), { value: Math.round((8 * octets(stage2)) / seconds) });
  t.like(at(T2, 'packetsPerSecond'), { value: Math.round((stage2.length / seconds) * 1000) / 1000 });
  t.like(at(T2, 'discoveriesPerSecond'), { value: 0 });
  t.like(at(T2, 'requestsPerSecond'), { value: 0 });
  t.like(tracker.status(), { tunnels: { active: 1, activeAddresses: 1 } });

  // Stop: G2's tunnel ends as stopped; every record is in the spool before stop() resolves.
  now = T2 + 1000;
  await tracker.stop();
  stopped = true;
  const all = [...stage1, ...stage2];
  const record = (gw: Gw, start: number, end: number, endReason: AmtTunnelLifecycle['endReason'], groups: string[]): AmtTunnelLifecycle => {
    const { to, from } = traffic(all, gw);
    const key = { source: 'ebpf', relay: 'gateway', gateway: gw.address, gatewayPort: gw.port, start };
    return { type: 'amt-tunnel-lifecycle', id: tunnelLifecycleId(key), ...key, relayAddress: RELAY, end, durationMs: end - start, endReason, groups, groupsOmitted: 0, packets: to.packets, bytes: to.bytes, packetsFromGateway: from.packets, bytesFromGateway: from.bytes, mode: 'capture' };
  };
  const expected = [
    record(G1, T0 + 102, T1 + 100, 'teardown', ['232.1.1.1']),
    record(G3, T0 + 302, T2, 'expired', ['232.3.3.3']),
    record(G2, T0 + 202, T2 + 1000, 'stopped', ['232.1.1.1', '232.2.2.2']),
  ];
  t.deepEqual((await readAll(spool, 'c1')).map((e) => e.record), expected as unknown as Record<string, unknown>[]);
  // G1: 1 Query + 5 Data to it; Request, Update, Teardown from it.
  t.like(expected[0], { packets: 6, packetsFromGateway: 3, bytesFromGateway: 8 + stage1[4]!.bytes.length + 30 });
  t.like(tracker.status(), { tunnelRecords: { spooled: 3, refused: 0, lastRefusal: null } });
  t.is(metrics.get('driad_ebpf_tunnels_ended_total', { reason: 'teardown' }), 1);
  t.is(metrics.get('driad_ebpf_tunnels_ended_total', { reason: 'expired' }), 1);
  t.is(metrics.get('driad_ebpf_tunnels_ended_total', { reason: 'stopped' }), 1);
  t.is(metrics.get('driad_ebpf_tunnel_records_total', { result: 'spooled' }), 3);

  // As CDNI amt_tunnel_usage_v1 lines: the life is the interval, one group or '-', outer IP octets, unsampled.
  const [g1, , g2] = expected.map((r) => usageLine(lifecycleAsUsage(r)).replace(/\r\n$/, '').split('\t'));
  t.deepEqual(g1, [
    '2023-11-14',
    '22:13:30.100',
    '9.998',
    RELAY,
    'gateway',
    G1.address,
    String(G1.port),
    '232.1.1.1',
    String(expected[0]!.bytes + 28 * 6),
    '6',
    '1',
    expected[0]!.id,
  ]);
  t.is(g2![7], '-', 'two groups: the CDNI line names none (the spooled record lists both)');
});

test('a refused record is counted with its reason, never thrown', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'driad-ebpf-signals-'));
  const pcap = join(dir, 'stream.pcap');
  writeFileSync(pcap, Buffer.concat([pcapFileHeader(PCAP), pcapRecords([...open(Date.now(), G1, 9, ['232.1.1.1'], 1), msg(Date.now() + 10, G1, { type: 'teardown', responseMac: MAC, nonce: 9, gateway: G1 })])]));
  const tcpdump = join(dir, 'tcpdump');
  writeFileSync(tcpdump, `#!/bin/sh\nexec tail -c +1 -f '${pcap}'\n`);
  chmodSync(tcpdump, 0o755);
  const { SpoolRefused } = await import('../../../src/accounting/spool.ts');
  const { tracker, metrics } = await startTracker(linuxRelay(RELAY), { loaderPath: join(dir, 'no-loader'), tcpdumpPath: tcpdump }, { account: () => Promise.reject(new SpoolRefused('disabled', 'accounting is not enabled (accounting.enabled)')) });
  try {
    t.true(await until(async () => tracker.status().tunnelRecords.refused === 1, 5000));
    t.is(tracker.status().tunnelRecords.lastRefusal, 'disabled: accounting is not enabled (accounting.enabled)');
    t.is(metrics.get('driad_ebpf_tunnel_records_total', { result: 'refused' }), 1);
  } finally {
    await tracker.stop();
  }
});

test('records waiting for a slow spool are bounded: beyond 10,000 in flight they are dropped and counted', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'driad-ebpf-signals-'));
  const pcap = join(dir, 'stream.pcap');
  const n = 10_005;
  const sent: Sent[] = [];
  for (let i = 0; i < n; i++) {
    const gw = { address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 40000 };
    sent.push(msg(T0 + i, gw, { type: 'request', p: false, nonce: i }), msg(T0 + i, gw, { type: 'teardown', responseMac: MAC, nonce: i, gateway: gw }));
  }
  writeFileSync(pcap, Buffer.concat([pcapFileHeader(PCAP), pcapRecords(sent)]));
  const tcpdump = join(dir, 'tcpdump');
  writeFileSync(tcpdump, `#!/bin/sh\nexec tail -c +1 -f '${pcap}'\n`);
  chmodSync(tcpdump, 0o755);
  let release: () => void = () => {};
  const slow = new Promise<void>((resolve) => (release = resolve));
  const { tracker, metrics } = await startTracker(linuxRelay(RELAY), { loaderPath: join(dir, 'no-loader'), tcpdumpPath: tcpdump }, { account: () => slow, now: () => T0 + n });
  try {
    t.true(await until(async () => tracker.table.seen.teardown.packets === n, 10_000));
    t.is(tracker.status().tunnelRecords.refused, 5);
    t.is(metrics.get('driad_ebpf_tunnel_records_total', { result: 'dropped' }), 5);
    t.regex(tracker.status().tunnelRecords.lastRefusal!, /^backlog: 10000 records/);
    release();
    t.true(await until(async () => tracker.status().tunnelRecords.spooled === 10_000, 5000));
  } finally {
    release();
    await tracker.stop();
  }
});
