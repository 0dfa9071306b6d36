// Rdata bytes (without the rdlength prefix) for precomputed answers and for zone file
// rdata given in RFC 3597 generic form. Names are written and read uncompressed.
// Data shapes are dns-packet's, plus AmtRelayData for AMTRELAY and Buffer for raw rdata.

import dnsPacket from 'dns-packet';
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './address.ts';
import { decodeAmtRelayRdata, encodeAmtRelayRdata, type AmtRelayData } from './amtrelay.ts';
import { decodeName, encodeName } from './name.ts';
import { isGenericTypeName, typeCode, typeName } from './types.ts';

type RdataCodec = { encode(data: unknown): Buffer; decode(rdata: Buffer): unknown };

type DnsPacketCodec = {
  encode: ((data: unknown) => Buffer) & { bytes: number };
  decode: ((buf: Buffer, offset?: number) => unknown) & { bytes: number };
};
// Not in dns-packet's typings, but part of its exports: the per-type rdata codecs.
const dnsPacketCodecs = dnsPacket as unknown as { record(type: string): DnsPacketCodec; unknown: DnsPacketCodec };

const CAA_ISSUER_CRITICAL = 0x80;

const nameCodec: RdataCodec = {
  encode: (data) => encodeName(expectString(data, 'domain name')),
  decode: (rdata) => {
    const r = new Reader(rdata);
    const name = r.name();
    r.end();
    return name;
  },
};

const CODECS: Record<string, RdataCodec> = {
  A: {
    encode: (data) => address(parseIPv4, data, 'IPv4'),
    decode: (rdata) => formatIPv4(new Reader(rdata).rest(4)),
  },
  AAAA: {
    encode: (data) => address(parseIPv6, data, 'IPv6'),
    decode: (rdata) => formatIPv6(new Reader(rdata).rest(16)),
  },
  NS: nameCodec,
  CNAME: nameCodec,
  PTR: nameCodec,
  DNAME: nameCodec,
  SOA: {
    encode: (data) => {
      const soa = data as Record<string, unknown>;
      const numbers = Buffer.alloc(20);
      ['serial', 'refresh', 'retry', 'expire', 'minimum'].forEach((field, i) =>
        numbers.writeUInt32BE(uint(soa[field] ?? 0, 32, `SOA ${field}`), i * 4),
      );
      return Buffer.concat([
        encodeName(expectString(soa.mname, 'SOA mname')),
        encodeName(expectString(soa.rname, 'SOA rname')),
        numbers,
      ]);
    },
    decode: (rdata) => {
      const r = new Reader(rdata);
      const soa = {
        mname: r.name(),
        rname: r.name(),
        serial: r.u32(),
        refresh: r.u32(),
        retry: r.u32(),
        expire: r.u32(),
        minimum: r.u32(),
      };
      r.end();
      return soa;
    },
  },
  TXT: {
    encode: (data) => {
      const strings = Array.isArray(data) ? data : [data];
      return Buffer.concat(strings.map((s) => characterString(s)));
    },
    decode: (rdata) => {
      const r = new Reader(rdata);
      const strings: Buffer[] = [];
      do strings.push(r.characterString());
      while (!r.done());
      return strings;
    },
  },
  MX: {
    encode: (data) => {
      const mx = data as Record<string, unknown>;
      return Buffer.concat([u16(mx.preference ?? 0, 'MX preference'), encodeName(expectString(mx.exchange, 'MX exchange'))]);
    },
    decode: (rdata) => {
      const r = new Reader(rdata);
      const mx = { preference: r.u16(), exchange: r.name() };
      r.end();
      return mx;
    },
  },
  SRV: {
    encode: (data) => {
      const srv = data as Record<string, unknown>;
      return Buffer.concat([
        u16(srv.priority ?? 0, 'SRV priority'),
        u16(srv.weight ?? 0, 'SRV weight'),
        u16(srv.port, 'SRV port'),
        encodeName(expectString(srv.target, 'SRV target')),
      ]);
    },
    decode: (rdata) => {
      const r = new Reader(rdata);
      const srv = { priority: r.u16(), weight: r.u16(), port: r.u16(), target: r.name() };
      r.end();
      return srv;
    },
  },
  CAA: {
    encode: (data) => {
      const caa = data as Record<string, unknown>;
      const flags = uint(caa.flags ?? 0, 8, 'CAA flags') | (caa.issuerCritical ? CAA_ISSUER_CRITICAL : 0);
      const tag = Buffer.from(expectString(caa.tag, 'CAA tag'), 'utf8');
      if (tag.length < 1 || tag.length > 255) throw new Error('CAA tag must be 1..255 bytes');
      return Buffer.concat([Buffer.of(flags, tag.length), tag, Buffer.from(expectString(caa.value, 'CAA value'), 'utf8')]);
    },
    decode: (rdata) => {
      const r = new Reader(rdata);
      const flags = r.u8();
      const tag = r.characterString().toString('utf8');
      const value = r.rest().toString('utf8');
      return { flags, tag, value, issuerCritical: (flags & CAA_ISSUER_CRITICAL) !== 0 };
    },
  },
  AMTRELAY: {
    encode: (data) => encodeAmtRelayRdata(data as AmtRelayData),
    decode: (rdata) => decodeAmtRelayRdata(rdata),
  },
};

