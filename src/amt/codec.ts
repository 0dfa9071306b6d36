// Encoder and decoder of the RFC 7450 §5.1 messages. Bit positions are the RFC's figures:
//
//   byte 0          V (high nibble, 0) | Type (low nibble), all types
//   Request b1      Reserved (7 bits) | P (0x01)
//   Query   b1      Reserved (6 bits) | L (0x02) | G (0x01)
//   Query, Update, Teardown: bytes 2-7 Response MAC (48 bits), bytes 8-11 Request Nonce
//   Query with G=1, Teardown: last 18 bytes Gateway Port Number (2) + Gateway IP Address (16)
//
// Decoding never throws: whatever the bytes, the result is a message or a reason.

import { formatIp, formatIpv4, requireIp } from './inet.ts';
import {
  AMT_TYPE,
  AMT_TYPE_NAME,
  MAX_RESPONSE_MAC,
  MIN_ENCAPSULATED,
  type AmtDecodeResult,
  type AmtErrorReason,
  type AmtMessage,
  type GatewayEndpoint,
} from './messages.ts';

const REQUEST_P = 0x01;
const QUERY_L = 0x02;
const QUERY_G = 0x01;
// Where Linux's bitfield structs put the same flags on little-endian machines (notes §6).
const KERNEL_REQUEST_P = 0x80;
const KERNEL_QUERY_L = 0x40;
const KERNEL_QUERY_G = 0x80;

const GATEWAY_FIELDS = 18;

export interface DecodeOptions {
  /**
   * Bytes that follow the fixed fields of Query, Update and Data are the encapsulated packet,
   * which decoding copies by default so the message outlives the buffer. Set to false to get
   * views into `bytes` instead (cheaper for a capture loop that is done with them at once).
   */
  copy?: boolean;
}

