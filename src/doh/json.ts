// The JSON API (GET /resolve, /dns-query with Accept: application/dns-json): the field names of
// the widely used public DoH JSON APIs (notes §8), built by asking the same engine with a wire
// query and presenting its wire answer. Record data is in presentation (zone file) form.

import { isIP } from 'node:net';
import { decode, formatAmtRelayText, type AmtRelayData, type DriadAnswer } from '../dns/packet.ts';
import { addressWords } from '../driad/prefix.ts';
import { encodeName } from '../dns/rr/name.ts';
import { typeCode, typeName } from '../dns/rr/types.ts';

export interface JsonQuestion {
  name: string;
  type: number;
}

export interface JsonRecord {
  name: string;
  type: number;
  TTL: number;
  data: string;
}

export interface DohJson {
  Status: number;
  TC: boolean;
  RD: boolean;
  RA: boolean;
  AD: boolean;
  CD: boolean;
  Question: JsonQuestion[];
  Answer?: JsonRecord[];
  Authority?: JsonRecord[];
  Additional?: JsonRecord[];
  edns_client_subnet?: string;
}

export class JsonParamError extends Error {}

export interface JsonQuery {
  wire: Buffer;
  /** The subnet asked for, as `address/prefix`, echoed with the scope in the answer. */
  ecs: string | null;
}

const OUR_UDP_SIZE = 1232;

/** A wire query (ID 0, RD set, EDNS with DO and Client Subnet when asked) from the API's parameters. */
export function jsonQuery(params: URLSearchParams): JsonQuery {
  const nameText = params.get('name');
  if (nameText === null || nameText === '') throw new JsonParamError('name: required, e.g. name=10.95.25.69.amt.in-addr.arpa');
  const bare = nameText.endsWith('.') && nameText !== '.' ? nameText.slice(0, -1) : nameText;
  if (bare.length > 253) throw new JsonParamError(`name: longer than 253 characters (${bare.length})`);
  let qname: Buffer;
  try {
    qname = encodeName(bare === '.' ? '' : bare);
  } catch (err) {
    throw new JsonParamError(`name: ${(err as Error).message}`);
  }
  if (bare !== '.' && bare.split('.').some((l) => l.length === 0 || l.length > 63)) throw new JsonParamError('name: every label must be 1 to 63 characters');
  const typeText = params.get('type') ?? '1';
  let qtype: number;
  try {
    qtype = /^\d+$/.test(typeText) ? Number(typeText) : typeCode(typeText);
  } catch {
    throw new JsonParamError(`type: unknown record type ${JSON.stringify(typeText)} (a number or a mnemonic such as A, AAAA, AMTRELAY)`);
  }
  if (!Number.isInteger(qtype) || qtype < 1 || qtype > 65535) throw new JsonParamError(`type: must be 1 to 65535 (got ${JSON.stringify(typeText)})`);
  const flag = (key: string): boolean => {
    const v = params.get(key);
    return v !== null && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
  };
  const ecsText = params.get('edns_client_subnet');
  const ecs = ecsText ? clientSubnet(ecsText) : null;

  const header = Buffer.alloc(12);
  header.writeUInt16BE(0x0100 | (flag('cd') ? 0x0010 : 0), 2); // RD, CD
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(1, 10);
  const question = Buffer.alloc(4);
  question.writeUInt16BE(qtype, 0);
  question.writeUInt16BE(1, 2);
  const options = ecs ? ecs.option : Buffer.alloc(0);
  const opt = Buffer.alloc(11);
  opt.writeUInt16BE(41, 1);
  opt.writeUInt16BE(OUR_UDP_SIZE, 3);
  opt.writeUInt16BE(flag('do') ? 0x8000 : 0, 7);
  opt.writeUInt16BE(options.length, 9);
  return { wire: Buffer.concat([header, qname, question, opt, options]), ecs: ecs ? ecs.text : null };
}

/** `198.51.100.0/24` or `2001:db8::/48` (host bits are cleared; a bare address means the whole address). */
function clientSubnet(text: string): { option: Buffer; text: string } {
  const [address = '', prefixText] = text.split('/');
  const family = isIP(address);
  const words = addressWords(address);
  const bits = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (!words || !(prefix >= 0 && prefix <= bits)) {
    throw new JsonParamError(`edns_client_subnet: must be an address or prefix like 198.51.100.0/24 (got ${JSON.stringify(text)})`);
  }
  const full = Buffer.alloc(bits / 8);
  words.forEach((w, i) => full.writeUInt32BE(w, 4 * i));
  const bytes = full.subarray(0, Math.ceil(prefix / 8));
  if (prefix % 8) bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) & (0xff << (8 - (prefix % 8)));
  const option = Buffer.alloc(8 + bytes.length);
  option.writeUInt16BE(8, 0);
  option.writeUInt16BE(4 + bytes.length, 2);
  option.writeUInt16BE(family === 4 ? 1 : 2, 4);
  option[6] = prefix;
  bytes.copy(option, 8);
  return { option, text: `${address}/${prefix}` };
}

