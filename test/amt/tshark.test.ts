// Wireshark's AMT dissector (Debian's tshark) as an independent reader of what the codec writes:
// a pcap of generated packets of every type, over IPv4 and IPv6, untagged, 802.1Q and QinQ, in
// Ethernet, raw-IP and Linux-cooked files, little- and big-endian, µs and ns. tshark must read
// every field back as encoded, with every checksum it can verify good and no malformed-packet or
// expert warning/error mark anywhere.

import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeAmt } from '../../src/amt/codec.ts';
import type { GroupRecord } from '../../src/amt/group-records.ts';
import { udpPacket } from '../../src/amt/inet.ts';
import { encodeMembershipQuery, encodeMembershipReport } from '../../src/amt/membership.ts';
import { AMT_PORT, AMT_TYPE, type AmtMessage } from '../../src/amt/messages.ts';
import { frameFor } from '../../src/capture/frame.ts';
import { LINKTYPE, writePcap } from '../../src/capture/pcap.ts';
import { all, assertClean, HAS_TSHARK, ip16, one, runTshark, type Json } from './helpers/tshark-json.ts';

const tsharkTest = HAS_TSHARK ? test : test.skip;
const title = (s: string): string => (HAS_TSHARK ? s : `${s} [SKIPPED: tshark is not installed; apt-get install tshark]`);

const GW4 = '192.0.2.10';
const GW6 = '2001:db8::10';
const RELAY4 = '198.51.100.1';
const RELAY6 = '2001:db8:100::1';

const V4_RECORDS: GroupRecord[] = [
  { type: 1, group: '232.1.1.1', sources: ['192.0.2.99', '192.0.2.98'] },
  { type: 2, group: '239.1.1.1', sources: [] },
  { type: 3, group: '239.1.1.2', sources: [] },
  { type: 4, group: '239.1.1.3', sources: ['192.0.2.7'] },
  { type: 5, group: '232.1.1.2', sources: ['192.0.2.97'] },
  { type: 6, group: '232.1.1.3', sources: ['192.0.2.96', '192.0.2.95', '192.0.2.94'] },
];
const V6_RECORDS: GroupRecord[] = [
  { type: 1, group: 'ff3e::8000:1', sources: ['2001:db8::99'] },
  { type: 3, group: 'ff3e::8000:2', sources: [] },
  { type: 4, group: 'ff0e::1', sources: [] },
  { type: 5, group: 'ff3e::8000:3', sources: ['2001:db8::98', '2001:db8::97'] },
  { type: 6, group: 'ff3e::8000:4', sources: ['2001:db8::96'] },
];

interface Case {
  message: AmtMessage;
  kernelFlags?: boolean;
  /** The outer IP family. */
  outer: 4 | 6;
}

