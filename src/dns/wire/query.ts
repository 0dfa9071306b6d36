import { CLASS_IN, HEADER_SIZE, QTYPE } from './constants.ts';

/** A query as the hot path needs it: header fields, the question, and the EDNS OPT record. */
export interface Query {
  id: number;
  opcode: number;
  /** RD and CD bits, copied into the response. */
  echoFlags: number;
  qname: string;
  qtype: number;
  qclass: number;
  /** Offset just past QTYPE/QCLASS: bytes [12, questionEnd) are the question, echoed verbatim. */
  questionEnd: number;
  /** Offset just past the question name's root label. */
  qnameEnd: number;
  edns: Edns | null;
  /** Where the question name's labels are, for lookups on the wire form (src/dns/wire-synthesis.ts). */
  labels: QuestionLabels;
}

export interface QuestionLabels {
  msg: Buffer;
  /** Offset of each label's length byte, first label first; `count` of them (the root not included). */
  starts: Int32Array;
  count: number;
}

const MAX_LABELS = 128;
const NO_MESSAGE = Buffer.alloc(0);

/**
 * The engine's Query, reused for every message: its `qname` text is made only when something asks
 * for it, so an answer found from the wire labels (DRIAD synthesis) builds no string at all.
 * Valid only while its message is being answered (answering is synchronous).
 */
export class WireQuery implements Query {
  id = 0;
  opcode = 0;
  echoFlags = 0;
  qtype = 0;
  qclass = 0;
  questionEnd = HEADER_SIZE;
  qnameEnd = HEADER_SIZE;
  edns: Edns | null = null;
  readonly labels: QuestionLabels = { msg: NO_MESSAGE, starts: new Int32Array(MAX_LABELS), count: 0 };
  #name: string | null = '';

  get qname(): string {
    return (this.#name ??= canonicalText(this.labels));
  }

  set qname(name: string) {
    this.#name = name;
  }

  /** The question was read: its name's text is made on first use. */
  deferName(): void {
    this.#name = null;
  }
}

export interface Edns {
  udpSize: number;
  version: number;
  dnssecOk: boolean;
  /** Raw EDNS options, code and payload, for features that read them (e.g. Client Subnet). */
  options: Array<{ code: number; data: Buffer }>;
}

export type ParseResult =
  | { ok: true; query: Query }
  /** Not worth an answer: too short for a header, or itself a response (QR=1). */
  | { ok: false; drop: true; reason: string }
  /** Answer with this rcode; `query` carries whatever could be read (at least the ID). */
  | { ok: false; drop: false; rcode: number; reason: string; query: Query };

const FORMERR = 1;
const NOTIMP = 4;
const MAX_NAME_WIRE = 255;
const scratch = Buffer.alloc(MAX_NAME_WIRE * 4);
// Each byte as the canonical text writes it (lowercased), or 0 where it needs an escape.
const PLAIN = new Uint8Array(256);
for (let c = 0x21; c <= 0x7e; c++) PLAIN[c] = c === 0x2e || c === 0x5c ? 0 : c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
// Buffer's own latin1 decoder, called directly: toString() would first look the encoding up per call.
type Latin1Slicer = { latin1Slice?: (start: number, end: number) => string };
const latin1Slice = (scratch as unknown as Latin1Slicer).latin1Slice;
const scratchText = latin1Slice ? (end: number): string => latin1Slice.call(scratch, 0, end) : (end: number): string => scratch.toString('latin1', 0, end);

export type ParseFailure = Exclude<ParseResult, { ok: true }>;

/**
 * Parses a query, reading only what answering needs. It never throws and never reads past
 * the message: every failure is a ParseResult naming the reason.
 */
export function parseQuery(msg: Buffer): ParseResult {
  const query = emptyQuery();
  return parseQueryInto(msg, query) ?? { ok: true, query };
}

export function emptyQuery(): Query {
  return {
    id: 0, opcode: 0, echoFlags: 0, qname: '', qtype: 0, qclass: 0, questionEnd: HEADER_SIZE, qnameEnd: HEADER_SIZE, edns: null,
    labels: { msg: NO_MESSAGE, starts: new Int32Array(MAX_LABELS), count: 0 },
  };
}

/**
 * parseQuery into a Query the caller reuses (the DNS engine: answering is synchronous), allocating
 * nothing for a well-formed query without EDNS options: null when `query` holds the parsed query.
 */
export function parseQueryInto(msg: Buffer, query: Query): ParseFailure | null {
  if (msg.length < HEADER_SIZE) return { ok: false, drop: true, reason: `message of ${msg.length} bytes is shorter than a header` };
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000) return { ok: false, drop: true, reason: 'message is a response (QR=1)' };

