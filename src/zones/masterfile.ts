// RFC 1035 §5 master file reader: $ORIGIN, $TTL (RFC 2308), $INCLUDE, `@`, relative
// names, inherited owners, TTL/class in either order, and RFC 3597 generic rdata.

import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { formatLabels, lowercaseLabels, parseName } from '../dns/rr/name.ts';
import { typeCode, typeName } from '../dns/rr/types.ts';
import { ZoneFileError } from './errors.ts';
import { tokenize, type Entry, type Token } from './lexer.ts';
import { isGenericRdata, parseGenericRdata, parseRdataText, RdataError, resolveName, TEXT_TYPES } from './rdata-text.ts';
import { parseTtl } from './ttl.ts';

export { ZoneFileError } from './errors.ts';

export type ZoneRecord = {
  /** Lowercase, absolute, no trailing dot ('' is the root); RFC 1035 escapes for odd bytes. */
  name: string;
  ttl: number;
  class: 'IN';
  /** 'AMTRELAY' for type 260; dns-packet's name otherwise ('UNKNOWN_n' when it has none). */
  type: string;
  /** dns-packet's data shape; AmtRelayData for AMTRELAY; Buffer for types without a shape. */
  data: unknown;
  file: string;
  line: number;
};

export type MasterFileOptions = { origin?: string; defaultTtl?: number };

/** State shared by a file and the files it includes. */
type Reader = {
  records: ZoneRecord[];
  includeStack: string[];
  defaultTtl: number | undefined;
  lastTtl: number | undefined;
  /** The first $ORIGIN of the top-level file, lowercase. */
  firstOrigin: string | undefined;
};

/** Per file: $INCLUDE gives the included file its own origin and owner (RFC 1035 §5.1). */
type FileState = { file: string; origin: Buffer[] | null; owner: string | null };

export function parseMasterFile(path: string, opts: MasterFileOptions = {}): ZoneRecord[] {
  return readMasterFile(path, opts).records;
}

/** Like parseMasterFile, also telling the first $ORIGIN of the file (not of its includes). */
export function readMasterFile(
  path: string,
  opts: MasterFileOptions = {},
): { records: ZoneRecord[]; firstOrigin: string | undefined } {
  let origin: Buffer[] | null = null;
  if (opts.origin !== undefined) {
    try {
      origin = parseName(opts.origin).labels;
    } catch (err) {
      throw new Error(`bad origin "${opts.origin}": ${(err as Error).message}`);
    }
  }
  if (opts.defaultTtl !== undefined && parseTtl(String(opts.defaultTtl)) === null) {
    throw new Error(`bad default TTL ${opts.defaultTtl}`);
  }
  const reader: Reader = { records: [], includeStack: [], defaultTtl: opts.defaultTtl, lastTtl: undefined, firstOrigin: undefined };
  readFile(reader, path, origin);
  return { records: reader.records, firstOrigin: reader.firstOrigin };
}

function readFile(reader: Reader, file: string, origin: Buffer[] | null): void {
  reader.includeStack.push(resolve(file));
  const state: FileState = { file, origin, owner: null };
  for (const entry of tokenize(readFileSync(file, 'utf8'), file)) {
    const first = entry.tokens[0]!;
    if (!entry.inheritsOwner && !first.quoted && first.text.startsWith('$')) {
      readDirective(reader, state, entry);
    } else {
      reader.records.push(readRecord(reader, state, entry));
    }
  }
  reader.includeStack.pop();
}

