// One name in one served zone, as RFC 1034 §4.3.2 step 3 finds it: a cut or a DNAME above the name
// first, then the name's own data (zone file, else DRIAD synthesis), then an empty non-terminal,
// then a wildcard at the closest encloser (RFC 4592), else nothing.
//
// Synthesis makes names exist: every valid reversed source address and every prefix of one. So a
// zone-file wildcard never covers a DRIAD name; it answers only names neither the file nor
// synthesis knows. Below a cut nothing is answered from this zone, synthesized or not.

import type { Delegation, Dname, ServedZone, SynthContext } from './catalog.ts';
import { mayHold } from '../zones/name-lengths.ts';
import { parentName } from './rr/name.ts';
import { QTYPE } from './wire/constants.ts';
import type { WireRRset } from './wire/rr.ts';

export const Found = {
  /** `rrsets` holds the name's data (from the file, synthesis, or a wildcard). */
  Node: 0,
  /** The name exists without data. */
  Empty: 1,
  NxDomain: 2,
  /** `delegation` is the cut at or above the name. */
  Referral: 3,
  /** `dname` is the DNAME above the name. */
  Dname: 4,
} as const;
export type Found = (typeof Found)[keyof typeof Found];

export interface Lookup {
  found: Found;
  rrsets: ReadonlyMap<number, WireRRset> | null;
  delegation: Delegation | null;
  dname: Dname | null;
}

/**
 * Looks `name` up in `zone` and writes the outcome into `out` (reused: answering is synchronous,
 * and the hot path allocates nothing here). `name` is in the zone's text form.
 */
export function lookup(zone: ServedZone, name: string, qtype: number, ctx: SynthContext, out: Lookup): Lookup {
  out.rrsets = null;
  out.delegation = null;
  out.dname = null;
  if (zone.hasCutsOrDnames && above(zone, name, qtype, out)) return out;

  const node = mayHold(zone.nameLengths, name) ? zone.names.get(name) : undefined;
  if (node) return found(out, Found.Node, node);
  if (zone.synth) {
    const synthesized = zone.synth.lookup(name, ctx);
    if (synthesized === 'empty') return found(out, Found.Empty, null);
    if (synthesized !== null) return found(out, Found.Node, synthesized);
  }
  if (zone.zone.canonicalNameExists(name)) return found(out, Found.Empty, null);
  if (zone.wildcards.size > 0) {
    const scope = ctx.scope;
    const wildcard = zone.wildcards.get(closestEncloser(zone, name, ctx));
    ctx.scope = scope;
    if (wildcard) return found(out, Found.Node, wildcard);
  }
  return found(out, Found.NxDomain, null);
}

function found(out: Lookup, kind: Found, rrsets: ReadonlyMap<number, WireRRset> | null): Lookup {
  out.found = kind;
  out.rrsets = rrsets;
  return out;
}

/**
 * The highest cut at or above `name` (a DS query at the cut itself belongs to this side, RFC 4035
 * §3.1.4.1) or DNAME strictly above it; true when one applies.
 */
function above(zone: ServedZone, name: string, qtype: number, out: Lookup): boolean {
  let hit = false;
  for (let n: string | null = name; n !== null; n = n === zone.origin ? null : parentName(n)) {
    const cut = n === zone.origin || (n === name && qtype === QTYPE.DS) ? undefined : zone.delegations.get(n);
    if (cut) {
      out.found = Found.Referral;
      out.delegation = cut;
      out.dname = null;
      hit = true;
      continue;
    }
    const dname = n === name ? undefined : zone.dnames.get(n);
    if (dname) {
      out.found = Found.Dname;
      out.dname = dname;
      out.delegation = null;
      hit = true;
    }
  }
  return hit;
}

/** The nearest existing ancestor of a name that does not exist (RFC 4592 §3.3.1); the apex at worst. */
function closestEncloser(zone: ServedZone, name: string, ctx: SynthContext): string {
  for (let n = parentName(name); n !== null && n !== zone.origin; n = parentName(n)) {
    if (zone.names.has(n) || zone.zone.canonicalNameExists(n)) return n;
    if (zone.synth && zone.synth.lookup(n, ctx) !== null) return n;
  }
  return zone.origin;
}