  query.id = msg.readUInt16BE(0);
  query.opcode = (flags >> 11) & 0xf;
  query.echoFlags = flags & 0x0110;
  query.qname = '';
  query.qtype = 0;
  query.qclass = 0;
  query.questionEnd = HEADER_SIZE;
  query.qnameEnd = HEADER_SIZE;
  query.edns = null;
  query.labels.msg = msg;
  query.labels.count = 0;

  const qdcount = msg.readUInt16BE(4);
  const notImplemented = query.opcode !== 0 ? `opcode ${query.opcode} is not implemented` : null;
  if (qdcount !== 1) {
    findOpt(msg, query, qdcount);
    return notImplemented ? failure(query, NOTIMP, notImplemented) : failure(query, FORMERR, `QDCOUNT is ${qdcount}, not 1`);
  }
  const questionError = readQuestion(msg, query);
  if (!questionError) {
    if (query instanceof WireQuery) query.deferName();
    else query.qname = canonicalText(query.labels);
  }
  if (questionError) {
    query.questionEnd = HEADER_SIZE;
    findOpt(msg, query, qdcount);
    return notImplemented ? failure(query, NOTIMP, notImplemented) : failure(query, FORMERR, questionError);
  }
  // For an opcode we do not implement, read on only to learn whether there was an OPT record to echo.
  const recordsError = readRecords(msg, query, query.questionEnd);
  if (notImplemented) return failure(query, NOTIMP, notImplemented);
  return recordsError ? failure(query, FORMERR, recordsError) : null;
}

function failure(query: Query, rcode: number, reason: string): ParseFailure {
  return { ok: false, drop: false, rcode, reason, query };
}

/**
 * For a message whose question cannot be answered, finds its OPT record anyway when the sections
 * can be skipped, so the error carries OPT back (RFC 6891 §7). The question is not echoed.
 */
function findOpt(msg: Buffer, query: Query, qdcount: number): void {
  let offset = HEADER_SIZE;
  for (let i = 0; i < qdcount && offset >= 0; i++) {
    const end = skipName(msg, offset);
    offset = end < 0 || end + 4 > msg.length ? -1 : end + 4;
  }
  if (offset >= 0) readRecords(msg, query, offset);
}

/**
 * Skips the answer and authority sections and reads the OPT record from the additional section.
 * `query.edns` is set as soon as an OPT record is seen, so that even a FORMERR about the OPT
 * record itself carries one back (RFC 6891 §7).
 */
function readRecords(msg: Buffer, query: Query, start: number): string | null {
  let offset = start;
  const skipCount = msg.readUInt16BE(6) + msg.readUInt16BE(8);
  for (let i = 0; i < skipCount; i++) {
    offset = skipRecord(msg, offset);
    if (offset < 0) return 'answer or authority record runs past the message';
  }
  const arcount = msg.readUInt16BE(10);
  for (let i = 0; i < arcount; i++) {
    const ownerEnd = skipName(msg, offset);
    if (ownerEnd < 0 || ownerEnd + 10 > msg.length) return 'additional record runs past the message';
    const type = msg.readUInt16BE(ownerEnd);
    const rdlength = msg.readUInt16BE(ownerEnd + 8);
    const rdata = ownerEnd + 10;
    if (type === QTYPE.OPT) {
      if (query.edns) return 'more than one OPT record';
      const ttl = msg.readUInt32BE(ownerEnd + 4);
      query.edns = {
        udpSize: msg.readUInt16BE(ownerEnd + 2),
        version: (ttl >>> 16) & 0xff,
        dnssecOk: (ttl & 0x8000) !== 0,
        options: [],
      };
      if (ownerEnd !== offset + 1 || msg[offset] !== 0) return 'OPT record owner is not the root';
      if (rdata + rdlength > msg.length) return 'OPT record data runs past the message';
      const options = readOptions(msg, rdata, rdata + rdlength);
      if (!options) return 'EDNS option runs past the OPT record';
      query.edns.options = options;
    } else if (rdata + rdlength > msg.length) {
      return 'additional record data runs past the message';
    }
    offset = rdata + rdlength;
  }
  return null;
}

