// The SOA record of a negative answer, with its names compressed (RFC 1035 §4.1.4) where they can
// be: MNAME and RNAME point into the zone's origin, which the answer already carries as the tail
// of the question name (the record's owner points there too), and RNAME may point into MNAME. That
// saves what Knot, NSD and gdnsd save, 15 bytes with the shipped zones. A pointer's value depends
// on where the record lands in the message, so `pointers` says which bytes to fill in per answer.

import { parseName } from '../rr/name.ts';
import { rrTail } from './rr.ts';
import { QTYPE } from './constants.ts';

export interface SoaPointer {
  /** Offset of the pointer's two bytes inside `tail`. */
  at: number;
  /** True: `offset` is inside the origin as the question writes it; false: inside `tail` itself. */
  intoOrigin: boolean;
  offset: number;
}

export interface NegativeSoa {
  /** TYPE through RDATA, with placeholder pointers. */
  tail: Buffer;
  pointers: SoaPointer[];
}

export interface SoaFields {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

interface Target {
  labels: string[];
  intoOrigin: boolean;
  offset: number;
}

export function negativeSoa(origin: string, ttl: number, soa: SoaFields): NegativeSoa {
  const targets: Target[] = suffixes(lower(parseName(origin).labels), true, 0);
  const pointers: SoaPointer[] = [];
  const parts: Buffer[] = [];
  let length = 0;
  const write = (labels: Buffer[]): void => {
    const keys = lower(labels);
    let stop = labels.length;
    let match: Target | undefined;
    for (let i = 0; i < labels.length && !match; i++) {
      match = targets.find((t) => sameLabels(t.labels, keys.slice(i)));
      if (match) stop = i;
    }
    const written: number[] = [];
    for (let i = 0; i < stop; i++) {
      written.push(length);
      const label = labels[i] as Buffer;
      parts.push(Buffer.of(label.length), label);
      length += 1 + label.length;
    }
    if (match) {
      pointers.push({ at: 10 + length, intoOrigin: match.intoOrigin, offset: match.offset });
      parts.push(Buffer.of(0xc0, 0));
      length += 2;
    } else {
      parts.push(Buffer.of(0));
      length += 1;
    }
    // What this name wrote can be pointed at by the next one (RNAME into MNAME).
    for (let i = 0; i < stop; i++) targets.push({ labels: keys.slice(i), intoOrigin: false, offset: 10 + (written[i] as number) });
  };
  write(parseName(soa.mname).labels);
  write(parseName(soa.rname).labels);
  const numbers = Buffer.alloc(20);
  [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum].forEach((value, i) => numbers.writeUInt32BE(value >>> 0, i * 4));
  parts.push(numbers);
  return { tail: rrTail(QTYPE.SOA, ttl, Buffer.concat(parts)), pointers };
}

/**
 * Fills in the pointers of a negative SOA whose tail was copied to `out[at]`. Pointers count from
 * the message's start: the tail is at `tailOffset` in the message, the origin at `originOffset`.
 */
export function fillSoaPointers(out: Buffer, at: number, tailOffset: number, originOffset: number, pointers: readonly SoaPointer[]): void {
  for (const p of pointers) {
    const target = (p.intoOrigin ? originOffset : tailOffset) + p.offset;
    out[at + p.at] = 0xc0 | (target >>> 8);
    out[at + p.at + 1] = target & 0xff;
  }
}

function suffixes(labels: string[], intoOrigin: boolean, base: number): Target[] {
  const out: Target[] = [];
  let offset = base;
  for (let i = 0; i < labels.length; i++) {
    out.push({ labels: labels.slice(i), intoOrigin, offset });
    offset += 1 + (labels[i] as string).length;
  }
  return out;
}

/** Labels as comparison keys: ASCII letters lowercased only (RFC 4343), every other byte as it is. */
function lower(labels: Buffer[]): string[] {
  return labels.map((label) => Buffer.from(label.map((b) => (b >= 0x41 && b <= 0x5a ? b | 0x20 : b))).toString('latin1'));
}

function sameLabels(a: string[], b: string[]): boolean {
  return a.length === b.length && a.length > 0 && a.every((label, i) => label === b[i]);
}
