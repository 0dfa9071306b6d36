// Link-layer framing around IP packets, both ways: wrapping a UDP/IP packet for a pcap file
// (Ethernet with 802.1Q/802.1ad tags, raw IP, Linux cooked v1), and unwrapping a captured frame
// (those, and Linux cooked v2, which `tcpdump -i any` writes) down to its UDP payload. The
// decoder never throws: a frame that is not UDP over IP is a reason.

import { formatIp, internetChecksum, IPPROTO, pseudoHeaderSum } from '../amt/inet.ts';
import { LINKTYPE } from './pcap.ts';

export const ETHERTYPE = { IPV4: 0x0800, IPV6: 0x86dd, VLAN: 0x8100, QINQ: 0x88a8, QINQ_OLD: 0x9100 } as const;

const DEFAULT_SOURCE_MAC = '02:00:00:00:00:01';
const DEFAULT_DESTINATION_MAC = '02:00:00:00:00:02';

function macBytes(mac: string): Buffer {
  const parts = mac.split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) throw new TypeError(`"${mac}" is not a MAC address`);
  return Buffer.from(parts.map((p) => Number.parseInt(p, 16)));
}

export interface EthernetOptions {
  sourceMac?: string;
  destinationMac?: string;
  /**
   * VLAN IDs, outermost first. One is an 802.1Q tag; with two, the outer is an 802.1ad (QinQ)
   * service tag. A number may carry priority bits above the 12-bit ID (a whole TCI).
   */
  vlans?: readonly number[];
}

/** An Ethernet II frame (no FCS) carrying an IPv4 or IPv6 packet. */
export function ethernetFrame(ipPacket: Uint8Array, o: EthernetOptions = {}): Buffer {
  const vlans = o.vlans ?? [];
  const b = Buffer.alloc(14 + 4 * vlans.length + ipPacket.length);
  macBytes(o.destinationMac ?? DEFAULT_DESTINATION_MAC).copy(b, 0);
  macBytes(o.sourceMac ?? DEFAULT_SOURCE_MAC).copy(b, 6);
  let at = 12;
  vlans.forEach((tci, i) => {
    if (!Number.isInteger(tci) || tci < 0 || tci > 0xffff) throw new RangeError(`VLAN TCI ${tci} is not 16 bits`);
    b.writeUInt16BE(i === 0 && vlans.length > 1 ? ETHERTYPE.QINQ : ETHERTYPE.VLAN, at);
    b.writeUInt16BE(tci, at + 2);
    at += 4;
  });
  b.writeUInt16BE(ipEtherType(ipPacket), at);
  Buffer.from(ipPacket).copy(b, at + 2);
  return b;
}

/** A Linux cooked (SLL v1) header and the packet, as from `tcpdump -i any` before libpcap 1.10. */
export function linuxSllFrame(ipPacket: Uint8Array, o: { packetType?: number; sourceMac?: string } = {}): Buffer {
  const b = Buffer.alloc(16 + ipPacket.length);
  b.writeUInt16BE(o.packetType ?? 0, 0); // 0: to us; 4: sent by us
  b.writeUInt16BE(1, 2); // ARPHRD_ETHER
  b.writeUInt16BE(6, 4);
  macBytes(o.sourceMac ?? DEFAULT_SOURCE_MAC).copy(b, 6);
  b.writeUInt16BE(ipEtherType(ipPacket), 14);
  Buffer.from(ipPacket).copy(b, 16);
  return b;
}

/** The packet framed for a pcap file of `linktype` (ETHERNET, RAW, LINUX_SLL, IPV4 or IPV6). */
export function frameFor(linktype: number, ipPacket: Uint8Array, o: EthernetOptions = {}): Buffer {
  switch (linktype) {
    case LINKTYPE.ETHERNET:
      return ethernetFrame(ipPacket, o);
    case LINKTYPE.LINUX_SLL:
      return linuxSllFrame(ipPacket, o);
    case LINKTYPE.RAW:
    case LINKTYPE.IPV4:
    case LINKTYPE.IPV6:
      return Buffer.from(ipPacket);
    default:
      throw new RangeError(`link type ${linktype} is not one this writer frames`);
  }
}

