// The IP datagrams inside Membership Query and Membership Update: IPv4 with IGMP (RFC 3376 §4:
// TTL 1, the IP Router Alert option) and IPv6 with MLD (RFC 3810 §5: hop limit 1, a Hop-by-Hop
// header with the Router Alert option). Decoding never throws; encoders build the packets a
// gateway or relay sends, with every checksum right.

import { decodeIgmp, igmpv3Query, igmpv3Report, type IgmpMessage } from './igmp.ts';
import { formatIpv4, formatIpv6, internetChecksum, IPPROTO, ipv4Packet, ipv6Packet, requireIp } from './inet.ts';
import { decodeMld, mldv2Query, mldv2Report, type MldMessage } from './mld.ts';
import type { GroupRecord } from './group-records.ts';
import type { InnerResult, QueryFields } from './membership-types.ts';

export type { InnerResult, MembershipErrorReason, QueryFields } from './membership-types.ts';

/** What the IP header of an encapsulated IGMP/MLD datagram said. */
export interface IpEnvelope {
  family: 4 | 6;
  source: string;
  destination: string;
  /** TTL or hop limit (RFC 3376/3810 send 1). */
  ttl: number;
  /** The IPv4 Router Alert option (RFC 2113) or the IPv6 one with value 0, MLD (RFC 2711). */
  routerAlert: boolean;
}

export interface MembershipReport {
  /** igmpv2 and mldv1 reports arrive as one record each: IS_EX({}) for a join, TO_IN({}) for a leave. */
  protocol: 'igmpv3' | 'igmpv2' | 'mldv2' | 'mldv1';
  ip: IpEnvelope;
  records: GroupRecord[];
}

export interface MembershipQueryPacket extends QueryFields {
  protocol: 'igmpv3' | 'mldv2';
  ip: IpEnvelope;
  /** A General Query: group unspecified and no sources (RFC 3376 §4.1.9). */
  general: boolean;
}

/** Decodes the report inside a Membership Update. */
export function decodeMembershipReport(packet: Uint8Array): InnerResult<MembershipReport> {
  const inner = decodeInner(packet);
  if (!inner.ok) return inner;
  const { ip, message } = inner.value;
  if (message.kind !== 'report') return { ok: false, reason: 'type', detail: `a ${message.protocol} query, not a report` };
  return { ok: true, value: { protocol: message.protocol, ip, records: message.records } };
}

/** Decodes the query inside a Membership Query (any IGMPv3/MLDv2 query; `general` says which kind). */
export function decodeMembershipQuery(packet: Uint8Array): InnerResult<MembershipQueryPacket> {
  const inner = decodeInner(packet);
  if (!inner.ok) return inner;
  const { ip, message } = inner.value;
  if (message.kind !== 'query') return { ok: false, reason: 'type', detail: `a ${message.protocol} report, not a query` };
  const q = message.query;
  const general = (q.group === '0.0.0.0' || q.group === '::') && q.sources.length === 0;
  return { ok: true, value: { protocol: message.protocol, ip, ...q, general } };
}

type Inner = { ip: IpEnvelope; message: IgmpMessage | MldMessage };

function decodeInner(packet: Uint8Array): InnerResult<Inner> {
  const b = Buffer.isBuffer(packet) ? packet : Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  if (b.length < 1) return { ok: false, reason: 'short', detail: 'empty packet' };
  const version = (b[0] as number) >> 4;
  if (version === 4) return decodeIpv4Igmp(b);
  if (version === 6) return decodeIpv6Mld(b);
  return { ok: false, reason: 'ip-header', detail: `IP version ${version}, not 4 or 6` };
}

const RA_V4 = 148; // IP option type: copied flag + class 0 + number 20