/** The engine's wire answer as the JSON API's object. */
export function toJson(response: Buffer, askedEcs: string | null): DohJson {
  const p = decode(response);
  const flags = response.readUInt16BE(2);
  const out: DohJson = {
    Status: (flags & 0x000f) | (extendedRcode(p.additionals ?? []) << 4),
    TC: (flags & 0x0200) !== 0,
    RD: (flags & 0x0100) !== 0,
    RA: (flags & 0x0080) !== 0,
    AD: (flags & 0x0020) !== 0,
    CD: (flags & 0x0010) !== 0,
    Question: (p.questions ?? []).map((q) => ({ name: absolute(q.name), type: typeCode(String(q.type)) })),
  };
  const answers = (p.answers ?? []).map(record);
  const authority = (p.authorities ?? []).map(record);
  const additional = (p.additionals ?? []).filter((a) => a.type !== 'OPT').map(record);
  if (answers.length) out.Answer = answers;
  if (authority.length) out.Authority = authority;
  if (additional.length) out.Additional = additional;
  if (askedEcs !== null) {
    const scope = ecsScope(response);
    out.edns_client_subnet = scope === null ? askedEcs : `${askedEcs.split('/')[0]}/${scope}`;
  }
  return out;
}

function extendedRcode(additionals: DriadAnswer[]): number {
  const opt = additionals.find((a) => a.type === 'OPT') as { extendedRcode?: number } | undefined;
  return opt?.extendedRcode ?? 0;
}

/** The scope prefix of the Client Subnet option in our OPT record, read from the wire. */
function ecsScope(response: Buffer): number | null {
  const p = decode(response);
  const opt = (p.additionals ?? []).find((a) => a.type === 'OPT') as { options?: Array<{ code: number; scopePrefixLength?: number }> } | undefined;
  const option = opt?.options?.find((o) => o.code === 8);
  return option?.scopePrefixLength ?? null;
}

const absolute = (name: string): string => (name.endsWith('.') ? name : `${name}.`);

function record(answer: DriadAnswer): JsonRecord {
  const a = answer as { name: string; type: string; ttl?: number; data?: unknown };
  const type = typeCode(a.type);
  return { name: absolute(a.name), type, TTL: a.ttl ?? 0, data: present(type, a.data) };
}

/** Record data as a zone file writes it. */
function present(type: number, data: unknown): string {
  const name = typeName(type);
  switch (name) {
    case 'A':
    case 'AAAA':
      return String(data);
    case 'NS':
    case 'CNAME':
    case 'PTR':
    case 'DNAME':
      return absolute(String(data));
    case 'AMTRELAY':
      return formatAmtRelayText(data as AmtRelayData);
    case 'MX': {
      const mx = data as { preference: number; exchange: string };
      return `${mx.preference} ${absolute(mx.exchange)}`;
    }
    case 'SOA': {
      const s = data as { mname: string; rname: string; serial: number; refresh: number; retry: number; expire: number; minimum: number };
      return `${absolute(s.mname)} ${absolute(s.rname)} ${s.serial} ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`;
    }
    case 'SRV': {
      const s = data as { priority: number; weight: number; port: number; target: string };
      return `${s.priority} ${s.weight} ${s.port} ${absolute(s.target)}`;
    }
    case 'TXT':
      return (Array.isArray(data) ? data : [data]).map((s) => quoted(Buffer.isBuffer(s) ? s : Buffer.from(String(s)))).join(' ');
    case 'CAA': {
      const c = data as { flags: number; tag: string; value: string };
      return `${c.flags} ${c.tag} ${quoted(Buffer.from(c.value))}`;
    }
    case 'DS': {
      const d = data as { keyTag: number; algorithm: number; digestType: number; digest: Buffer };
      return `${d.keyTag} ${d.algorithm} ${d.digestType} ${d.digest.toString('hex').toUpperCase()}`;
    }
    default:
      if (Buffer.isBuffer(data)) return `\\# ${data.length}${data.length ? ' ' + data.toString('hex').toUpperCase() : ''}`;
      return JSON.stringify(data);
  }
}

function quoted(bytes: Buffer): string {
  let s = '"';
  for (const c of bytes) {
    if (c === 0x22 || c === 0x5c) s += '\\' + String.fromCharCode(c);
    else if (c < 0x20 || c > 0x7e) s += '\\' + String(c).padStart(3, '0');
    else s += String.fromCharCode(c);
  }
  return s + '"';
}