const mac = (i: number): number => 0x0a0b0c0d0e00 + i;
const CASES: Case[] = [
  { outer: 4, message: { type: 'relay-discovery', nonce: 0x11223344 } },
  { outer: 6, message: { type: 'relay-discovery', nonce: 0xfffffffe } },
  { outer: 4, message: { type: 'relay-advertisement', nonce: 0x11223344, relayAddress: RELAY4 } },
  { outer: 6, message: { type: 'relay-advertisement', nonce: 0xfffffffe, relayAddress: RELAY6 } },
  { outer: 4, message: { type: 'request', p: false, nonce: 0xdeadbeef } },
  { outer: 4, message: { type: 'request', p: true, nonce: 0xdeadbef0 } },
  { outer: 6, message: { type: 'request', p: true, nonce: 0x01020304 } },
  { outer: 4, message: { type: 'membership-query', limited: false, responseMac: mac(1), nonce: 0xdeadbeef, packet: encodeMembershipQuery({ family: 4 }), gateway: { port: 40000, address: GW4 } } },
  { outer: 4, message: { type: 'membership-query', limited: true, responseMac: mac(2), nonce: 0xdeadbef0, packet: encodeMembershipQuery({ family: 6, qrv: 3, qqic: 60 }), gateway: null } },
  { outer: 6, message: { type: 'membership-query', limited: true, responseMac: mac(3), nonce: 0x01020304, packet: encodeMembershipQuery({ family: 6, source: 'fe80::1' }), gateway: { port: 40001, address: GW6 } } },
  { outer: 6, message: { type: 'membership-query', limited: false, responseMac: mac(4), nonce: 5, packet: encodeMembershipQuery({ family: 4, maxRespCode: 10 }), gateway: null } },
  { outer: 4, message: { type: 'membership-update', responseMac: mac(1), nonce: 0xdeadbeef, packet: encodeMembershipReport({ family: 4, records: V4_RECORDS }) } },
  { outer: 4, message: { type: 'membership-update', responseMac: mac(2), nonce: 0xdeadbef0, packet: encodeMembershipReport({ family: 6, source: 'fe80::2', records: V6_RECORDS }) } },
  { outer: 6, message: { type: 'membership-update', responseMac: mac(3), nonce: 0x01020304, packet: encodeMembershipReport({ family: 6, records: V6_RECORDS.slice(0, 2) }) } },
  { outer: 4, message: { type: 'multicast-data', packet: udpPacket({ source: '192.0.2.99', destination: '232.1.1.1', sourcePort: 5000, destinationPort: 5001, payload: Buffer.from('multicast over AMT') }) } },
  { outer: 6, message: { type: 'multicast-data', packet: udpPacket({ source: '2001:db8::99', destination: 'ff3e::8000:1', sourcePort: 5000, destinationPort: 5001, payload: Buffer.alloc(100, 0x5a) }) } },
  { outer: 4, message: { type: 'teardown', responseMac: mac(1), nonce: 0xdeadbeef, gateway: { port: 40000, address: GW4 } } },
  { outer: 6, message: { type: 'teardown', responseMac: mac(3), nonce: 0x01020304, gateway: { port: 40001, address: GW6 } } },
];

/** Which way each message travels: gateway to relay, or relay to gateway. */
const FROM_RELAY = new Set(['relay-advertisement', 'membership-query', 'multicast-data']);

function ipPacketFor(c: Case): Buffer {
  const [gw, relay] = c.outer === 4 ? [GW4, RELAY4] : [GW6, RELAY6];
  const payload = encodeAmt(c.message, { kernelFlags: c.kernelFlags });
  const up = !FROM_RELAY.has(c.message.type);
  return udpPacket({ source: up ? gw : relay, destination: up ? relay : gw, sourcePort: up ? 40000 : AMT_PORT, destinationPort: up ? AMT_PORT : 40000, payload });
}

const hexColon = (b: Buffer): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');

