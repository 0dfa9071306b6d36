/**
 * How field bytes become values, shared by the compiled readers and the generic field walk.
 *
 * Value types: integers, floats and timestamps are numbers (64-bit integers are exact up to
 * 2^53 - 1; above that the nearest double is kept and the decoder counts `imprecise`);
 * addresses are strings (dotted IPv4, RFC 5952 IPv6, colon-separated MAC); `string` is UTF-8,
 * without the trailing NUL octets exporters pad fixed-length strings with (as libfixbuf reads them);
 * booleans are booleans; everything else (octetArray, RFC 6313 lists, enterprise and unknown
 * elements) is a copy of the bytes, so no value aliases the caller's receive buffer.
 */
import type { IeType } from './information-elements.ts';
import { formatIpv4, formatIpv6 } from '../net/ip-text.ts';

export type FieldValue = number | string | boolean | Buffer;

/** Seconds between the NTP epoch (1900) and the Unix epoch (1970). */
export const NTP_UNIX_OFFSET = 2208988800;

/** 2^53 / 2^32: a 64-bit integer whose high word reaches this is no longer exact as a double. */
export const UNSAFE_HIGH_WORD = 0x200000;

export interface ValueStats {
  /** 64-bit integers that did not fit in a double exactly. */
  imprecise: number;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function formatMac(b: Uint8Array, o: number): string {
  return `${HEX[b[o]]}:${HEX[b[o + 1]]}:${HEX[b[o + 2]]}:${HEX[b[o + 3]]}:${HEX[b[o + 4]]}:${HEX[b[o + 5]]}`;
}

export { formatIpv4, formatIpv6 };

/** UTF-8 text of b[from, to), less trailing NUL padding. */
export function readString(b: Buffer, from: number, to: number): string {
  while (to > from && b[to - 1] === 0) to--;
  return b.toString('utf8', from, to);
}

export function copyBytes(b: Buffer, from: number, to: number): Buffer {
  return Buffer.from(b.subarray(from, to));
}

/** RFC 7011 §6.1.9/6.1.10: NTP-format seconds and fraction, as Unix milliseconds. */
export function ntpToMs(b: Buffer, o: number): number {
  return (b.readUInt32BE(o) - NTP_UNIX_OFFSET) * 1000 + b.readUInt32BE(o + 4) / 4294967.296;
}

/** Big-endian unsigned integer of 1 to 8 bytes. */
export function readUnsigned(b: Buffer, o: number, n: number, s: ValueStats): number {
  if (n <= 4) return n === 4 ? b.readUInt32BE(o) : b.readUIntBE(o, n);
  const high = b.readUIntBE(o, n - 4);
  if (high >= UNSAFE_HIGH_WORD) s.imprecise++;
  return high * 4294967296 + b.readUInt32BE(o + n - 4);
}

/** Big-endian two's-complement integer of 1 to 8 bytes (reduced-size values keep their sign, §6.2). */
export function readSigned(b: Buffer, o: number, n: number, s: ValueStats): number {
  if (n <= 4) return n === 4 ? b.readInt32BE(o) : b.readIntBE(o, n);
  const high = b.readIntBE(o, n - 4);
  if (high >= UNSAFE_HIGH_WORD || high < -UNSAFE_HIGH_WORD) s.imprecise++;
  return high * 4294967296 + b.readUInt32BE(o + n - 4);
}

/**
 * One field's value, by type, for the generic walk (and for printing). `type` null means an
 * element driad does not know: its bytes. The length has been checked against the type when the
 * template was accepted.
 */
export function readValue(type: IeType | null, b: Buffer, o: number, n: number, s: ValueStats): FieldValue {
  switch (type) {
    case 'unsigned8':
    case 'unsigned16':
    case 'unsigned32':
    case 'unsigned64':
    case 'dateTimeSeconds':
    case 'dateTimeMilliseconds':
      return readUnsigned(b, o, n, s);
    case 'signed8':
    case 'signed16':
    case 'signed32':
    case 'signed64':
      return readSigned(b, o, n, s);
    case 'float32':
      return b.readFloatBE(o);
    case 'float64':
      return n === 4 ? b.readFloatBE(o) : b.readDoubleBE(o);
    case 'boolean':
      return b[o] === 1;
    case 'macAddress':
      return formatMac(b, o);
    case 'ipv4Address':
      return formatIpv4(b, o);
    case 'ipv6Address':
      return formatIpv6(b, o);
    case 'string':
      return readString(b, o, o + n);
    case 'dateTimeMicroseconds':
    case 'dateTimeNanoseconds':
      return ntpToMs(b, o);
    default:
      return copyBytes(b, o, o + n);
  }
}