function decodeIpv4Igmp(b: Buffer): InnerResult<Inner> {
  if (b.length < 20) return { ok: false, reason: 'short', detail: `IPv4 packet of ${b.length} bytes, needs 20` };
  const ihl = ((b[0] as number) & 0x0f) * 4;
  const total = b.readUInt16BE(2);
  if (ihl < 20) return { ok: false, reason: 'ip-header', detail: `IPv4 header length ${ihl}` };
  if (total < ihl) return { ok: false, reason: 'ip-header', detail: `IPv4 total length ${total} is less than the header's ${ihl}` };
  // RFC 7450 §5.3.3.4: the datagram may not claim more than the message holds; octets after it are ignored.
  if (total > b.length) return { ok: false, reason: 'short', detail: `IPv4 total length ${total}, but ${b.length} bytes are there` };
  if (internetChecksum(b, 0, ihl) !== 0) return { ok: false, reason: 'ip-header', detail: `IPv4 header checksum 0x${b.readUInt16BE(10).toString(16)} is wrong` };
  const frag = b.readUInt16BE(6);
  if (frag & 0x3fff) return { ok: false, reason: 'fragment', detail: 'IPv4 fragment' };
  if (b[9] !== IPPROTO.IGMP) return { ok: false, reason: 'protocol', detail: `IPv4 protocol ${b[9]}, not IGMP (2)` };
  let routerAlert = false;
  for (let at = 20; at < ihl; ) {
    const opt = b[at] as number;
    if (opt === 0) break;
    if (opt === 1) {
      at++;
      continue;
    }
    const olen = at + 1 < ihl ? (b[at + 1] as number) : 0;
    if (olen < 2 || at + olen > ihl) return { ok: false, reason: 'ip-header', detail: `IPv4 option ${opt} has length ${olen}` };
    if (opt === RA_V4 && olen === 4) routerAlert = true;
    at += olen;
  }
  const ip: IpEnvelope = { family: 4, source: formatIpv4(b, 12), destination: formatIpv4(b, 16), ttl: b[8] as number, routerAlert };
  const igmp = decodeIgmp(b, ihl, total);
  return igmp.ok ? { ok: true, value: { ip, message: igmp.value } } : igmp;
}

function decodeIpv6Mld(b: Buffer): InnerResult<Inner> {
  if (b.length < 40) return { ok: false, reason: 'short', detail: `IPv6 packet of ${b.length} bytes, needs 40` };
  const end = 40 + b.readUInt16BE(4);
  if (end === 40 && b[6] === IPPROTO.HOPOPTS) return { ok: false, reason: 'ip-header', detail: 'IPv6 payload length 0 (a jumbogram) is not an MLD packet' };
  if (end > b.length) return { ok: false, reason: 'short', detail: `IPv6 payload length ${end - 40}, but ${b.length - 40} bytes are there` };
  let next = b[6] as number;
  let at = 40;
  let routerAlert = false;
  let first = true;
  // Extension headers MLD packets carry: Hop-by-Hop (first only) and Destination Options.
  while (next === IPPROTO.HOPOPTS || next === IPPROTO.DSTOPTS || next === IPPROTO.ROUTING || next === IPPROTO.FRAGMENT) {
    if (next === IPPROTO.FRAGMENT) return { ok: false, reason: 'fragment', detail: 'IPv6 fragment' };
    if (next === IPPROTO.HOPOPTS && !first) return { ok: false, reason: 'ip-header', detail: 'Hop-by-Hop header after another extension header' };
    if (end - at < 8) return { ok: false, reason: 'short', detail: 'IPv6 extension header cut off' };
    const hlen = ((b[at + 1] as number) + 1) * 8;
    if (end - at < hlen) return { ok: false, reason: 'short', detail: 'IPv6 extension header cut off' };
    if (next !== IPPROTO.ROUTING) {
      for (let o = at + 2; o < at + hlen; ) {
        const t = b[o] as number;
        if (t === 0) {
          o++;
          continue;
        }
        if (o + 1 >= at + hlen) return { ok: false, reason: 'ip-header', detail: `IPv6 option ${t} cut off` };
        const olen = b[o + 1] as number;
        if (o + 2 + olen > at + hlen) return { ok: false, reason: 'ip-header', detail: `IPv6 option ${t} has length ${olen}` };
        if (t === 5 && olen === 2 && next === IPPROTO.HOPOPTS && b.readUInt16BE(o + 2) === 0) routerAlert = true;
        o += 2 + olen;
      }
    }
    next = b[at] as number;
    at += hlen;
    first = false;
  }
  if (next !== IPPROTO.ICMPV6) return { ok: false, reason: 'protocol', detail: `IPv6 next header ${next}, not ICMPv6 (58)` };
  const src = b.subarray(8, 24);
  const dst = b.subarray(24, 40);
  const ip: IpEnvelope = { family: 6, source: formatIpv6(b, 8), destination: formatIpv6(b, 24), ttl: b[7] as number, routerAlert };
  const mld = decodeMld(b, at, end, src, dst);
  return mld.ok ? { ok: true, value: { ip, message: mld.value } } : mld;
}