function ipEtherType(p: Uint8Array): number {
  const v = p.length > 0 ? (p[0] as number) >> 4 : 0;
  if (v === 4) return ETHERTYPE.IPV4;
  if (v === 6) return ETHERTYPE.IPV6;
  throw new TypeError(`packet of IP version ${v} cannot be framed`);
}

// ---------------------------------------------------------------------------------------------
// Decoding

export interface UdpFrame {
  /** VLAN IDs (12 bits) found in the Ethernet header, outermost first. */
  vlans: number[];
  family: 4 | 6;
  source: string;
  destination: string;
  ttl: number;
  sourcePort: number;
  destinationPort: number;
  /** The UDP payload (a view into the frame). */
  payload: Buffer;
  /** Only with `verifyChecksum`: false when the UDP checksum is wrong; null when IPv4 sent none. */
  checksumOk?: boolean | null;
}

export type FrameErrorReason =
  | 'short'
  | 'link-type'
  | 'not-ip'
  | 'ip-header'
  /** A fragment: only the first carries the UDP header, and reassembly is not done here. */
  | 'fragment'
  | 'not-udp'
  | 'udp-length';

export type FrameResult = { ok: true; frame: UdpFrame } | { ok: false; reason: FrameErrorReason; detail: string; vlans?: number[] };

export interface FrameDecodeOptions {
  verifyChecksum?: boolean;
}

/** Unwraps a frame of a pcap `linktype` down to its UDP datagram. */
export function decodeUdpFrame(linktype: number, bytes: Uint8Array, o: FrameDecodeOptions = {}): FrameResult {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vlans: number[] = [];
  let etherType: number;
  let at: number;
  switch (linktype) {
    case LINKTYPE.ETHERNET:
      if (b.length < 14) return { ok: false, reason: 'short', detail: `Ethernet frame of ${b.length} bytes` };
      etherType = b.readUInt16BE(12);
      at = 14;
      break;
    case LINKTYPE.LINUX_SLL:
      if (b.length < 16) return { ok: false, reason: 'short', detail: `Linux cooked frame of ${b.length} bytes` };
      etherType = b.readUInt16BE(14);
      at = 16;
      break;
    case LINKTYPE.LINUX_SLL2:
      if (b.length < 20) return { ok: false, reason: 'short', detail: `Linux cooked v2 frame of ${b.length} bytes` };
      etherType = b.readUInt16BE(0);
      at = 20;
      break;
    case LINKTYPE.RAW:
    case LINKTYPE.IPV4:
    case LINKTYPE.IPV6: {
      const v = b.length > 0 ? (b[0] as number) >> 4 : 0;
      etherType = v === 4 ? ETHERTYPE.IPV4 : v === 6 ? ETHERTYPE.IPV6 : 0;
      at = 0;
      if (etherType === 0) return { ok: false, reason: 'not-ip', detail: `raw packet of IP version ${v}` };
      break;
    }
    default:
      return { ok: false, reason: 'link-type', detail: `link type ${linktype} is not decoded here` };
  }
  while (etherType === ETHERTYPE.VLAN || etherType === ETHERTYPE.QINQ || etherType === ETHERTYPE.QINQ_OLD) {
    if (b.length - at < 4) return { ok: false, reason: 'short', detail: 'VLAN tag cut off', vlans };
    vlans.push(b.readUInt16BE(at) & 0x0fff);
    etherType = b.readUInt16BE(at + 2);
    at += 4;
  }
  if (etherType === ETHERTYPE.IPV4) return decodeIpv4Udp(b, at, vlans, o);
  if (etherType === ETHERTYPE.IPV6) return decodeIpv6Udp(b, at, vlans, o);
  return { ok: false, reason: 'not-ip', detail: `EtherType 0x${etherType.toString(16).padStart(4, '0')}`, vlans };
}

