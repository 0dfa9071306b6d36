// The IGMP/MLD datagrams inside Membership Query and Update: reports with several group records
// and General Queries, both families, encoded and decoded; the groups each record joins or
// leaves; checksums and IP headers checked on the way in.

import test from 'ava';
import { groupChange, groupChanges, RECORD_TYPE, type GroupRecord } from '../../src/amt/group-records.ts';
import { internetChecksum, ipv4Packet, ipv6Packet, IPPROTO, pseudoHeaderSum, parseIp } from '../../src/amt/inet.ts';
import { decodeMembershipQuery, decodeMembershipReport, encodeMembershipQuery, encodeMembershipReport, qqicSeconds } from '../../src/amt/membership.ts';

const V4_RECORDS: GroupRecord[] = [
  { type: RECORD_TYPE.MODE_IS_INCLUDE, group: '232.1.1.1', sources: ['192.0.2.99', '192.0.2.98'] },
  { type: RECORD_TYPE.MODE_IS_EXCLUDE, group: '239.1.1.1', sources: [] },
  { type: RECORD_TYPE.CHANGE_TO_INCLUDE_MODE, group: '239.1.1.2', sources: [] },
  { type: RECORD_TYPE.CHANGE_TO_EXCLUDE_MODE, group: '239.1.1.3', sources: ['192.0.2.7'] },
  { type: RECORD_TYPE.ALLOW_NEW_SOURCES, group: '232.1.1.2', sources: ['192.0.2.97'], auxData: Buffer.from('abcdefgh') },
  { type: RECORD_TYPE.BLOCK_OLD_SOURCES, group: '232.1.1.1', sources: ['192.0.2.98'] },
];
const V6_RECORDS: GroupRecord[] = [
  { type: RECORD_TYPE.CHANGE_TO_INCLUDE_MODE, group: 'ff3e::8000:1', sources: ['2001:db8::99'] },
  { type: RECORD_TYPE.ALLOW_NEW_SOURCES, group: 'ff3e::8000:2', sources: ['2001:db8::98', '2001:db8::97'] },
  { type: RECORD_TYPE.BLOCK_OLD_SOURCES, group: 'ff3e::8000:1', sources: ['2001:db8::99'] },
  { type: RECORD_TYPE.CHANGE_TO_EXCLUDE_MODE, group: 'ff0e::1', sources: [] },
];

test('IGMPv3 report with six records: IPv4 header with Router Alert and TTL 1, every record back', (t) => {
  const packet = encodeMembershipReport({ family: 4, records: V4_RECORDS });
  t.is(packet[0], 0x46, 'IPv4 with a 24-byte header (the Router Alert option)');
  t.deepEqual([...packet.subarray(20, 24)], [0x94, 0x04, 0x00, 0x00]);
  t.is(internetChecksum(packet, 0, 24), 0, 'IPv4 header checksum');
  t.is(internetChecksum(packet, 24), 0, 'IGMP checksum');
  const d = decodeMembershipReport(packet);
  t.true(d.ok, JSON.stringify(d));
  if (!d.ok) return;
  t.deepEqual(d.value, {
    protocol: 'igmpv3',
    ip: { family: 4, source: '0.0.0.0', destination: '224.0.0.22', ttl: 1, routerAlert: true },
    records: V4_RECORDS,
  });
});

test('MLDv2 report with four records: Hop-by-Hop Router Alert, hop limit 1, ICMPv6 checksum over the pseudo-header', (t) => {
  const packet = encodeMembershipReport({ family: 6, source: 'fe80::1', records: V6_RECORDS });
  t.is(packet[6], IPPROTO.HOPOPTS);
  t.deepEqual([...packet.subarray(40, 48)], [58, 0, 5, 2, 0, 0, 1, 0]);
  const icmp = packet.subarray(48);
  t.is(internetChecksum(icmp, 0, icmp.length, pseudoHeaderSum(parseIp('fe80::1') as Buffer, parseIp('ff02::16') as Buffer, 58, icmp.length)), 0);
  const d = decodeMembershipReport(packet);
  t.true(d.ok, JSON.stringify(d));
  if (!d.ok) return;
  t.deepEqual(d.value, { protocol: 'mldv2', ip: { family: 6, source: 'fe80::1', destination: 'ff02::16', ttl: 1, routerAlert: true }, records: V6_RECORDS });
});

