// Addresses, the Internet checksum and the IPv4/IPv6 headers of the packets AMT carries
// (IGMP/MLD inside Query and Update) and of the packets that carry AMT (src/capture/ reuses
// these). Text addresses are what the API speaks; bytes are what the wire carries.

import { formatIpv4, formatIpv6 } from '../net/ip-text.ts';

/** The 4 bytes of a dotted-quad IPv4 address, or null if `text` is not one. */
export function parseIpv4(text: string): Buffer | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out[i] = n;
  }
  return out;
}

/** The 16 bytes of an IPv6 address in any RFC 4291 text form (with `::`, with a dotted tail), or null. */
export function parseIpv6(text: string): Buffer | null {
  if (text.length === 0 || text.length > 45) return null;
  let head = text;
  const lastColon = text.lastIndexOf(':');
  if (lastColon < 0) return null;
  if (text.includes('.', lastColon)) {
    // A dotted tail ("::ffff:192.0.2.1") stands for the last two groups.
    const tail = parseIpv4(text.slice(lastColon + 1));
    if (!tail) return null;
    head = `${text.slice(0, lastColon + 1)}${tail.readUInt16BE(0).toString(16)}:${tail.readUInt16BE(2).toString(16)}`;
  }
  const parseGroups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(Number.parseInt(g, 16));
    }
    return out;
  };
  const halves = head.split('::');
  let groups: number[];
  if (halves.length === 2) {
    const left = parseGroups(halves[0] as string);
    const right = parseGroups(halves[1] as string);
    if (!left || !right) return null;
    const missing = 8 - left.length - right.length;
    if (missing < 1) return null;
    groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  } else if (halves.length === 1) {
    const all = parseGroups(head);
    if (!all || all.length !== 8) return null;
    groups = all;
  } else {
    return null;
  }
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** 4 or 16 bytes for an IPv4 or IPv6 address in text, or null. */
export function parseIp(text: string): Buffer | null {
  return text.includes(':') ? parseIpv6(text) : parseIpv4(text);
}

export { formatIpv4, formatIpv6 };

/** Text for 4 or 16 address bytes. */
export function formatIp(b: Uint8Array, offset = 0, length = b.length - offset): string {
  return length === 4 ? formatIpv4(b, offset) : formatIpv6(b, offset);
}

/** The canonical text of an address (so that `2001:DB8::0:1` and `2001:db8::1` compare equal), or null. */
export function canonicalIp(text: string): string | null {
  const b = parseIp(text);
  return b ? formatIp(b) : null;
}

export function ipFamily(text: string): 4 | 6 | null {
  const b = parseIp(text);
  return b ? (b.length === 4 ? 4 : 6) : null;
}

/** Address bytes, or a TypeError naming the field: for encoders, whose callers pass our own values. */
export function requireIp(text: string, field: string, family?: 4 | 6): Buffer {
  const b = parseIp(text);
  if (!b) throw new TypeError(`${field}: "${text}" is not an IP address`);
  if (family === 4 && b.length !== 4) throw new TypeError(`${field}: "${text}" is not an IPv4 address`);
  if (family === 6 && b.length !== 16) throw new TypeError(`${field}: "${text}" is not an IPv6 address`);
  return b;
}

/** The 16's-complement sum of `b[start, end)` added to `initial` (not yet folded or inverted). */
export function onesSum(b: Uint8Array, start = 0, end = b.length, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += ((b[i] as number) << 8) | (b[i + 1] as number);
  if (i < end) sum += (b[i] as number) << 8;
  return sum;
}

/** The Internet checksum (RFC 1071) of a sum from onesSum: folded to 16 bits and inverted. */
export function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

export function internetChecksum(b: Uint8Array, start = 0, end = b.length, initial = 0): number {
  return finishChecksum(onesSum(b, start, end, initial));
}

/** The pseudo-header sum of UDP and ICMPv6 checksums (RFC 768, RFC 8200 §8.1). */
export function pseudoHeaderSum(source: Uint8Array, destination: Uint8Array, protocol: number, length: number): number {
  let sum = onesSum(source) + onesSum(destination) + protocol;
  if (source.length === 16) sum += Math.floor(length / 0x10000) + (length & 0xffff);
  else sum += length;
  return sum;
}

export const IPPROTO = { HOPOPTS: 0, IGMP: 2, UDP: 17, ROUTING: 43, FRAGMENT: 44, ICMPV6: 58, DSTOPTS: 60 } as const;