function decodeIpv4Udp(b: Buffer, at: number, vlans: number[], o: FrameDecodeOptions): FrameResult {
  if (b.length - at < 20) return { ok: false, reason: 'short', detail: 'IPv4 header cut off', vlans };
  if ((b[at] as number) >> 4 !== 4) return { ok: false, reason: 'ip-header', detail: `IP version ${(b[at] as number) >> 4} in an IPv4 frame`, vlans };
  const ihl = ((b[at] as number) & 0x0f) * 4;
  const total = b.readUInt16BE(at + 2);
  if (ihl < 20 || total < ihl) return { ok: false, reason: 'ip-header', detail: `IPv4 header length ${ihl}, total length ${total}`, vlans };
  // Captures may be cut at the snaplen and carry Ethernet padding: trust the IP length, bounded by what is there.
  if (b.length - at < total) return { ok: false, reason: 'short', detail: `IPv4 total length ${total}, ${b.length - at} bytes captured`, vlans };
  const frag = b.readUInt16BE(at + 6);
  if (frag & 0x3fff) return { ok: false, reason: 'fragment', detail: 'IPv4 fragment', vlans };
  if (b[at + 9] !== IPPROTO.UDP) return { ok: false, reason: 'not-udp', detail: `IPv4 protocol ${b[at + 9]}`, vlans };
  const src = b.subarray(at + 12, at + 16);
  const dst = b.subarray(at + 16, at + 20);
  return decodeUdp(b, at + ihl, at + total, 4, src, dst, b[at + 8] as number, vlans, o);
}

function decodeIpv6Udp(b: Buffer, at: number, vlans: number[], o: FrameDecodeOptions): FrameResult {
  if (b.length - at < 40) return { ok: false, reason: 'short', detail: 'IPv6 header cut off', vlans };
  if ((b[at] as number) >> 4 !== 6) return { ok: false, reason: 'ip-header', detail: `IP version ${(b[at] as number) >> 4} in an IPv6 frame`, vlans };
  const end = at + 40 + b.readUInt16BE(at + 4);
  if (end > b.length) return { ok: false, reason: 'short', detail: `IPv6 payload length ${end - at - 40}, ${b.length - at - 40} bytes captured`, vlans };
  let next = b[at + 6] as number;
  let p = at + 40;
  while (next === IPPROTO.HOPOPTS || next === IPPROTO.ROUTING || next === IPPROTO.DSTOPTS || next === IPPROTO.FRAGMENT) {
    if (end - p < 8) return { ok: false, reason: 'short', detail: 'IPv6 extension header cut off', vlans };
    if (next === IPPROTO.FRAGMENT) {
      // A first fragment with the whole datagram in it never happens for AMT; treat any as a fragment.
      return { ok: false, reason: 'fragment', detail: 'IPv6 fragment', vlans };
    }
    const hlen = ((b[p + 1] as number) + 1) * 8;
    if (end - p < hlen) return { ok: false, reason: 'short', detail: 'IPv6 extension header cut off', vlans };
    next = b[p] as number;
    p += hlen;
  }
  if (next !== IPPROTO.UDP) return { ok: false, reason: 'not-udp', detail: `IPv6 next header ${next}`, vlans };
  return decodeUdp(b, p, end, 6, b.subarray(at + 8, at + 24), b.subarray(at + 24, at + 40), b[at + 7] as number, vlans, o);
}

function decodeUdp(b: Buffer, at: number, end: number, family: 4 | 6, src: Buffer, dst: Buffer, ttl: number, vlans: number[], o: FrameDecodeOptions): FrameResult {
  if (end - at < 8) return { ok: false, reason: 'short', detail: 'UDP header cut off', vlans };
  const len = b.readUInt16BE(at + 4);
  if (len < 8 || len > end - at) return { ok: false, reason: 'udp-length', detail: `UDP length ${len} in ${end - at} bytes`, vlans };
  const frame: UdpFrame = {
    vlans,
    family,
    source: formatIp(src),
    destination: formatIp(dst),
    ttl,
    sourcePort: b.readUInt16BE(at),
    destinationPort: b.readUInt16BE(at + 2),
    payload: b.subarray(at + 8, at + len),
  };
  if (o.verifyChecksum) {
    const sent = b.readUInt16BE(at + 6);
    frame.checksumOk = sent === 0 && family === 4 ? null : internetChecksum(b, at, at + len, pseudoHeaderSum(src, dst, IPPROTO.UDP, len)) === 0;
  }
  return { ok: true, frame };
}