/** Reads where QNAME's labels are, QTYPE and QCLASS; returns an error reason or null. */
function readQuestion(msg: Buffer, query: Query): string | null {
  const labels = query.labels;
  let offset = HEADER_SIZE;
  let count = 0;
  for (;;) {
    if (offset >= msg.length) return 'question name runs past the message';
    const len = msg[offset] as number;
    if (len === 0) break;
    if (len & 0xc0) return len >= 0xc0 ? 'compression pointer in the question name' : `label type 0x${len.toString(16)} is not supported`;
    if (offset + 1 + len > msg.length) return 'question label runs past the message';
    if (offset + 1 + len - HEADER_SIZE >= MAX_NAME_WIRE) return 'question name longer than 255 bytes';
    labels.starts[count++] = offset;
    offset += 1 + len;
  }
  labels.count = count;
  query.qnameEnd = offset + 1;
  if (query.qnameEnd + 4 > msg.length) return 'question is missing QTYPE or QCLASS';
  query.qtype = msg.readUInt16BE(query.qnameEnd);
  query.qclass = msg.readUInt16BE(query.qnameEnd + 2);
  query.questionEnd = query.qnameEnd + 4;
  return null;
}

/** The question name in driad's text form (src/dns/rr/name.ts): ASCII lowercased, '.', '\' and odd bytes escaped. */
function canonicalText(labels: QuestionLabels): string {
  const { msg, starts, count } = labels;
  let out = 0;
  for (let l = 0; l < count; l++) {
    const start = starts[l] as number;
    if (out > 0) scratch[out++] = 0x2e;
    for (let i = start + 1, end = start + 1 + (msg[start] as number); i < end; i++) {
      const c = msg[i] as number;
      const plain = PLAIN[c] as number;
      if (plain !== 0) {
        scratch[out++] = plain;
      } else if (c === 0x2e || c === 0x5c) {
        scratch[out++] = 0x5c; // keep '.' and '\' inside a label distinct from separators
        scratch[out++] = c;
      } else {
        // The same \DDD escape the zone files' names use (src/dns/rr/name.ts), so odd bytes match them.
        scratch[out++] = 0x5c;
        scratch[out++] = 0x30 + ((c / 100) | 0);
        scratch[out++] = 0x30 + (((c / 10) | 0) % 10);
        scratch[out++] = 0x30 + (c % 10);
      }
    }
  }
  return scratchText(out);
}

/** Offset just past a (possibly compressed) name, or -1. Skipping never follows pointers, so loops cannot hang it. */
function skipName(msg: Buffer, offset: number): number {
  for (let steps = 0; steps < 128; steps++) {
    if (offset >= msg.length) return -1;
    const len = msg[offset] as number;
    if (len === 0) return offset + 1;
    if ((len & 0xc0) === 0xc0) return offset + 2 <= msg.length ? offset + 2 : -1;
    if (len & 0xc0) return -1;
    offset += 1 + len;
  }
  return -1;
}

function skipRecord(msg: Buffer, offset: number): number {
  const end = skipName(msg, offset);
  if (end < 0 || end + 10 > msg.length) return -1;
  const next = end + 10 + msg.readUInt16BE(end + 8);
  return next <= msg.length ? next : -1;
}

function readOptions(msg: Buffer, start: number, end: number): Edns['options'] | null {
  const options: Edns['options'] = [];
  let offset = start;
  while (offset < end) {
    if (offset + 4 > end) return null;
    const code = msg.readUInt16BE(offset);
    const len = msg.readUInt16BE(offset + 2);
    if (offset + 4 + len > end) return null;
    options.push({ code, data: msg.subarray(offset + 4, offset + 4 + len) });
    offset += 4 + len;
  }
  return options;
}

export function isZoneTransfer(qtype: number): boolean {
  return qtype === QTYPE.AXFR || qtype === QTYPE.IXFR;
}

export function isInternetClass(qclass: number): boolean {
  return qclass === CLASS_IN;
}