function assertFields(t: ExecutionContext, c: Case, layers: Record<string, Json>, where: string): void {
  const amt = layers.amt;
  const m = c.message;
  t.truthy(amt, `${where}: no AMT layer`);
  t.is(one(amt, 'amt.version'), '0', where);
  t.is(one(amt, 'amt.type'), String(AMT_TYPE[m.type]), where);
  const num = (k: string): number => Number(one(amt, k));
  switch (m.type) {
    case 'relay-discovery':
      t.is(num('amt.discovery_nonce'), m.nonce, where);
      break;
    case 'relay-advertisement':
      t.is(num('amt.discovery_nonce'), m.nonce, where);
      t.is(one(amt, m.relayAddress.includes(':') ? 'amt.relay_address.ipv6' : 'amt.relay_address.ipv4'), m.relayAddress, where);
      break;
    case 'request':
      t.is(one(amt, 'amt.request.p'), m.p ? '1' : '0', where);
      t.is(Number(one(amt, 'amt.request.reserved')), 0, where);
      t.is(num('amt.request_nonce'), m.nonce, where);
      break;
    case 'membership-query': {
      t.is(one(amt, 'amt.membership_query.l'), m.limited ? '1' : '0', where);
      t.is(one(amt, 'amt.membership_query.g'), m.gateway ? '1' : '0', where);
      t.is(Number(one(amt, 'amt.membership_query.reserved')), 0, where);
      t.is(num('amt.response_mac'), m.responseMac, where);
      t.is(num('amt.request_nonce'), m.nonce, where);
      if (m.gateway) {
        t.is(num('amt.gateway.port_number'), m.gateway.port, where);
        t.is(ip16(one(amt, 'amt.gateway.ip_address') ?? ''), ip16(m.gateway.address), where);
      } else {
        t.is(one(amt, 'amt.gateway.port_number'), undefined, where);
      }
      if (m.packet[0] === 0x46) {
        t.is(one(amt, 'igmp.type'), '0x11', where);
        t.is(one(amt, 'igmp.version'), '3', where);
        t.is(one(amt, 'igmp.maddr'), '0.0.0.0', where);
        t.is(one(amt, 'igmp.num_src'), '0', where);
        t.is(one(amt, 'ip.ttl'), '1', where);
        t.is(one(amt, 'ip.dst'), '224.0.0.1', where);
        t.is(one(amt, 'ip.opt.ra'), '0', `${where}: IPv4 Router Alert`);
        t.is(one(amt, 'igmp.max_resp'), String(m.packet[25]), where);
        t.is(one(amt, 'igmp.qrv'), String((m.packet[32] as number) & 7), where);
        t.is(one(amt, 'igmp.qqic'), String(m.packet[33]), where);
      } else {
        t.is(one(amt, 'icmpv6.type'), '130', where);
        t.is(one(amt, 'icmpv6.mld.multicast_address'), '::', where);
        t.is(one(amt, 'icmpv6.mld.nb_sources'), '0', where);
        t.is(one(amt, 'ipv6.hlim'), '1', where);
        t.is(one(amt, 'ipv6.dst'), 'ff02::1', where);
        t.is(one(amt, 'ipv6.opt.router_alert'), '0', `${where}: IPv6 Router Alert (MLD)`);
        t.is(one(amt, 'icmpv6.mld.flag.qrv'), String((m.packet[48 + 24] as number) & 7), where);
        t.is(one(amt, 'icmpv6.mld.qqi'), String(m.packet[48 + 25]), where);
      }
      break;
    }
    case 'membership-update': {
      t.is(num('amt.response_mac'), m.responseMac, where);
      t.is(num('amt.request_nonce'), m.nonce, where);
      const records = m.packet[0] === 0x46 ? V4_RECORDS : m.packet.length > 200 ? V6_RECORDS : V6_RECORDS.slice(0, 2);
      if (m.packet[0] === 0x46) {
        t.is(one(amt, 'igmp.type'), '0x22', where);
        t.is(one(amt, 'igmp.num_grp_recs'), String(records.length), where);
        t.deepEqual(all(amt, 'igmp.record_type'), records.map((r) => String(r.type)), where);
        t.deepEqual(all(amt, 'igmp.maddr'), records.map((r) => r.group), where);
        t.deepEqual(all(amt, 'igmp.num_src'), records.map((r) => String(r.sources.length)), where);
        t.deepEqual(all(amt, 'igmp.saddr'), records.flatMap((r) => r.sources), where);
        t.is(one(amt, 'ip.dst'), '224.0.0.22', where);
        t.is(one(amt, 'ip.opt.ra'), '0', `${where}: IPv4 Router Alert`);
      } else {
        t.is(one(amt, 'icmpv6.type'), '143', where);
        t.is(one(amt, 'icmpv6.mldr.nb_mcast_records'), String(records.length), where);
        t.deepEqual(all(amt, 'icmpv6.mldr.mar.record_type'), records.map((r) => String(r.type)), where);
        t.deepEqual(all(amt, 'icmpv6.mldr.mar.multicast_address'), records.map((r) => r.group), where);
        t.deepEqual(all(amt, 'icmpv6.mldr.mar.nb_sources'), records.map((r) => String(r.sources.length)), where);
        t.deepEqual(all(amt, 'icmpv6.mldr.mar.source_address'), records.flatMap((r) => r.sources), where);
        t.is(one(amt, 'ipv6.dst'), 'ff02::16', where);
        t.is(one(amt, 'ipv6.opt.router_alert'), '0', `${where}: IPv6 Router Alert (MLD)`);
      }
      break;
    }
    case 'multicast-data':
      t.is(one(amt, 'amt.multicast_data'), hexColon(m.packet), where);
      t.true(all(amt, 'udp.dstport').includes('5001'), `${where}: the multicast UDP packet inside`);
      break;
    case 'teardown':
      t.is(num('amt.response_mac'), m.responseMac, where);
      t.is(num('amt.request_nonce'), m.nonce, where);
      t.is(num('amt.gateway.port_number'), m.gateway.port, where);
      t.is(ip16(one(amt, 'amt.gateway.ip_address') ?? ''), ip16(m.gateway.address), where);
      break;
  }
}