export interface Ipv4PacketFields {
  source: string;
  destination: string;
  protocol: number;
  payload: Uint8Array;
  ttl?: number;
  tos?: number;
  id?: number;
  dontFragment?: boolean;
  /** Raw option bytes, padded here to a multiple of 4. */
  options?: Uint8Array;
}

/** An IPv4 packet with a correct header checksum. */
export function ipv4Packet(f: Ipv4PacketFields): Buffer {
  const options = f.options ?? new Uint8Array(0);
  const optLen = Math.ceil(options.length / 4) * 4;
  const headerLen = 20 + optLen;
  if (headerLen > 60) throw new RangeError(`IPv4 options of ${options.length} bytes do not fit in a header`);
  const total = headerLen + f.payload.length;
  if (total > 0xffff) throw new RangeError(`IPv4 packet of ${total} bytes is too long`);
  const p = Buffer.alloc(total);
  p[0] = 0x40 | (headerLen / 4);
  p[1] = f.tos ?? 0;
  p.writeUInt16BE(total, 2);
  p.writeUInt16BE(f.id ?? 0, 4);
  p.writeUInt16BE(f.dontFragment ? 0x4000 : 0, 6);
  p[8] = f.ttl ?? 64;
  p[9] = f.protocol;
  requireIp(f.source, 'source', 4).copy(p, 12);
  requireIp(f.destination, 'destination', 4).copy(p, 16);
  Buffer.from(options).copy(p, 20);
  p.writeUInt16BE(internetChecksum(p, 0, headerLen), 10);
  Buffer.from(f.payload).copy(p, headerLen);
  return p;
}

export interface Ipv6PacketFields {
  source: string;
  destination: string;
  /** The Next Header of the fixed header: the first extension header's type, or the payload's protocol. */
  nextHeader: number;
  /** Extension headers (already framed) followed by the upper-layer payload. */
  payload: Uint8Array;
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
}

export function ipv6Packet(f: Ipv6PacketFields): Buffer {
  if (f.payload.length > 0xffff) throw new RangeError(`IPv6 payload of ${f.payload.length} bytes needs a jumbogram`);
  const p = Buffer.alloc(40 + f.payload.length);
  const tc = f.trafficClass ?? 0;
  const flow = f.flowLabel ?? 0;
  p.writeUInt32BE(((6 << 28) | (tc << 20) | (flow & 0xfffff)) >>> 0, 0);
  p.writeUInt16BE(f.payload.length, 4);
  p[6] = f.nextHeader;
  p[7] = f.hopLimit ?? 64;
  requireIp(f.source, 'source', 6).copy(p, 8);
  requireIp(f.destination, 'destination', 6).copy(p, 24);
  Buffer.from(f.payload).copy(p, 40);
  return p;
}

/** A UDP datagram (header and payload) with its checksum computed over the pseudo-header. */
export function udpDatagram(source: string, destination: string, sourcePort: number, destinationPort: number, payload: Uint8Array): Buffer {
  const src = requireIp(source, 'source');
  const dst = requireIp(destination, 'destination');
  if (src.length !== dst.length) throw new TypeError(`UDP between ${source} and ${destination}: the families differ`);
  const len = 8 + payload.length;
  if (len > 0xffff) throw new RangeError(`UDP datagram of ${len} bytes is too long`);
  const d = Buffer.alloc(len);
  d.writeUInt16BE(sourcePort, 0);
  d.writeUInt16BE(destinationPort, 2);
  d.writeUInt16BE(len, 4);
  Buffer.from(payload).copy(d, 8);
  const sum = internetChecksum(d, 0, len, pseudoHeaderSum(src, dst, IPPROTO.UDP, len));
  // RFC 768: a computed zero is sent as all ones (zero means "no checksum").
  d.writeUInt16BE(sum === 0 ? 0xffff : sum, 6);
  return d;
}

/** A complete IPv4 or IPv6 packet carrying one UDP datagram (the family follows the addresses). */
export function udpPacket(f: { source: string; destination: string; sourcePort: number; destinationPort: number; payload: Uint8Array; ttl?: number; id?: number }): Buffer {
  const udp = udpDatagram(f.source, f.destination, f.sourcePort, f.destinationPort, f.payload);
  if (ipFamily(f.source) === 4) return ipv4Packet({ source: f.source, destination: f.destination, protocol: IPPROTO.UDP, payload: udp, ttl: f.ttl, id: f.id });
  return ipv6Packet({ source: f.source, destination: f.destination, nextHeader: IPPROTO.UDP, payload: udp, hopLimit: f.ttl });
}