function readDirective(reader: Reader, state: FileState, entry: Entry): void {
  const [directive, ...args] = entry.tokens;
  const name = directive!.text.toUpperCase();
  const fail = (reason: string, token: Token = directive!): never => {
    throw new ZoneFileError(state.file, token.line, reason);
  };
  const expectArgs = (min: number, max: number) => {
    if (args.length < min) fail(`${name} needs an argument`);
    if (args.length > max) fail(`unexpected data after ${name}: "${args.slice(max).map((t) => t.text).join(' ')}"`, args[max]);
  };

  switch (name) {
    case '$ORIGIN':
      expectArgs(1, 1);
      state.origin = nameLabels(state, args[0]!);
      if (reader.includeStack.length === 1) reader.firstOrigin ??= formatLabels(lowercaseLabels(state.origin));
      return;
    case '$TTL': {
      expectArgs(1, 1);
      const ttl = parseTtl(args[0]!.text);
      if (ttl === null) fail(`bad TTL "${args[0]!.text}"`, args[0]);
      reader.defaultTtl = ttl!;
      return;
    }
    case '$INCLUDE': {
      expectArgs(1, 2);
      const target = unescapeFileName(args[0]!.text);
      const included = isAbsolute(target) ? target : join(dirname(state.file), target);
      const chain = [...reader.includeStack, resolve(included)];
      if (reader.includeStack.includes(resolve(included))) {
        fail(`$INCLUDE loop: ${chain.map((p) => basename(p)).join(' -> ')}`, args[0]);
      }
      const includedOrigin = args[1] ? nameLabels(state, args[1]) : state.origin;
      try {
        readFile(reader, included, includedOrigin);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') fail(`$INCLUDE file not found: ${included}`, args[0]);
        throw err;
      }
      return;
    }
    default:
      fail(`unknown directive "${directive!.text}"`);
  }
}

function unescapeFileName(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}

function readRecord(reader: Reader, state: FileState, entry: Entry): ZoneRecord {
  const tokens = [...entry.tokens];
  const fail = (reason: string, token?: Token): never => {
    throw new ZoneFileError(state.file, token?.line ?? entry.line, reason);
  };

  if (!entry.inheritsOwner) state.owner = formatLabels(lowercaseLabels(nameLabels(state, tokens.shift()!)));
  if (state.owner === null) fail('record has no owner name and there is no previous owner');

  let ttl: number | undefined;
  let sawClass = false;
  for (let i = 0; i < 2 && tokens.length > 0; i++) {
    const token = tokens[0]!;
    if (ttl === undefined && /^[0-9]/.test(token.text)) {
      const value = parseTtl(token.text);
      if (value === null) fail(`bad TTL "${token.text}"`, token);
      ttl = value!;
    } else if (!sawClass && /^(IN|CH|CS|HS|NONE|ANY|CLASS[0-9]+)$/i.test(token.text)) {
      if (!/^(IN|CLASS0*1)$/i.test(token.text)) fail(`unsupported class "${token.text}" (only IN)`, token);
      sawClass = true;
    } else {
      break;
    }
    tokens.shift();
  }

  const typeToken = tokens.shift();
  if (!typeToken) return fail('record has no type');
  const type = recordType(typeToken, fail);

  if (ttl !== undefined) reader.lastTtl = ttl;
  ttl ??= reader.defaultTtl ?? reader.lastTtl;
  if (ttl === undefined) fail('record has no TTL and no $TTL is set');

  let data: unknown;
  try {
    if (isGenericRdata(tokens)) data = parseGenericRdata(type, tokens);
    else if (TEXT_TYPES.has(type)) data = parseRdataText(type, tokens, state.origin);
    else fail(`${typeToken.text} rdata must use the generic \\# form`, typeToken);
  } catch (err) {
    if (err instanceof RdataError) fail(err.message, err.token ?? typeToken);
    throw err;
  }
  return { name: state.owner!, ttl: ttl!, class: 'IN', type, data, file: state.file, line: entry.line };
}

function recordType(token: Token, fail: (reason: string, token?: Token) => never): string {
  let code: number;
  try {
    code = typeCode(token.text);
  } catch {
    return fail(`unknown record type "${token.text}"`, token);
  }
  if (code === 0 || code === 41 || (code >= 128 && code <= 255)) {
    fail(`record type ${token.text} cannot appear in a zone file`, token);
  }
  return typeName(code);
}

/** Owners are stored lowercase; the origin and rdata names keep the case they are written in. */
function nameLabels(state: FileState, token: Token): Buffer[] {
  try {
    return resolveName(token.text, state.origin);
  } catch (err) {
    throw new ZoneFileError(state.file, token.line, `bad name: ${(err as Error).message}`);
  }
}