/** Decodes one AMT message (a UDP payload). */
export function decodeAmt(bytes: Uint8Array, options: DecodeOptions = {}): AmtDecodeResult {
  const b = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = b.length;
  if (len === 0) return fail('short', 'empty datagram');
  const version = (b[0] as number) >> 4;
  const type = (b[0] as number) & 0x0f;
  if (version !== 0) return fail('version', `version ${version}, not 0`);
  const name = AMT_TYPE_NAME[type];
  if (!name) return fail('unknown-type', `message type ${type} is not one of RFC 7450's 1-7`);
  const failT = (reason: AmtErrorReason, detail: string): AmtDecodeResult => ({ ok: false, reason, detail: `${name}: ${detail}`, type });
  const slice = (start: number, end: number): Buffer => (options.copy === false ? b.subarray(start, end) : Buffer.from(b.subarray(start, end)));
  const b1 = len > 1 ? (b[1] as number) : 0;

  switch (name) {
    case 'relay-discovery': {
      if (len < 8) return failT('short', `${len} bytes, needs 8`);
      if (len !== 8) return failT('length', `${len} bytes, must be 8`);
      if (b1 !== 0 || b[2] !== 0 || b[3] !== 0) return failT('reserved', 'reserved bytes 1-3 are not zero');
      return { ok: true, message: { type: name, nonce: b.readUInt32BE(4) } };
    }
    case 'relay-advertisement': {
      if (len < 12) return failT('short', `${len} bytes, needs 12`);
      if (len !== 12 && len !== 24) return failT('length', `${len} bytes, must be 12 (IPv4 relay) or 24 (IPv6 relay)`);
      if (b1 !== 0 || b[2] !== 0 || b[3] !== 0) return failT('reserved', 'reserved bytes 1-3 are not zero');
      return { ok: true, message: { type: name, nonce: b.readUInt32BE(4), relayAddress: formatIp(b, 8, len - 8) } };
    }
    case 'request': {
      if (len < 8) return failT('short', `${len} bytes, needs 8`);
      if (len !== 8) return failT('length', `${len} bytes, must be 8`);
      if (b[2] !== 0 || b[3] !== 0) return failT('reserved', 'reserved bytes 2-3 are not zero');
      const nonce = b.readUInt32BE(4);
      if (b1 === KERNEL_REQUEST_P) return { ok: true, message: { type: name, p: true, nonce }, deviation: 'kernel-p-flag' };
      if (b1 & ~REQUEST_P) return failT('reserved', `reserved bits of byte 1 are set (0x${hex2(b1)})`);
      return { ok: true, message: { type: name, p: (b1 & REQUEST_P) !== 0, nonce } };
    }
    case 'membership-query': {
      if (len < 12) return failT('short', `${len} bytes, needs 12 and the encapsulated packet`);
      let limited: boolean;
      let hasGateway: boolean;
      let kernel = false;
      if ((b1 & 0x3f) === 0 && (b1 & 0xc0) !== 0) {
        kernel = true;
        limited = (b1 & KERNEL_QUERY_L) !== 0;
        hasGateway = (b1 & KERNEL_QUERY_G) !== 0;
      } else if (b1 & ~(QUERY_L | QUERY_G)) {
        return failT('reserved', `reserved bits of byte 1 are set (0x${hex2(b1)})`);
      } else {
        limited = (b1 & QUERY_L) !== 0;
        hasGateway = (b1 & QUERY_G) !== 0;
      }
      const packetEnd = hasGateway ? len - GATEWAY_FIELDS : len;
      if (packetEnd - 12 < MIN_ENCAPSULATED) {
        return failT('length', `${len} bytes leave ${Math.max(0, packetEnd - 12)} for the encapsulated packet${hasGateway ? ' (G=1: the last 18 are the gateway fields)' : ''}, needs ${MIN_ENCAPSULATED}`);
      }
      const message: AmtMessage = {
        type: name,
        limited,
        responseMac: readMac(b, 2),
        nonce: b.readUInt32BE(8),
        packet: slice(12, packetEnd),
        gateway: hasGateway ? readGateway(b, packetEnd) : null,
      };
      return kernel ? { ok: true, message, deviation: 'kernel-query-flags' } : { ok: true, message };
    }
    case 'membership-update': {
      if (len < 12) return failT('short', `${len} bytes, needs 12 and the encapsulated packet`);
      if (b1 !== 0) return failT('reserved', `reserved byte 1 is 0x${hex2(b1)}`);
      if (len - 12 < MIN_ENCAPSULATED) return failT('length', `${len} bytes leave ${len - 12} for the encapsulated packet, needs ${MIN_ENCAPSULATED}`);
      return { ok: true, message: { type: name, responseMac: readMac(b, 2), nonce: b.readUInt32BE(8), packet: slice(12, len) } };
    }
    case 'multicast-data': {
      if (len < 2) return failT('short', `${len} bytes, needs 2 and the multicast packet`);
      if (b1 !== 0) return failT('reserved', `reserved byte 1 is 0x${hex2(b1)}`);
      if (len - 2 < MIN_ENCAPSULATED) return failT('length', `${len} bytes leave ${len - 2} for the multicast packet, needs ${MIN_ENCAPSULATED}`);
      return { ok: true, message: { type: name, packet: slice(2, len) } };
    }
    case 'teardown': {
      if (len < 12 + GATEWAY_FIELDS) return failT('short', `${len} bytes, needs ${12 + GATEWAY_FIELDS}`);
      if (len !== 12 + GATEWAY_FIELDS) return failT('length', `${len} bytes, must be ${12 + GATEWAY_FIELDS}`);
      if (b1 !== 0) return failT('reserved', `reserved byte 1 is 0x${hex2(b1)}`);
      return { ok: true, message: { type: name, responseMac: readMac(b, 2), nonce: b.readUInt32BE(8), gateway: readGateway(b, 12) } };
    }
  }
}

