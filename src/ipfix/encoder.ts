/**
 * An IPFIX encoder (RFC 7011): Template and Options Template Sets, withdrawals, Data Sets with
 * fixed, reduced-size and variable-length fields, and messages. The tests, the J-Flow exporter
 * simulator and the benchmarks build their traffic with it. It throws on values that do not fit
 * their field: that is a bug in the caller, not input from the network.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { defaultLength, lookupIe, VARIABLE_LENGTH, type IeType } from './information-elements.ts';
import { MESSAGE_HEADER_LENGTH, SET_OPTIONS_TEMPLATE, SET_TEMPLATE } from './template.ts';
import { NTP_UNIX_OFFSET } from './values.ts';

export type EncodableValue = number | bigint | string | boolean | Uint8Array;

export interface FieldDef {
  id: number;
  pen?: number;
  /** Octets; default the element's full length, or variable for octetArray and string. */
  length?: number;
}

export interface TemplateDef {
  id: number;
  fields: FieldDef[];
  /** > 0 makes this an Options Template with that many scope fields (the first ones). */
  scopeCount?: number;
}

/** A record's values: by field position, or by element name (`ieName`) / `id` / `e<pen>.<id>`. */
export type RecordValues = EncodableValue[] | Record<string, EncodableValue | undefined>;

export interface DataSetOptions {
  /** Zero-pad the set to a multiple of 4 octets (§3.3.1), as Junos does. */
  pad?: boolean;
  /** Always use the 3-octet length form for variable-length fields (RFC 6313 §5.2 style). */
  longLengths?: boolean;
}

export interface EncodedSet {
  bytes: Buffer;
  /** Data Records in the set (0 for template sets): what the Sequence Number counts. */
  records: number;
}

function fieldLength(f: FieldDef): number {
  if (f.length !== undefined) return f.length;
  const ie = lookupIe(f.id, f.pen ?? 0);
  if (!ie) throw new Error(`field ${f.id} (PEN ${f.pen ?? 0}) needs an explicit length`);
  return defaultLength(ie.type);
}

function setHeader(id: number, body: Buffer[], pad: boolean): Buffer {
  let length = 4 + body.reduce((n, x) => n + x.length, 0);
  const padding = pad ? (4 - (length % 4)) % 4 : 0;
  length += padding;
  if (length > 65535 - MESSAGE_HEADER_LENGTH) throw new Error(`set ${id} would be ${length} octets`);
  const header = Buffer.alloc(4);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(length, 2);
  return Buffer.concat([header, ...body, Buffer.alloc(padding)]);
}

/** A Template Set, or an Options Template Set when the definitions have scope fields. */
export function encodeTemplateSet(defs: TemplateDef[], options: { pad?: boolean } = {}): EncodedSet {
  if (defs.length === 0) throw new Error('a template set needs at least one template');
  const isOptions = (defs[0].scopeCount ?? 0) > 0;
  const body: Buffer[] = [];
  for (const def of defs) {
    if (((def.scopeCount ?? 0) > 0) !== isOptions) throw new Error('templates and options templates go in different sets');
    const head = Buffer.alloc(isOptions ? 6 : 4);
    head.writeUInt16BE(def.id, 0);
    head.writeUInt16BE(def.fields.length, 2);
    if (isOptions) head.writeUInt16BE(def.scopeCount ?? 0, 4);
    body.push(head);
    for (const f of def.fields) {
      const spec = Buffer.alloc(f.pen ? 8 : 4);
      spec.writeUInt16BE((f.pen ? 0x8000 : 0) | f.id, 0);
      spec.writeUInt16BE(fieldLength(f), 2);
      if (f.pen) spec.writeUInt32BE(f.pen, 4);
      body.push(spec);
    }
  }
  return { bytes: setHeader(isOptions ? SET_OPTIONS_TEMPLATE : SET_TEMPLATE, body, options.pad ?? false), records: 0 };
}

