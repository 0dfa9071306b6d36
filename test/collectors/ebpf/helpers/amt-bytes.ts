// Crafts AMT messages (RFC 7450 §5.1), the IGMPv3/MLDv2 packets they carry, and whole
// Ethernet frames for raw sends, byte by byte. Deliberately independent of src/amt/ (the codec):
// the tracker is tested against the RFC layout, not against another implementation of it.
import { isIPv4 } from 'node:net';

const u16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const u32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

export function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

export function ipv6Bytes(address: string): number[] {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const groups = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const left = groups(head);
  const right = groups(tail);
  const all = tail === undefined ? left : [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  return all.flatMap(u16);
}

/** The 16-byte form RFC 7450 uses in Query and Teardown: IPv4 as an IPv4-compatible address. */
export function carriedAddress(address: string): number[] {
  return isIPv4(address) ? [...new Array(12).fill(0), ...ipv4Bytes(address)] : ipv6Bytes(address);
}

export function checksum(bytes: number[]): number {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += (bytes[i]! << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

// --- AMT messages -------------------------------------------------------------------------

export function relayDiscovery(nonce: number): Buffer {
  return Buffer.from([0x01, 0, 0, 0, ...u32(nonce)]);
}

export function relayAdvertisement(nonce: number, relay: string): Buffer {
  const address = isIPv4(relay) ? ipv4Bytes(relay) : ipv6Bytes(relay);
  return Buffer.from([0x02, 0, 0, 0, ...u32(nonce), ...address]);
}

/** Request: P is bit 0x01 of byte 1 (RFC); `kernelShaped` sets 0x80 instead, as Linux's struct does. */
export function request(nonce: number, opts: { p?: boolean; kernelShaped?: boolean } = {}): Buffer {
  const flags = (opts.p ? 0x01 : 0) | (opts.kernelShaped ? 0x80 : 0);
  return Buffer.from([0x03, flags, 0, 0, ...u32(nonce)]);
}

/** Query: L is 0x02 and G 0x01 of byte 1 (RFC); `flags` overrides byte 1 (e.g. the kernel's 0x40/0x80). */
export function membershipQuery(
  mac: number[],
  nonce: number,
  query: Buffer,
  gateway?: { address: string; port: number },
  limit = false,
  flagsByte?: number,
): Buffer {
  const flags = flagsByte ?? ((limit ? 0x02 : 0) | (gateway ? 0x01 : 0));
  const tail = gateway ? [...u16(gateway.port), ...carriedAddress(gateway.address)] : [];
  return Buffer.from([0x04, flags, ...mac, ...u32(nonce), ...query, ...tail]);
}

export function membershipUpdate(mac: number[], nonce: number, report: Buffer): Buffer {
  return Buffer.from([0x05, 0, ...mac, ...u32(nonce), ...report]);
}

export function multicastData(packet: Buffer): Buffer {
  return Buffer.from([0x06, 0, ...packet]);
}

export function teardown(mac: number[], nonce: number, gateway: { address: string; port: number }): Buffer {
  return Buffer.from([0x07, 0, ...mac, ...u32(nonce), ...u16(gateway.port), ...carriedAddress(gateway.address)]);
}

// --- What the AMT messages carry ----------------------------------------------------------

export interface GroupRecord {
  type: number; // 1..6 (RFC 3376 §4.2.12, RFC 3810 §5.2.12)
  group: string;
  sources: string[];
}

const ROUTER_ALERT_V4 = [0x94, 0x04, 0x00, 0x00];

function ipv4Packet(src: string, dst: string, protocol: number, ttl: number, options: number[], payload: number[]): number[] {
  const ihl = 5 + options.length / 4;
  const header = [0x40 | ihl, 0, ...u16(ihl * 4 + payload.length), 0, 0, 0, 0, ttl, protocol, 0, 0,
    ...ipv4Bytes(src), ...ipv4Bytes(dst), ...options];
  const sum = checksum(header);
  header[10] = sum >> 8;
  header[11] = sum & 0xff;
  return [...header, ...payload];
}

/** An IPv4 IGMPv3 Membership Report (type 0x22) to 224.0.0.22, with Router Alert. */
export function igmpv3Report(src: string, records: GroupRecord[]): Buffer {
  const body = records.flatMap((r) => [r.type, 0, ...u16(r.sources.length), ...ipv4Bytes(r.group), ...r.sources.flatMap(ipv4Bytes)]);
  const igmp = [0x22, 0, 0, 0, 0, 0, ...u16(records.length), ...body];
  const sum = checksum(igmp);
  igmp[2] = sum >> 8;
  igmp[3] = sum & 0xff;
  return Buffer.from(ipv4Packet(src, '224.0.0.22', 2, 1, ROUTER_ALERT_V4, igmp));
}

/** An IPv4 IGMPv3 General Query (type 0x11) to 224.0.0.1, as a relay puts in a Membership Query. */
export function igmpv3GeneralQuery(src: string): Buffer {
  const igmp = [0x11, 100, 0, 0, 0, 0, 0, 0, 0x02, 125, 0, 0];
  const sum = checksum(igmp);
  igmp[2] = sum >> 8;
  igmp[3] = sum & 0xff;
  return Buffer.from(ipv4Packet(src, '224.0.0.1', 2, 1, ROUTER_ALERT_V4, igmp));
}

function icmpv6Checksum(src: string, dst: string, icmp: number[]): number {
  return checksum([...ipv6Bytes(src), ...ipv6Bytes(dst), ...u32(icmp.length), 0, 0, 0, 58, ...icmp]);
}

/** IPv6 header + Hop-by-Hop (Router Alert, PadN) + ICMPv6 message. */
function mldPacket(src: string, dst: string, icmp: number[]): Buffer {
  const sum = icmpv6Checksum(src, dst, icmp);
  icmp[2] = sum >> 8;
  icmp[3] = sum & 0xff;
  const hopByHop = [58, 0, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00];
  const payload = [...hopByHop, ...icmp];
  return Buffer.from([0x60, 0, 0, 0, ...u16(payload.length), 0, 1, ...ipv6Bytes(src), ...ipv6Bytes(dst), ...payload]);
}

/** An IPv6 MLDv2 Multicast Listener Report (type 143) to ff02::16. */
export function mldv2Report(src: string, records: GroupRecord[]): Buffer {
  const body = records.flatMap((r) => [r.type, 0, ...u16(r.sources.length), ...ipv6Bytes(r.group), ...r.sources.flatMap(ipv6Bytes)]);
  return mldPacket(src, 'ff02::16', [143, 0, 0, 0, 0, 0, ...u16(records.length), ...body]);
}

/** An IPv6 MLDv2 General Query (type 130) to ff02::1. */
export function mldv2GeneralQuery(src: string): Buffer {
  return mldPacket(src, 'ff02::1', [130, 0, 0, 0, ...u16(1000), 0, 0, ...new Array(16).fill(0), 0x02, 125, 0, 0]);
}

/** A multicast UDP datagram (IPv4) as a relay forwards it inside Multicast Data. */
export function ipv4MulticastUdp(src: string, group: string, payloadBytes: number): Buffer {
  const payload = new Array(payloadBytes).fill(0).map((_, i) => i & 0xff);
  const udp = [...u16(5000), ...u16(5001), ...u16(8 + payload.length), 0, 0, ...payload];
  return Buffer.from(ipv4Packet(src, group, 17, 64, [], udp));
}

// --- Whole frames, for raw sends ------------------------------------------------------------

export interface FrameOpts {
  srcMac: string;
  dstMac: string;
  /** Outer first: e.g. [{tpid: 0x88a8, vid: 200}, {tpid: 0x8100, vid: 100}]. */
  vlans?: { tpid: number; vid: number }[];
}

const macBytes = (mac: string) => mac.split(':').map((h) => parseInt(h, 16));

function ethernet(opts: FrameOpts, ethertype: number, payload: number[]): Buffer {
  const tags = (opts.vlans ?? []).flatMap((v) => [...u16(v.tpid), ...u16(v.vid & 0x0fff)]);
  return Buffer.from([...macBytes(opts.dstMac), ...macBytes(opts.srcMac), ...tags, ...u16(ethertype), ...payload]);
}

function udpHeader(sport: number, dport: number, length: number, sum = 0): number[] {
  return [...u16(sport), ...u16(dport), ...u16(length), ...u16(sum)];
}

function udpChecksumV6(src: string, dst: string, udp: number[]): number {
  const sum = checksum([...ipv6Bytes(src), ...ipv6Bytes(dst), ...u32(udp.length), 0, 0, 0, 17, ...udp]);
  return sum === 0 ? 0xffff : sum;
}

export interface Endpoints {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

/** Ethernet + IPv4 (optional IP options, a multiple of 4 bytes) + UDP (checksum 0: none) + payload. */
export function ipv4UdpFrame(frame: FrameOpts, ep: Endpoints, payload: Buffer, ipOptions: number[] = []): Buffer {
  const udp = [...udpHeader(ep.sport, ep.dport, 8 + payload.length), ...payload];
  return ethernet(frame, 0x0800, ipv4Packet(ep.src, ep.dst, 17, 64, ipOptions, udp));
}

/** An IPv6 extension header (Hop-by-Hop 0, Destination Options 60, Routing 43): PadN-filled. */
export function ipv6Option(next: number, lengthUnits = 0): number[] {
  const size = (lengthUnits + 1) * 8;
  return [next, lengthUnits, 0x01, size - 4, ...new Array(size - 4).fill(0)];
}

/**
 * Ethernet + IPv6 + extension headers + UDP (with its checksum) + payload. `ext` lists
 * [header type, its bytes without the next-header byte filled in]; the chain is linked here.
 */
export function ipv6UdpFrame(frame: FrameOpts, ep: Endpoints, payload: Buffer, ext: { type: number; lengthUnits?: number }[] = []): Buffer {
  const udp = [...udpHeader(ep.sport, ep.dport, 8 + payload.length), ...payload];
  const sum = udpChecksumV6(ep.src, ep.dst, udp);
  udp[6] = sum >> 8;
  udp[7] = sum & 0xff;
  const headers = ext.map((h, i) => ipv6Option(i + 1 < ext.length ? ext[i + 1]!.type : 17, h.lengthUnits ?? 0));
  const first = ext.length ? ext[0]!.type : 17;
  const body = [...headers.flat(), ...udp];
  return ethernet(frame, 0x86dd, [0x60, 0, 0, 0, ...u16(body.length), first, 64, ...ipv6Bytes(ep.src), ...ipv6Bytes(ep.dst), ...body]);
}

/**
 * One UDP datagram over IPv6 cut into two fragments (RFC 8200 §4.5): the first carries the
 * UDP header and `firstBytes` of the payload (a multiple of 8 less the 8-byte UDP header).
 */
export function ipv6UdpFragments(frame: FrameOpts, ep: Endpoints, payload: Buffer, firstBytes: number, id: number): [Buffer, Buffer] {
  const udp = [...udpHeader(ep.sport, ep.dport, 8 + payload.length), ...payload];
  const sum = udpChecksumV6(ep.src, ep.dst, udp);
  udp[6] = sum >> 8;
  udp[7] = sum & 0xff;
  const cut = 8 + firstBytes;
  if (cut % 8) throw new Error('the first fragment must end on an 8-byte boundary');
  const fragment = (offset: number, more: boolean, data: number[]) => {
    const fragHeader = [17, 0, ...u16((offset / 8) << 3 | (more ? 1 : 0)), ...u32(id)];
    const body = [...fragHeader, ...data];
    return ethernet(frame, 0x86dd, [0x60, 0, 0, 0, ...u16(body.length), 44, 64, ...ipv6Bytes(ep.src), ...ipv6Bytes(ep.dst), ...body]);
  };
  return [fragment(0, true, udp.slice(0, cut)), fragment(cut, false, udp.slice(cut))];
}