function fail(reason: AmtErrorReason, detail: string): AmtDecodeResult {
  return { ok: false, reason, detail };
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function readMac(b: Buffer, at: number): number {
  return b.readUIntBE(at, 6);
}

function readGateway(b: Buffer, at: number): GatewayEndpoint {
  const port = b.readUInt16BE(at);
  const a = at + 2;
  // IPv4-compatible: 96 zero bits, then an IPv4 address. One in 0.0.0.0/8 is no gateway's, and
  // reading those as IPv6 keeps `::` and `::1` what they are.
  let v4compatible = b[a + 12] !== 0;
  for (let i = 0; i < 12; i++) if (b[a + i] !== 0) v4compatible = false;
  return { port, address: v4compatible ? formatIpv4(b, a + 12) : formatIp(b, a, 16) };
}

export interface EncodeOptions {
  /**
   * Put the Request's P and the Query's L/G flags where Linux's structs put them (0x80, and
   * 0x40/0x80) instead of RFC 7450's (0x01, and 0x02/0x01): what a Linux gateway or relay sends.
   */
  kernelFlags?: boolean;
}

/** Encodes one AMT message. Out-of-range fields are a RangeError or TypeError (caller's values). */
export function encodeAmt(m: AmtMessage, options: EncodeOptions = {}): Buffer {
  const kernel = options.kernelFlags === true;
  switch (m.type) {
    case 'relay-discovery': {
      const b = Buffer.alloc(8);
      b[0] = AMT_TYPE[m.type];
      b.writeUInt32BE(u32(m.nonce, 'nonce'), 4);
      return b;
    }
    case 'relay-advertisement': {
      const addr = requireIp(m.relayAddress, 'relayAddress');
      const b = Buffer.alloc(8 + addr.length);
      b[0] = AMT_TYPE[m.type];
      b.writeUInt32BE(u32(m.nonce, 'nonce'), 4);
      addr.copy(b, 8);
      return b;
    }
    case 'request': {
      const b = Buffer.alloc(8);
      b[0] = AMT_TYPE[m.type];
      if (m.p) b[1] = kernel ? KERNEL_REQUEST_P : REQUEST_P;
      b.writeUInt32BE(u32(m.nonce, 'nonce'), 4);
      return b;
    }
    case 'membership-query': {
      encapsulated(m.packet);
      const b = Buffer.alloc(12 + m.packet.length + (m.gateway ? GATEWAY_FIELDS : 0));
      b[0] = AMT_TYPE[m.type];
      b[1] = (m.limited ? (kernel ? KERNEL_QUERY_L : QUERY_L) : 0) | (m.gateway ? (kernel ? KERNEL_QUERY_G : QUERY_G) : 0);
      writeMac(b, m.responseMac);
      b.writeUInt32BE(u32(m.nonce, 'nonce'), 8);
      Buffer.from(m.packet).copy(b, 12);
      if (m.gateway) writeGateway(b, 12 + m.packet.length, m.gateway);
      return b;
    }
    case 'membership-update': {
      encapsulated(m.packet);
      const b = Buffer.alloc(12 + m.packet.length);
      b[0] = AMT_TYPE[m.type];
      writeMac(b, m.responseMac);
      b.writeUInt32BE(u32(m.nonce, 'nonce'), 8);
      Buffer.from(m.packet).copy(b, 12);
      return b;
    }
    case 'multicast-data': {
      encapsulated(m.packet);
      const b = Buffer.alloc(2 + m.packet.length);
      b[0] = AMT_TYPE[m.type];
      Buffer.from(m.packet).copy(b, 2);
      return b;
    }
    case 'teardown': {
      const b = Buffer.alloc(12 + GATEWAY_FIELDS);
      b[0] = AMT_TYPE[m.type];
      writeMac(b, m.responseMac);
      b.writeUInt32BE(u32(m.nonce, 'nonce'), 8);
      writeGateway(b, 12, m.gateway);
      return b;
    }
  }
}

function u32(n: number, field: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`${field} ${n} is not a 32-bit unsigned integer`);
  return n;
}

function writeMac(b: Buffer, mac: number): void {
  if (!Number.isInteger(mac) || mac < 0 || mac > MAX_RESPONSE_MAC) throw new RangeError(`responseMac ${mac} is not a 48-bit unsigned integer`);
  b.writeUIntBE(mac, 2, 6);
}

function writeGateway(b: Buffer, at: number, g: GatewayEndpoint): void {
  if (!Number.isInteger(g.port) || g.port < 0 || g.port > 0xffff) throw new RangeError(`gateway port ${g.port} is not a UDP port`);
  b.writeUInt16BE(g.port, at);
  const addr = requireIp(g.address, 'gateway address');
  // An IPv4 gateway is carried IPv4-compatible: 96 zero bits, then the address (§5.1.4.9.2).
  addr.copy(b, at + 2 + (addr.length === 4 ? 12 : 0));
}

function encapsulated(packet: Uint8Array): void {
  if (packet.length < MIN_ENCAPSULATED) throw new RangeError(`encapsulated packet of ${packet.length} bytes is shorter than an IP header`);
}