/** Template Withdrawals (§8.1); the ID SET_TEMPLATE (2) or SET_OPTIONS_TEMPLATE (3) withdraws all of that kind. */
export function encodeWithdrawalSet(ids: number[], kind: 'template' | 'options'): EncodedSet {
  const body = ids.map((id) => {
    const r = Buffer.alloc(4);
    r.writeUInt16BE(id, 0);
    return r;
  });
  return { bytes: setHeader(kind === 'options' ? SET_OPTIONS_TEMPLATE : SET_TEMPLATE, body, false), records: 0 };
}

/** A Data Set of records described by `def`. */
export function encodeDataSet(def: TemplateDef, records: RecordValues[], options: DataSetOptions = {}): EncodedSet {
  const body: Buffer[] = [];
  for (const record of records) {
    def.fields.forEach((f, i) => {
      const length = fieldLength(f);
      const value = Array.isArray(record) ? record[i] : pick(record, f);
      if (value === undefined) throw new Error(`record for template ${def.id} has no value for field ${i + 1} (${f.id})`);
      const type = lookupIe(f.id, f.pen ?? 0)?.type ?? null;
      if (length === VARIABLE_LENGTH) {
        const bytes = variableBytes(type, value);
        if (bytes.length > 65535) throw new Error(`variable-length value of ${bytes.length} octets`);
        const prefix = bytes.length < 255 && !options.longLengths ? Buffer.from([bytes.length]) : Buffer.from([255, bytes.length >> 8, bytes.length & 0xff]);
        body.push(prefix, bytes);
      } else {
        body.push(fixedBytes(type, value, length, f.id));
      }
    });
  }
  return { bytes: setHeader(def.id, body, options.pad ?? false), records: records.length };
}

function pick(record: Record<string, EncodableValue | undefined>, f: FieldDef): EncodableValue | undefined {
  const pen = f.pen ?? 0;
  const ie = lookupIe(f.id, pen);
  if (ie && record[ie.name] !== undefined) return record[ie.name];
  return pen ? record[`e${pen}.${f.id}`] : record[String(f.id)];
}

export interface MessageFields {
  exportTime: number;
  sequence: number;
  domain: number;
  sets: Array<EncodedSet | Buffer>;
}

/** An IPFIX Message: the 16-octet header and the sets, in order. */
export function encodeMessage(m: MessageFields): Buffer {
  const sets = m.sets.map((s) => (Buffer.isBuffer(s) ? s : s.bytes));
  const length = MESSAGE_HEADER_LENGTH + sets.reduce((n, s) => n + s.length, 0);
  if (length > 65535) throw new Error(`message would be ${length} octets`);
  const header = Buffer.alloc(MESSAGE_HEADER_LENGTH);
  header.writeUInt16BE(10, 0);
  header.writeUInt16BE(length, 2);
  header.writeUInt32BE(m.exportTime >>> 0, 4);
  header.writeUInt32BE(m.sequence >>> 0, 8);
  header.writeUInt32BE(m.domain >>> 0, 12);
  return Buffer.concat([header, ...sets]);
}

/**
 * An Exporting Process's message numbering: one Sequence Number per observation domain, advanced
 * by the Data Records each message carries (§3.1).
 */
export class IpfixMessageWriter {
  readonly #sequence = new Map<number, number>();

  sequence(domain: number): number {
    return this.#sequence.get(domain) ?? 0;
  }

  /** Sets the next Sequence Number of a domain (an exporter restart sets it to 0). */
  setSequence(domain: number, value: number): void {
    this.#sequence.set(domain, value >>> 0);
  }

  message(domain: number, exportTime: number, sets: EncodedSet[]): Buffer {
    const sequence = this.sequence(domain);
    const bytes = encodeMessage({ exportTime, sequence, domain, sets });
    this.#sequence.set(domain, (sequence + sets.reduce((n, s) => n + s.records, 0)) >>> 0);
    return bytes;
  }
}

// ---------------------------------------------------------------------------------------------

function variableBytes(type: IeType | null, value: EncodableValue): Buffer {
  if (typeof value === 'string' && (type === 'string' || type === null)) return Buffer.from(value, 'utf8');
  if (value instanceof Uint8Array) return Buffer.from(value);
  throw new Error(`a variable-length ${type ?? 'unknown'} field takes a string or bytes, not ${typeof value}`);
}

