// Rdata presentation text -> dns-packet data shapes, for the types driad's zone files use,
// plus the RFC 3597 generic form (`\# length hex`) for any type.

import { canonicalIPv6, parseIPv4 } from '../dns/rr/address.ts';
import { parseAmtRelayText } from '../dns/rr/amtrelay.ts';
import { checkNameLength, formatLabels, parseName } from '../dns/rr/name.ts';
import { decodeRdata } from '../dns/rr/rdata.ts';
import type { Token } from './lexer.ts';
import { parseTtl } from './ttl.ts';

export const TEXT_TYPES = new Set(['SOA', 'NS', 'A', 'AAAA', 'AMTRELAY', 'TXT', 'CNAME', 'PTR', 'MX', 'SRV', 'CAA', 'DNAME', 'DS']);

/** An rdata problem; `token` says where, for the error's line number. */
export class RdataError extends Error {
  readonly token: Token | undefined;

  constructor(reason: string, token?: Token) {
    super(reason);
    this.token = token;
  }
}

export function isGenericRdata(tokens: Token[]): boolean {
  return tokens[0]?.text === '\\#' && !tokens[0].quoted;
}

export function parseGenericRdata(type: string, tokens: Token[]): unknown {
  const [marker, lengthToken, ...hexTokens] = tokens;
  if (!lengthToken || !/^[0-9]{1,5}$/.test(lengthToken.text) || Number(lengthToken.text) > 0xffff) {
    throw new RdataError(`bad generic rdata length "${lengthToken?.text ?? ''}"`, lengthToken ?? marker);
  }
  const hex = hexTokens.map((t) => t.text).join('');
  if (!/^([0-9a-fA-F]{2})*$/.test(hex)) throw new RdataError(`bad hex in generic rdata "${hex}"`, hexTokens[0]);
  const bytes = Buffer.from(hex, 'hex');
  const length = Number(lengthToken.text);
  if (bytes.length !== length) {
    throw new RdataError(`generic rdata length is ${length} but ${bytes.length} bytes follow`, lengthToken);
  }
  try {
    return decodeRdata(type, bytes);
  } catch (err) {
    throw new RdataError(`bad ${type} rdata in generic form: ${(err as Error).message}`, lengthToken);
  }
}

export function parseRdataText(type: string, tokens: Token[], origin: Buffer[] | null): unknown {
  const fields = new Fields(type, tokens, origin);
  const data = parseFields(type, fields);
  fields.end();
  return data;
}

function parseFields(type: string, f: Fields): unknown {
  switch (type) {
    case 'A': {
      const t = f.next('address');
      if (parseIPv4(t.text) === null) throw new RdataError(`bad IPv4 address "${t.text}"`, t);
      return t.text;
    }
    case 'AAAA': {
      const t = f.next('address');
      const address = canonicalIPv6(t.text);
      if (address === null) throw new RdataError(`bad IPv6 address "${t.text}"`, t);
      return address;
    }
    case 'NS':
    case 'CNAME':
    case 'DNAME':
    case 'PTR':
      return f.name('target name');
    case 'DS': {
      const keyTag = f.number('DS key tag', 0xffff);
      const algorithm = f.number('DS algorithm', 0xff);
      const digestType = f.number('DS digest type', 0xff);
      const hex = f.rest().map((t) => t.text).join('');
      if (hex === '' || !/^([0-9a-fA-F]{2})+$/.test(hex)) throw new RdataError(`bad DS digest "${hex}" (hexadecimal)`);
      return { keyTag, algorithm, digestType, digest: Buffer.from(hex, 'hex') };
    }
    case 'SOA':
      return {
        mname: f.name('SOA mname'),
        rname: f.name('SOA rname'),
        serial: f.number('SOA serial', 0xffffffff),
        refresh: f.ttl('SOA refresh'),
        retry: f.ttl('SOA retry'),
        expire: f.ttl('SOA expire'),
        minimum: f.ttl('SOA minimum'),
      };
    case 'TXT': {
      const strings = [f.characterString('TXT string')];
      while (f.hasMore()) strings.push(f.characterString('TXT string'));
      return strings;
    }
    case 'MX':
      return { preference: f.number('MX preference', 0xffff), exchange: f.name('MX exchange') };
    case 'SRV':
      return {
        priority: f.number('SRV priority', 0xffff),
        weight: f.number('SRV weight', 0xffff),
        port: f.number('SRV port', 0xffff),
        target: f.name('SRV target'),
      };
    case 'CAA': {
      const flags = f.number('CAA flags', 0xff);
      const tag = f.next('CAA tag');
      if (!/^[a-zA-Z0-9]{1,255}$/.test(tag.text)) throw new RdataError(`bad CAA tag "${tag.text}"`, tag);
      const value = f.characterString('CAA value', Infinity).toString('utf8');
      return { flags, tag: tag.text, value, issuerCritical: (flags & 0x80) !== 0 };
    }
    case 'AMTRELAY': {
      const tokens = f.rest();
      try {
        return parseAmtRelayText(
          tokens.map((t) => t.text),
          f.origin === null ? undefined : formatLabels(f.origin),
        );
      } catch (err) {
        throw new RdataError((err as Error).message, tokens[0]);
      }
    }
    default:
      throw new RdataError(`${type} rdata must use the generic \\# form`);
  }
}