test('the groups each record joins and leaves', (t) => {
  t.deepEqual(groupChanges(V4_RECORDS), [
    { group: '232.1.1.1', change: 'join', sources: ['192.0.2.99', '192.0.2.98'], record: 'MODE_IS_INCLUDE' },
    { group: '239.1.1.1', change: 'join', sources: [], record: 'MODE_IS_EXCLUDE' },
    { group: '239.1.1.2', change: 'leave', sources: [], record: 'CHANGE_TO_INCLUDE_MODE' },
    { group: '239.1.1.3', change: 'join', sources: ['192.0.2.7'], record: 'CHANGE_TO_EXCLUDE_MODE' },
    { group: '232.1.1.2', change: 'join', sources: ['192.0.2.97'], record: 'ALLOW_NEW_SOURCES' },
    { group: '232.1.1.1', change: 'leave', sources: ['192.0.2.98'], record: 'BLOCK_OLD_SOURCES' },
  ]);
  t.is(groupChange({ type: RECORD_TYPE.MODE_IS_INCLUDE, group: '232.1.1.1', sources: [] }), 'leave');
  t.is(groupChange({ type: RECORD_TYPE.ALLOW_NEW_SOURCES, group: '232.1.1.1', sources: [] }), 'none');
  t.is(groupChange({ type: RECORD_TYPE.BLOCK_OLD_SOURCES, group: '232.1.1.1', sources: [] }), 'none');
});

test('IGMPv2 Report/Leave and MLDv1 Report/Done read as IS_EX({}) and TO_IN({}) records', (t) => {
  const igmp = (type: number, group: number[]): Buffer => {
    const m = Buffer.from([type, 0, 0, 0, ...group]);
    m.writeUInt16BE(internetChecksum(m), 2);
    return ipv4Packet({ source: '0.0.0.0', destination: '224.0.0.2', protocol: IPPROTO.IGMP, ttl: 1, payload: m });
  };
  const join = decodeMembershipReport(igmp(0x16, [239, 1, 2, 3]));
  const leave = decodeMembershipReport(igmp(0x17, [239, 1, 2, 3]));
  t.like(join, { ok: true, value: { protocol: 'igmpv2', records: [{ type: 2, group: '239.1.2.3', sources: [] }] } });
  t.like(leave, { ok: true, value: { protocol: 'igmpv2', records: [{ type: 3, group: '239.1.2.3', sources: [] }] } });
  t.false(join.ok && join.value.ip.routerAlert, 'no Router Alert option in this one');

  const mld = (type: number): Buffer => {
    const src = parseIp('::') as Buffer;
    const dst = parseIp('ff02::2') as Buffer;
    const m = Buffer.alloc(24);
    m[0] = type;
    (parseIp('ff0e::1:2') as Buffer).copy(m, 8);
    m.writeUInt16BE(internetChecksum(m, 0, 24, pseudoHeaderSum(src, dst, 58, 24)), 2);
    return ipv6Packet({ source: '::', destination: 'ff02::2', nextHeader: 58, hopLimit: 1, payload: m });
  };
  t.like(decodeMembershipReport(mld(131)), { ok: true, value: { protocol: 'mldv1', ip: { routerAlert: false }, records: [{ type: 2, group: 'ff0e::1:2' }] } });
  t.like(decodeMembershipReport(mld(132)), { ok: true, value: { protocol: 'mldv1', records: [{ type: 3, group: 'ff0e::1:2' }] } });
});