function fixedBytes(type: IeType | null, value: EncodableValue, n: number, id: number): Buffer {
  const out = Buffer.alloc(n);
  switch (type) {
    case 'unsigned8':
    case 'unsigned16':
    case 'unsigned32':
    case 'unsigned64':
    case 'dateTimeSeconds':
    case 'dateTimeMilliseconds':
      writeInteger(out, toBigInt(value, id), n, false, id);
      return out;
    case 'signed8':
    case 'signed16':
    case 'signed32':
    case 'signed64':
      writeInteger(out, toBigInt(value, id), n, true, id);
      return out;
    case 'float32':
      out.writeFloatBE(Number(value), 0);
      return out;
    case 'float64':
      if (n === 4) out.writeFloatBE(Number(value), 0);
      else out.writeDoubleBE(Number(value), 0);
      return out;
    case 'boolean':
      out[0] = value ? 1 : 2;
      return out;
    case 'macAddress': {
      const parts = String(value).split(/[:-]/);
      if (parts.length !== 6) throw new Error(`field ${id}: ${String(value)} is not a MAC address`);
      parts.forEach((p, i) => (out[i] = Number.parseInt(p, 16)));
      return out;
    }
    case 'ipv4Address':
      ipv4Bytes(String(value)).copy(out);
      return out;
    case 'ipv6Address':
      ipv6Bytes(String(value)).copy(out);
      return out;
    case 'dateTimeMicroseconds':
    case 'dateTimeNanoseconds': {
      const ms = Number(value);
      const seconds = Math.floor(ms / 1000);
      out.writeUInt32BE(seconds + NTP_UNIX_OFFSET, 0);
      out.writeUInt32BE(Math.round(((ms - seconds * 1000) / 1000) * 4294967296) >>> 0, 4);
      return out;
    }
    default: {
      const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value instanceof Uint8Array ? Buffer.from(value) : null;
      if (!bytes) throw new Error(`field ${id} (${type ?? 'unknown'}) takes a string or bytes`);
      if (bytes.length > n) throw new Error(`field ${id}: ${bytes.length} octets do not fit in ${n}`);
      bytes.copy(out);
      return out;
    }
  }
}

function toBigInt(value: EncodableValue, id: number): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (typeof value === 'boolean') return value ? 1n : 0n;
  throw new Error(`field ${id} takes an integer, not ${String(value)}`);
}

/** Big-endian, in n octets: the reduced-size encoding of §6.2 when n is below the type's size. */
function writeInteger(out: Buffer, v: bigint, n: number, signed: boolean, id: number): void {
  const bits = BigInt(8 * n);
  const min = signed ? -(1n << (bits - 1n)) : 0n;
  const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
  if (v < min || v > max) throw new Error(`field ${id}: ${v} does not fit in ${n} octets`);
  let u = BigInt.asUintN(8 * n, v);
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(u & 0xffn);
    u >>= 8n;
  }
}

export function ipv4Bytes(text: string): Buffer {
  if (!isIPv4(text)) throw new Error(`${text} is not an IPv4 address`);
  return Buffer.from(text.split('.').map(Number));
}

export function ipv6Bytes(text: string): Buffer {
  if (!isIPv6(text)) throw new Error(`${text} is not an IPv6 address`);
  let head = text;
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = ipv4Bytes(v4[1]);
    tail.push((b[0] << 8) | b[1], (b[2] << 8) | b[3]);
    head = text.slice(0, -v4[1].length);
    if (head.endsWith(':') && !head.endsWith('::')) head = head.slice(0, -1);
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const parse = (s: string | undefined): number[] => (s ? s.split(':').filter((x) => x !== '').map((x) => Number.parseInt(x, 16)) : []);
  const l = parse(left);
  const r = [...parse(right), ...tail];
  const groups = right === undefined && !head.includes('::') ? [...l, ...tail] : [...l, ...new Array(8 - l.length - r.length).fill(0), ...r];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}