/** Rdata bytes without the rdlength prefix. A Buffer with a TYPEn/UNKNOWN_n type is raw rdata. */
export function encodeRdata(type: string, data: unknown): Buffer {
  const name = typeName(typeCode(type));
  if (Buffer.isBuffer(data) && (isGenericTypeName(type) || !hasStructuredShape(name))) return Buffer.from(data);
  const codec = CODECS[name];
  if (codec) return codec.encode(data);
  const dnsPacketCodec = dnsPacketCodecs.record(name);
  if (dnsPacketCodec !== dnsPacketCodecs.unknown) return dnsPacketCodec.encode(data).subarray(2);
  throw new Error(`${name} rdata must be a Buffer`);
}

/**
 * Rdata bytes (no prefix, uncompressed names) to the data shape of `type`. Types with no
 * structured shape give a Buffer. Throws when the bytes are not valid rdata of the type.
 */
export function decodeRdata(type: string, rdata: Buffer): unknown {
  const name = typeName(typeCode(type));
  const codec = CODECS[name];
  if (codec) return codec.decode(rdata);
  if (!hasStructuredShape(name)) return Buffer.from(rdata);

  // dns-packet reads without bounds checks, so only trust it when it writes back the same bytes.
  const dnsPacketCodec = dnsPacketCodecs.record(name);
  const prefixed = Buffer.concat([u16(rdata.length, 'rdlength'), rdata]);
  let data: unknown;
  try {
    data = dnsPacketCodec.decode(prefixed, 0);
    if (dnsPacketCodec.encode(data).subarray(2).equals(rdata)) return data;
  } catch {
    // reported below
  }
  throw new Error(`${name} rdata is malformed`);
}

function hasStructuredShape(name: string): boolean {
  if (CODECS[name]) return true;
  if (name === 'OPT' || name === 'NULL') return false;
  return dnsPacketCodecs.record(name) !== dnsPacketCodecs.unknown;
}

class Reader {
  #buf: Buffer;
  #pos = 0;

  constructor(buf: Buffer) {
    this.#buf = buf;
  }

  #take(n: number): Buffer {
    if (this.#pos + n > this.#buf.length) throw new Error('rdata too short');
    const bytes = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return bytes;
  }

  u8(): number {
    return this.#take(1)[0]!;
  }
  u16(): number {
    return this.#take(2).readUInt16BE(0);
  }
  u32(): number {
    return this.#take(4).readUInt32BE(0);
  }
  name(): string {
    const { name, next } = decodeName(this.#buf, this.#pos, this.#buf.length);
    this.#pos = next;
    return name;
  }
  characterString(): Buffer {
    return Buffer.from(this.#take(this.u8()));
  }
  /** The remaining bytes; with `length`, they must be exactly that many. */
  rest(length?: number): Buffer {
    const remaining = this.#buf.length - this.#pos;
    if (length !== undefined && remaining !== length) {
      throw new Error(`rdata must be ${length} bytes, got ${remaining}`);
    }
    return Buffer.from(this.#take(remaining));
  }
  done(): boolean {
    return this.#pos === this.#buf.length;
  }
  end(): void {
    if (!this.done()) throw new Error(`trailing bytes after rdata: ${this.#buf.length - this.#pos}`);
  }
}

function expectString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`${what} must be a string`);
  return value;
}

function address(parse: (text: string) => Buffer | null, data: unknown, family: string): Buffer {
  const bytes = typeof data === 'string' ? parse(data) : null;
  if (bytes === null) throw new Error(`bad ${family} address "${String(data)}"`);
  return bytes;
}

function uint(value: unknown, bits: 8 | 16 | 32, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= 2 ** bits) {
    throw new Error(`${what} must be an integer 0..${2 ** bits - 1}, got ${String(value)}`);
  }
  return value;
}

function u16(value: unknown, what: string): Buffer {
  const buf = Buffer.alloc(2);
  buf.writeUInt16BE(uint(value, 16, what), 0);
  return buf;
}

function characterString(value: unknown): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (!Buffer.isBuffer(bytes)) throw new Error('TXT strings must be strings or Buffers');
  if (bytes.length > 255) throw new Error(`TXT string longer than 255 bytes (${bytes.length})`);
  return Buffer.concat([Buffer.of(bytes.length), bytes]);
}
