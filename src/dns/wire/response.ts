import { HEADER_SIZE } from './constants.ts';
import { fillSoaPointers, type NegativeSoa } from './negative-soa.ts';
import type { Query } from './query.ts';

/** What to answer, as prepared wire sections; the writer only copies bytes. */
export interface Reply {
  /** Full rcode; values above 15 go into the OPT record's extended rcode (e.g. BADVERS). */
  rcode: number;
  authoritative: boolean;
  /** Answer RRs, owners already encoded (usually the pointer 0xC00C to the question name). */
  answer: Buffer | null;
  ancount: number;
  /** SOA for negative answers: a pointer to `soaOwnerOffset` (the origin in the question), then the record's tail. */
  soa: NegativeSoa | null;
  soaOwnerOffset: number;
  /** Prepared authority records (a referral's NS RRset, or an SOA whose owner is written out). */
  authority: Buffer | null;
  nscount: number;
  /** Prepared additional records (glue, addresses of NS/MX/SRV targets), before our OPT. */
  additional: Buffer | null;
  arcount: number;
  /** Glue that must fit or the answer is truncated (RFC 9471); other additional data is left out instead. */
  additionalRequired: boolean;
  /** EDNS options for our OPT record (e.g. the Client Subnet echo); null for none. */
  ednsOptions: Buffer | null;
  /** Why the query was refused as malformed, for the bad-input log; absent for normal answers. */
  problem?: string;
}

const OPT_SIZE = 11;
const QR = 0x8000;
const AA = 0x0400;
const TC = 0x0200;

export interface WriteOptions {
  /** Largest message this transport may carry: the client's UDP size, or 65535 on TCP. */
  limit: number;
  /** UDP payload size we advertise in our OPT record. */
  ourUdpSize: number;
}

/** What goes out: everything, everything but optional additional data, or the question alone with TC=1. */
const Fit = { Full: 0, WithoutAdditional: 1, Truncated: 2 } as const;
type Fit = (typeof Fit)[keyof typeof Fit];

function fit(query: Query, reply: Reply, limit: number): Fit {
  const full = fullLength(query, reply);
  if (full <= limit) return Fit.Full;
  if (reply.additional && !reply.additionalRequired && full - reply.additional.length <= limit) return Fit.WithoutAdditional;
  return Fit.Truncated;
}

/** Size of the response `writeResponseAt` will write. */
export function responseLength(query: Query, reply: Reply, limit: number): number {
  switch (fit(query, reply, limit)) {
    case Fit.Full:
      return fullLength(query, reply);
    case Fit.WithoutAdditional:
      return fullLength(query, reply) - reply.additional!.length;
    case Fit.Truncated:
      return headLength(query, reply);
  }
}

/** Header, question and OPT: what a truncated response carries. */
function headLength(query: Query, reply: Reply): number {
  return query.questionEnd + (query.edns ? OPT_SIZE + (reply.ednsOptions?.length ?? 0) : 0);
}

function fullLength(query: Query, reply: Reply): number {
  return (
    headLength(query, reply) +
    (reply.answer ? reply.answer.length : 0) +
    (reply.soa ? 2 + reply.soa.tail.length : 0) +
    (reply.authority ? reply.authority.length : 0) +
    (reply.additional ? reply.additional.length : 0)
  );
}

/**
 * Writes the response at `out[offset]` and returns its length. The question is copied from the
 * query unchanged, so the client's letter case survives and pointers to offset 12 stay valid.
 * If the full response would exceed `opts.limit`, only the question goes, with TC=1 (RFC 1035 §4.2.1).
 */
export function writeResponseAt(out: Buffer, offset: number, msg: Buffer, query: Query, reply: Reply, opts: WriteOptions): number {
  const fits = fit(query, reply, opts.limit);
  const truncated = fits === Fit.Truncated;
  const additional = fits === Fit.Full ? reply.additional : null;
  let flags = QR | (query.opcode << 11) | query.echoFlags | (reply.rcode & 0xf);
  if (reply.authoritative) flags |= AA;
  if (truncated) flags |= TC;
  put16(out, offset, query.id);
  put16(out, offset + 2, flags);
  put16(out, offset + 4, query.questionEnd > HEADER_SIZE ? 1 : 0);
  put16(out, offset + 6, truncated ? 0 : reply.ancount);
  put16(out, offset + 8, truncated ? 0 : (reply.soa ? 1 : 0) + reply.nscount);
  put16(out, offset + 10, (additional ? reply.arcount : 0) + (query.edns ? 1 : 0));
  let at = copyRange(msg, HEADER_SIZE, query.questionEnd, out, offset + HEADER_SIZE);
  if (!truncated) {
    if (reply.answer) at = copyAll(reply.answer, out, at);
    if (reply.authority) at = copyAll(reply.authority, out, at);
    if (reply.soa) {
      put16(out, at, 0xc000 | reply.soaOwnerOffset);
      copyAll(reply.soa.tail, out, at + 2);
      fillSoaPointers(out, at + 2, at + 2 - offset, reply.soaOwnerOffset, reply.soa.pointers);
      at += 2 + reply.soa.tail.length;
    }
    if (additional) at = copyAll(additional, out, at);
  }
  if (query.edns) at = writeOpt(out, at, reply.rcode, opts.ourUdpSize, query.edns.dnssecOk, reply.ednsOptions);
  return at - offset;
}

// Buffer.copy's argument handling costs more than the few dozen bytes it copies here.
function copyRange(src: Buffer, start: number, end: number, out: Buffer, at: number): number {
  for (let i = start; i < end; i++) out[at++] = src[i] as number;
  return at;
}

function copyAll(src: Buffer, out: Buffer, at: number): number {
  out.set(src, at);
  return at + src.length;
}

/** A 16-bit big-endian write without Buffer's range checks: every caller writes inside a response it sized. */
function put16(out: Buffer, at: number, value: number): void {
  out[at] = value >>> 8;
  out[at + 1] = value & 0xff;
}

export function writeResponse(msg: Buffer, query: Query, reply: Reply, opts: WriteOptions): Buffer {
  const out = Buffer.allocUnsafe(responseLength(query, reply, opts.limit));
  writeResponseAt(out, 0, msg, query, reply, opts);
  return out;
}

function writeOpt(out: Buffer, offset: number, rcode: number, udpSize: number, dnssecOk: boolean, options: Buffer | null): number {
  out[offset] = 0; // root owner
  out.writeUInt16BE(41, offset + 1);
  out.writeUInt16BE(udpSize, offset + 3);
  out[offset + 5] = rcode >> 4; // extended rcode, upper 8 bits
  out[offset + 6] = 0; // EDNS version 0
  out.writeUInt16BE(dnssecOk ? 0x8000 : 0, offset + 7);
  out.writeUInt16BE(options ? options.length : 0, offset + 9);
  return offset + OPT_SIZE + (options ? options.copy(out, offset + OPT_SIZE) : 0);
}

/** The largest response a UDP client can take: its EDNS size (at least 512), capped at ours. */
export function udpLimit(query: Query, ourUdpSize: number): number {
  if (!query.edns) return 512;
  return Math.min(Math.max(query.edns.udpSize, 512), ourUdpSize);
}
