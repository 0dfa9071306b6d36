// DRIAD names answered from the question's wire labels, without the name as text. The common query
// (a reversed source address under a DRIAD zone) then builds, hashes and rescans no string: the
// labels are compared with the zone's origin and scanned as octets or nibbles in the message itself.
// Whatever it is not sure of goes to the general lookup (src/dns/lookup.ts), which answers it the
// same way: another name, the apex, a DS query, a zone with cuts or DNAMEs, a zone-file name of the
// same length. test/dns/wire-synthesis.test.ts compares the two on every kind of name.

import { mayHoldLength } from '../zones/name-lengths.ts';
import type { Catalog, ServedZone, SynthContext } from './catalog.ts';
import { HEADER_SIZE } from './wire/constants.ts';
import type { Query } from './wire/query.ts';
import type { WireRRset } from './wire/rr.ts';

export interface WireSynthesis {
  zone: ServedZone;
  rrsets: ReadonlyMap<number, WireRRset> | 'empty';
}

let enabled = true;
let answered = 0;
/** Off makes every query take the general lookup (the differential test runs both ways). */
export function useWireSynthesis(on: boolean): void {
  enabled = on;
}

/** Questions answered here so far (the differential test checks that this path was taken). */
export function wireSynthesized(): number {
  return answered;
}

const result = { zone: null as unknown as ServedZone, rrsets: 'empty' } as WireSynthesis;

/** The zone and synthesized data for the question, or null for the general lookup. Reused result. */
export function synthesizeFromWire(catalog: Catalog, query: Query, ctx: SynthContext): WireSynthesis | null {
  if (!enabled) return null;
  const { msg, starts, count } = query.labels;
  for (const zone of catalog.zones) {
    const k = zone.originLabels;
    if (k === 0 || count < k) continue;
    const originStart = count === k ? HEADER_SIZE : (starts[count - k] as number);
    if (!endsWith(msg, originStart, query.qnameEnd, zone.originWire)) continue;
    // The zone catalog.find() picks: origins are tried longest first.
    if (count === k || !zone.synth || zone.hasCutsOrDnames) return null;
    // Address labels need no escapes, so the text form is as long as the wire form in front of the origin.
    if (mayHoldLength(zone.nameLengths, originStart - HEADER_SIZE + zone.origin.length)) return null;
    const rrsets = zone.synth.lookupWire(query.labels, ctx);
    if (rrsets === null) return null;
    answered++;
    result.zone = zone;
    result.rrsets = rrsets;
    return result;
  }
  return null;
}

/** True when msg[start, end) is `origin` (lowercase wire form), ASCII case aside. */
function endsWith(msg: Buffer, start: number, end: number, origin: Buffer): boolean {
  if (end - start !== origin.length) return false;
  for (let i = 0; i < origin.length; i++) {
    let b = msg[start + i] as number;
    if (b >= 0x41 && b <= 0x5a) b |= 0x20;
    if (b !== origin[i]) return false;
  }
  return true;
}