const FILES = [
  { name: 'ethernet-le-us', header: { linktype: LINKTYPE.ETHERNET }, vlans: (i: number): number[] => [[], [100], [200, 300]][i % 3] as number[] },
  { name: 'raw-be-ns', header: { linktype: LINKTYPE.RAW, littleEndian: false, nanosecond: true }, vlans: (): number[] => [] },
  { name: 'sll-le-ns', header: { linktype: LINKTYPE.LINUX_SLL, nanosecond: true }, vlans: (): number[] => [] },
];

tsharkTest(title('tshark decodes every field of every generated AMT message, with no malformed or expert error mark'), async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'amt-tshark-'));
  try {
    for (const f of FILES) {
      const records = CASES.map((c, i) => ({ seconds: 1_700_000_000 + i, nanos: 123_456_000 + i, data: frameFor(f.header.linktype, ipPacketFor(c), { vlans: f.vlans(i) }) }));
      const file = join(dir, `${f.name}.pcap`);
      writeFileSync(file, writePcap(f.header, records));
      const packets = await runTshark(file);
      t.is(packets.length, CASES.length, f.name);
      packets.forEach((p, i) => {
        const layers = (p as { _source: { layers: Record<string, Json> } })._source.layers;
        const c = CASES[i] as Case;
        const where = `${f.name} #${i + 1} ${c.message.type} over IPv${c.outer}`;
        assertClean(t, layers, where);
        assertFields(t, c, layers, where);
        if (f.name.startsWith('ethernet')) t.deepEqual(all(layers, 'vlan.id').concat(all(layers, 'ieee8021ad.id')).map(Number).sort(), [...f.vlans(i)].sort(), `${where}: VLAN tags`);
        const nanos = f.header.nanosecond ? 123_456_000 + i : 123_456_000;
        t.is(one(layers.frame, 'frame.time_epoch'), `${1_700_000_000 + i}.${String(nanos).padStart(9, '0')}`, `${where}: timestamp`);
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

tsharkTest(title('tshark reads a Linux-kernel-shaped Request (P at 0x80) as P=0 with reserved bits 0x40: what the codec calls kernel-p-flag'), async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'amt-tshark-'));
  try {
    const c: Case = { outer: 4, kernelFlags: true, message: { type: 'request', p: true, nonce: 0xdeadbeef } };
    const file = join(dir, 'kernel.pcap');
    writeFileSync(file, writePcap({ linktype: LINKTYPE.ETHERNET }, [{ seconds: 1, data: frameFor(LINKTYPE.ETHERNET, ipPacketFor(c)) }]));
    const [p] = await runTshark(file);
    const amt = (p as { _source: { layers: Record<string, Json> } })._source.layers.amt;
    t.is(one(amt, 'amt.request.p'), '0');
    t.is(one(amt, 'amt.request.reserved'), '0x40');
    t.is(Number(one(amt, 'amt.request_nonce')), 0xdeadbeef);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
