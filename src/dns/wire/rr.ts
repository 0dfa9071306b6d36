import { CLASS_IN } from './constants.ts';

/** Pointer to the question name, which always starts right after the 12-byte header. */
export const QNAME_POINTER = Buffer.from([0xc0, 0x0c]);

/** One resource record without its owner: TYPE, CLASS IN, TTL, RDLENGTH, RDATA. */
export function rrTail(type: number, ttl: number, rdata: Buffer): Buffer {
  const out = Buffer.allocUnsafe(10 + rdata.length);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(CLASS_IN, 2);
  out.writeUInt32BE(ttl, 4);
  out.writeUInt16BE(rdata.length, 8);
  rdata.copy(out, 10);
  return out;
}

/** An RRset as answer-section bytes: each record's tail behind the same owner bytes. */
export function withOwner(owner: Buffer, tails: Buffer[]): Buffer {
  return Buffer.concat(tails.flatMap((t) => [owner, t]));
}

/** An RRset ready to copy into a response. */
export interface WireRRset {
  /** Counts each time this RRset is sent, when someone wants to know (e.g. answers by relay). */
  sent?: { inc(): void };
  count: number;
  /** Record tails (no owner), for writing under another owner, e.g. after a CNAME. */
  tails: Buffer[];
  /** The records with the owner compressed to the question name. */
  atQname: Buffer;
  /** Additional-section records that go with this RRset (addresses of NS, MX, SRV targets), or null. */
  additional: Buffer | null;
  arcount: number;
}

export function wireRRset(tails: Buffer[]): WireRRset {
  return { count: tails.length, tails, atQname: withOwner(QNAME_POINTER, tails), additional: null, arcount: 0 };
}

/** Several RRsets as one answer section, e.g. for QTYPE ANY. */
export function joinRRsets(sets: Iterable<WireRRset>): WireRRset {
  const tails = [...sets].flatMap((s) => s.tails);
  return wireRRset(tails);
}