class Fields {
  readonly origin: Buffer[] | null;
  readonly #type: string;
  readonly #tokens: Token[];
  #next = 0;

  constructor(type: string, tokens: Token[], origin: Buffer[] | null) {
    this.#type = type;
    this.#tokens = tokens;
    this.origin = origin;
  }

  hasMore(): boolean {
    return this.#next < this.#tokens.length;
  }

  next(what: string): Token {
    const token = this.#tokens[this.#next++];
    if (!token) throw new RdataError(`${this.#type} record is missing its ${what}`, this.#tokens.at(-1));
    return token;
  }

  rest(): Token[] {
    const tokens = this.#tokens.slice(this.#next);
    this.#next = this.#tokens.length;
    return tokens;
  }

  end(): void {
    const extra = this.rest();
    if (extra.length > 0) {
      const text = extra.map((t) => t.text).join(' ');
      throw new RdataError(`unexpected data after ${this.#type} rdata: "${text}"`, extra[0]);
    }
  }

  /** A domain name, relative names completed with the origin; case is kept. */
  name(what: string): string {
    const token = this.next(what);
    try {
      return formatLabels(resolveName(token.text, this.origin));
    } catch (err) {
      throw new RdataError(`bad ${what}: ${(err as Error).message}`, token);
    }
  }

  number(what: string, max: number): number {
    const token = this.next(what);
    if (!/^[0-9]+$/.test(token.text) || Number(token.text) > max) {
      throw new RdataError(`bad ${what} "${token.text}" (0..${max})`, token);
    }
    return Number(token.text);
  }

  ttl(what: string): number {
    const token = this.next(what);
    const value = parseTtl(token.text);
    if (value === null) throw new RdataError(`bad ${what} "${token.text}"`, token);
    return value;
  }

  characterString(what: string, maxLength = 255): Buffer {
    const token = this.next(what);
    let bytes: Buffer;
    try {
      bytes = unescapeCharacterString(token.text);
    } catch (err) {
      throw new RdataError(`bad ${what}: ${(err as Error).message}`, token);
    }
    if (bytes.length > maxLength) throw new RdataError(`${what} longer than ${maxLength} bytes`, token);
    return bytes;
  }
}

/** `@` is the origin; names without a trailing dot are relative to it. */
export function resolveName(text: string, origin: Buffer[] | null): Buffer[] {
  if (text === '@') {
    if (origin === null) throw new Error('"@" used with no $ORIGIN');
    return origin;
  }
  const { labels, absolute } = parseName(text);
  if (absolute) return labels;
  if (origin === null) throw new Error(`relative name "${text}" with no $ORIGIN`);
  const full = [...labels, ...origin];
  checkNameLength(full, text);
  return full;
}

/** RFC 1035 §5.1 escapes: `\X` is X, `\DDD` is the byte with decimal value DDD. */
export function unescapeCharacterString(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x5c) {
      out.push(bytes[i]!);
      continue;
    }
    const digits = bytes.subarray(i + 1, i + 4).toString('latin1');
    if (/^[0-9]{3}$/.test(digits)) {
      if (Number(digits) > 255) throw new Error(`bad escape \\${digits}`);
      out.push(Number(digits));
      i += 3;
    } else if (i + 1 < bytes.length) {
      out.push(bytes[++i]!);
    } else {
      throw new Error('dangling backslash');
    }
  }
  return Buffer.from(out);
}