test('General Queries as RFC 7450 asks a relay to send them (Max Resp Code 1, QRV 2, QQIC 125)', (t) => {
  const v4 = decodeMembershipQuery(encodeMembershipQuery({ family: 4 }));
  t.deepEqual(v4, {
    ok: true,
    value: { protocol: 'igmpv3', ip: { family: 4, source: '0.0.0.0', destination: '224.0.0.1', ttl: 1, routerAlert: true }, maxRespCode: 1, group: '0.0.0.0', suppress: false, qrv: 2, qqic: 125, sources: [], general: true },
  });
  const v6 = decodeMembershipQuery(encodeMembershipQuery({ family: 6, source: 'fe80::2', qrv: 3, qqic: 60, suppress: true, maxRespCode: 1000 }));
  t.deepEqual(v6, {
    ok: true,
    value: { protocol: 'mldv2', ip: { family: 6, source: 'fe80::2', destination: 'ff02::1', ttl: 1, routerAlert: true }, maxRespCode: 1000, group: '::', suppress: true, qrv: 3, qqic: 60, sources: [], general: true },
  });
  const specific = decodeMembershipQuery(encodeMembershipQuery({ family: 4, group: '232.1.1.1', sources: ['192.0.2.1'], destination: '232.1.1.1' }));
  t.like(specific, { ok: true, value: { general: false, group: '232.1.1.1', sources: ['192.0.2.1'] } });
  t.like(decodeMembershipQuery(encodeMembershipReport({ family: 4, records: [] })), { ok: false, reason: 'type' });
  t.like(decodeMembershipReport(encodeMembershipQuery({ family: 6 })), { ok: false, reason: 'type' });
});

test('QQIC codes: below 128 the value, above the floating-point form', (t) => {
  t.is(qqicSeconds(125), 125);
  t.is(qqicSeconds(0x80), 128); // mantissa 0, exponent 0: 0x10 << 3
  t.is(qqicSeconds(0x8f), 248);
  t.is(qqicSeconds(0xff), 31744); // (0x1f) << 10
});

test('broken datagrams are named, never thrown', (t) => {
  const good4 = encodeMembershipReport({ family: 4, records: V4_RECORDS });
  const good6 = encodeMembershipReport({ family: 6, records: V6_RECORDS });
  const mutate = (b: Buffer, f: (c: Buffer) => void): Buffer => {
    const c = Buffer.from(b);
    f(c);
    return c;
  };
  const cases: Array<[string, Buffer, string]> = [
    ['empty', Buffer.alloc(0), 'short'],
    ['IP version 5', mutate(good4, (c) => (c[0] = 0x56)), 'ip-header'],
    ['IPv4 header checksum wrong', mutate(good4, (c) => (c[10] = (c[10] as number) ^ 1)), 'ip-header'],
    ['IGMP checksum wrong', mutate(good4, (c) => (c[c.length - 1] = (c[c.length - 1] as number) ^ 1)), 'checksum'],
    ['IPv4 total length beyond the bytes', good4.subarray(0, good4.length - 4), 'short'],
    ['IPv4 fragment (MF)', mutate(good4, (c) => ((c[6] = 0x20), c.writeUInt16BE(0, 10), c.writeUInt16BE(internetChecksum(c, 0, 24), 10))), 'fragment'],
    ['not IGMP', ipv4Packet({ source: '0.0.0.0', destination: '224.0.0.22', protocol: 17, payload: good4.subarray(24) }), 'protocol'],
    ['MLD checksum wrong', mutate(good6, (c) => (c[c.length - 1] = (c[c.length - 1] as number) ^ 1)), 'checksum'],
    ['IPv6 payload length beyond the bytes', good6.subarray(0, good6.length - 1), 'short'],
    ['IPv6 without ICMPv6', ipv6Packet({ source: '::', destination: 'ff02::16', nextHeader: 17, payload: Buffer.alloc(8) }), 'protocol'],
  ];
  for (const [name, bytes, reason] of cases) {
    const d = decodeMembershipReport(bytes);
    t.like(d, { ok: false, reason }, name);
  }
  // A record count larger than the records present (checksum fixed up, so only the count is wrong).
  const igmp = Buffer.from(good4.subarray(24));
  igmp.writeUInt16BE(V4_RECORDS.length + 1, 6);
  igmp.writeUInt16BE(0, 2);
  igmp.writeUInt16BE(internetChecksum(igmp), 2);
  const overcount = ipv4Packet({ source: '0.0.0.0', destination: '224.0.0.22', protocol: 2, payload: igmp });
  t.like(decodeMembershipReport(overcount), { ok: false, reason: 'length' });
});
