/**
 * Writes classic pcap files (Ethernet link type) of UDP datagrams over IPv4 or IPv6, so that
 * real tools (tshark, softflowd -r) can read traffic the tests make up.
 */
import { isIPv6 } from 'node:net';
import { ipv4Bytes, ipv6Bytes } from '../../src/ipfix/encoder.ts';

export interface UdpPacket {
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  payload: Uint8Array;
  /** Capture time, milliseconds since the Unix epoch. */
  timeMs: number;
}

const LINKTYPE_ETHERNET = 1;

export function pcapFile(packets: UdpPacket[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  const parts: Buffer[] = [header];
  for (const p of packets) {
    const frame = ethernetFrame(p);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Math.floor(p.timeMs / 1000), 0);
    rec.writeUInt32LE(Math.round((p.timeMs % 1000) * 1000), 4);
    rec.writeUInt32LE(frame.length, 8);
    rec.writeUInt32LE(frame.length, 12);
    parts.push(rec, frame);
  }
  return Buffer.concat(parts);
}

function ethernetFrame(p: UdpPacket): Buffer {
  const v6 = isIPv6(p.src);
  const eth = Buffer.from([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, v6 ? 0x86 : 0x08, v6 ? 0xdd : 0x00]);
  const udp = Buffer.alloc(8 + p.payload.length);
  udp.writeUInt16BE(p.srcPort, 0);
  udp.writeUInt16BE(p.dstPort, 2);
  udp.writeUInt16BE(udp.length, 4);
  Buffer.from(p.payload).copy(udp, 8);
  if (v6) {
    const ip = Buffer.alloc(40);
    ip.writeUInt32BE(0x60000000, 0);
    ip.writeUInt16BE(udp.length, 4);
    ip[6] = 17;
    ip[7] = 64;
    ipv6Bytes(p.src).copy(ip, 8);
    ipv6Bytes(p.dst).copy(ip, 24);
    udp.writeUInt16BE(udpChecksum(Buffer.concat([ip.subarray(8, 40), u32(udp.length), Buffer.from([0, 0, 0, 17])]), udp), 6);
    return Buffer.concat([eth, ip, udp]);
  }
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + udp.length, 2);
  ip[8] = 64;
  ip[9] = 17;
  ipv4Bytes(p.src).copy(ip, 12);
  ipv4Bytes(p.dst).copy(ip, 16);
  ip.writeUInt16BE(checksum(ip), 10);
  udp.writeUInt16BE(udpChecksum(Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 17]), u16(udp.length)]), udp), 6);
  return Buffer.concat([eth, ip, udp]);
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function checksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i] << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function udpChecksum(pseudo: Buffer, udp: Buffer): number {
  const c = checksum(Buffer.concat([pseudo, udp]));
  return c === 0 ? 0xffff : c;
}