// ---------------------------------------------------------------------------------------------
// Encoders

/** IGMPv3 reports go to all IGMPv3-capable routers, MLDv2 ones to all MLDv2-capable routers. */
export const REPORT_DESTINATION = { 4: '224.0.0.22', 6: 'ff02::16' } as const;
/** General Queries go to all systems / all nodes. */
export const QUERY_DESTINATION = { 4: '224.0.0.1', 6: 'ff02::1' } as const;
/** RFC 7450 lets gateways and relays send from the unspecified address (§5.2.1, §5.3.3.3). */
export const UNSPECIFIED = { 4: '0.0.0.0', 6: '::' } as const;

// TOS 0xc0 (Internetwork Control), what IGMP hosts and routers send.
const IGMP_TOS = 0xc0;
const ROUTER_ALERT_V4 = Buffer.from([RA_V4, 4, 0, 0]);
// Hop-by-Hop header: next header (filled in), length 0 (8 bytes), Router Alert (MLD), PadN of 2.
const HOP_BY_HOP_RA = [0, 0, 5, 2, 0, 0, 1, 0];

export interface ReportFields {
  family: 4 | 6;
  records: readonly GroupRecord[];
  /** Default: the unspecified address. */
  source?: string;
  /** Default: REPORT_DESTINATION. */
  destination?: string;
}

/** An IPv4/IGMPv3 or IPv6/MLDv2 Membership Report datagram, as a gateway puts in a Membership Update. */
export function encodeMembershipReport(f: ReportFields): Buffer {
  const source = f.source ?? UNSPECIFIED[f.family];
  const destination = f.destination ?? REPORT_DESTINATION[f.family];
  if (f.family === 4) {
    return ipv4Packet({ source, destination, protocol: IPPROTO.IGMP, ttl: 1, tos: IGMP_TOS, options: ROUTER_ALERT_V4, payload: igmpv3Report(f.records) });
  }
  const mld = mldv2Report(f.records, requireIp(source, 'source', 6), requireIp(destination, 'destination', 6));
  return withHopByHop(source, destination, mld);
}

export interface QueryPacketFields extends Partial<QueryFields> {
  family: 4 | 6;
  source?: string;
  destination?: string;
}

/**
 * An IPv4/IGMPv3 or IPv6/MLDv2 Query datagram, as a relay puts in a Membership Query. The
 * defaults make the General Query RFC 7450 §5.3.3.3 asks for: Max Resp Code 1, QRV 2,
 * QQIC 125 (seconds, the IGMP/MLD default Query Interval), no group, no sources.
 */
export function encodeMembershipQuery(f: QueryPacketFields): Buffer {
  const q: QueryFields = {
    maxRespCode: f.maxRespCode ?? 1,
    group: f.group ?? UNSPECIFIED[f.family],
    suppress: f.suppress ?? false,
    qrv: f.qrv ?? 2,
    qqic: f.qqic ?? 125,
    sources: f.sources ?? [],
  };
  const source = f.source ?? UNSPECIFIED[f.family];
  const destination = f.destination ?? QUERY_DESTINATION[f.family];
  if (f.family === 4) return ipv4Packet({ source, destination, protocol: IPPROTO.IGMP, ttl: 1, tos: IGMP_TOS, options: ROUTER_ALERT_V4, payload: igmpv3Query(q) });
  return withHopByHop(source, destination, mldv2Query(q, requireIp(source, 'source', 6), requireIp(destination, 'destination', 6)));
}

function withHopByHop(source: string, destination: string, icmp: Buffer): Buffer {
  const hbh = Buffer.from(HOP_BY_HOP_RA);
  hbh[0] = IPPROTO.ICMPV6;
  return ipv6Packet({ source, destination, nextHeader: IPPROTO.HOPOPTS, hopLimit: 1, payload: Buffer.concat([hbh, icmp]) });
}

/**
 * Seconds a Querier's Query Interval Code stands for (RFC 3376 §4.1.7, RFC 3810 §5.1.9): below
 * 128 the code is the value; above, a floating-point form (mantissa | 0x10) << (exponent + 3).
 */
export function qqicSeconds(code: number): number {
  if (code < 128) return code;
  return ((code & 0x0f) | 0x10) << (((code >> 4) & 0x07) + 3);
}
