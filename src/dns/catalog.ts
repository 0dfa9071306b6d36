import { decodeRdata, encodeName, encodeRdata, typeCode, typeName } from './packet.ts';
import { QTYPE } from './wire/constants.ts';
import { negativeSoa, type NegativeSoa, type SoaFields } from './wire/negative-soa.ts';
import { joinRRsets, rrTail, wireRRset, withOwner, type WireRRset } from './wire/rr.ts';
import { nameLengths } from '../zones/name-lengths.ts';
import type { Zone, ZoneRecord } from '../zones/zone.ts';
import type { Peer } from './peer.ts';
import type { ClientSubnet } from './wire/ecs.ts';
import type { QuestionLabels } from './wire/query.ts';

/** What a synthesizer may read about the asker, and where it says how much of the client address the answer depends on. */
export interface SynthContext {
  peer: Peer;
  ecs: ClientSubnet | null;
  /** Out: ECS scope prefix length of the answer (0: the same for every client). */
  scope: number;
}

/** Answers a zone can make up for names that are not in its file (DRIAD synthesis). */
export interface Synthesizer {
  /** RRsets by QTYPE for a name it serves, 'empty' for a name that exists without data, null for a name it does not know. */
  lookup(qname: string, ctx: SynthContext): ReadonlyMap<number, WireRRset> | 'empty' | null;
  /** The same for a question name given as wire labels that end in the zone (src/dns/wire-synthesis.ts). */
  lookupWire(labels: QuestionLabels, ctx: SynthContext): ReadonlyMap<number, WireRRset> | 'empty' | null;
}

/** A zone cut, prepared as the referral it answers with (RFC 1034 §4.3.2 step 3b). */
export interface Delegation {
  name: string;
  /** The cut's NS RRset, owner written out. */
  authority: Buffer;
  nscount: number;
  /** Addresses of the NS targets that this zone holds: glue below the cut, or other names of the zone. */
  additional: Buffer | null;
  arcount: number;
}

/** A DNAME record (RFC 6672): its bytes with the owner written out, and what it substitutes. */
export interface Dname {
  owner: string;
  target: string;
  ttl: number;
  record: Buffer;
}

export interface ServedZone {
  origin: string;
  /** Length of the origin in wire form, to point at it inside the question name. */
  originWireLength: number;
  /** The origin in wire form, lowercase, and its number of labels (for src/dns/wire-synthesis.ts). */
  originWire: Buffer;
  originLabels: number;
  /** SOA for negative answers, names compressed, with TTL = min(SOA TTL, MINIMUM) per RFC 2308 §5. */
  negativeSoa: NegativeSoa;
  /** Static data from the zone file, rendered to wire. */
  names: Map<string, Map<number, WireRRset>>;
  /** The lengths of `names`, tested before hashing a query name for it (src/zones/name-lengths.ts). */
  nameLengths: Uint8Array;
  /** The SOA record with its owner written out, for negative answers after a chain from another name. */
  soaRecord: Buffer;
  /** Zone cuts below the apex, by name. */
  delegations: Map<string, Delegation>;
  dnames: Map<string, Dname>;
  /** Data of each wildcard `*.X`, by X (the closest encloser it answers for). */
  wildcards: Map<string, Map<number, WireRRset>>;
  /** True when any name may sit below a cut or a DNAME, so lookups must look at the names above. */
  hasCutsOrDnames: boolean;
  zone: Zone;
  synth: Synthesizer | null;
}

export class Catalog {
  /** Longest origin first, so the most specific zone wins. */
  readonly zones: ServedZone[];

  constructor(zones: ServedZone[]) {
    this.zones = [...zones].sort((a, b) => b.origin.length - a.origin.length);
  }

  find(qname: string): ServedZone | null {
    for (const zone of this.zones) if (isInZone(qname, zone.origin)) return zone;
    return null;
  }

  /** The zone that answers a DS query: at a child zone's apex that is the parent, when we serve it too (RFC 4035 §3.1.4.1). */
  findForDs(qname: string): ServedZone | null {
    for (const zone of this.zones) if (zone.origin !== qname && isInZone(qname, zone.origin)) return zone;
    return this.find(qname);
  }
}

/** True if `qname` is `origin` or below it; an escaped dot ("a\.b") is not a label boundary. */
export function isInZone(qname: string, origin: string): boolean {
  if (origin === '') return true;
  if (qname === origin) return true;
  const cut = qname.length - origin.length - 1;
  if (cut < 1 || qname.charCodeAt(cut) !== 0x2e || !qname.endsWith(origin)) return false;
  let backslashes = 0;
  for (let i = cut - 1; i >= 0 && qname.charCodeAt(i) === 0x5c; i--) backslashes++;
  return backslashes % 2 === 0;
}

export function serveZone(zone: Zone, synth: Synthesizer | null): ServedZone {
  const names = new Map<string, Map<number, WireRRset>>();
  for (const [name, records] of zone.entries()) {
    const byType = new Map<number, WireRRset>();
    for (const [type, rrset] of records) byType.set(typeCode(type), wireRRset(rrset.map(recordTail)));
    byType.set(QTYPE.ANY, joinRRsets(byType.values()));
    names.set(name, byType);
  }
  const { cuts, dnames, wildcardParents, occluded } = zone.structure;
  for (const [name, byType] of names) {
    if (!occluded.has(name) && !cuts.has(name)) addAdditional(byType, names, occluded);
  }

  const soa = zone.soa;
  const soaData = soa.data as { minimum: number };
  const negativeTtl = Math.min(soa.ttl, soaData.minimum);
  const soaTail = rrTail(QTYPE.SOA, negativeTtl, encodeRdata('SOA', soa.data));
  const originWire = encodeName(zone.origin);
  return {
    origin: zone.origin,
    originWireLength: originWire.length,
    originWire: Buffer.from(originWire.map((b) => (b >= 0x41 && b <= 0x5a ? b | 0x20 : b))),
    originLabels: labelCount(originWire),
    negativeSoa: negativeSoa(zone.origin, negativeTtl, soa.data as SoaFields),
    soaRecord: Buffer.concat([originWire, soaTail]),
    names,
    nameLengths: nameLengths(names.keys()),
    delegations: new Map([...cuts].map((cut) => [cut, delegation(cut, zone, names)])),
    dnames: new Map([...dnames].map((owner) => [owner, dnameOf(owner, zone)])),
    wildcards: new Map([...wildcardParents].map((parent) => [parent, names.get(parent === '' ? '*' : `*.${parent}`)!])),
    hasCutsOrDnames: cuts.size > 0 || dnames.size > 0,
    zone,
    synth,
  };
}

function labelCount(wire: Buffer): number {
  let count = 0;
  for (let at = 0; wire[at] !== 0; at += 1 + (wire[at] as number)) count++;
  return count;
}

/** Targets of NS, MX and SRV records whose addresses the zone holds go in the additional section (RFC 1034 §4.3.2 step 6). */
const ADDITIONAL_TARGETS: ReadonlyMap<number, (data: unknown) => string> = new Map([
  [QTYPE.NS, (data: unknown) => data as string],
  [QTYPE.MX, (data: unknown) => (data as { exchange: string }).exchange],
  [QTYPE.SRV, (data: unknown) => (data as { target: string }).target],
]);

function addAdditional(byType: Map<number, WireRRset>, names: Map<string, Map<number, WireRRset>>, hidden: ReadonlyMap<string, string>): void {
  for (const [type, target] of ADDITIONAL_TARGETS) {
    const rrset = byType.get(type);
    if (!rrset) continue;
    const targets = rrset.tails.map((tail) => target(decodeRdata(typeName(type), tail.subarray(10))).toLowerCase());
    const { bytes, count } = addresses(targets, names, (name) => !hidden.has(name));
    rrset.additional = bytes;
    rrset.arcount = count;
  }
}

/** A and AAAA RRsets of each distinct target the zone holds, owners written out. */
function addresses(
  targets: string[],
  names: Map<string, Map<number, WireRRset>>,
  usable: (name: string) => boolean,
): { bytes: Buffer | null; count: number } {
  const parts: Buffer[] = [];
  let count = 0;
  for (const target of new Set(targets)) {
    const byType = names.get(target);
    if (!byType || !usable(target)) continue;
    const owner = encodeName(target);
    for (const type of [QTYPE.A, QTYPE.AAAA]) {
      const rrset = byType.get(type);
      if (!rrset) continue;
      parts.push(withOwner(owner, rrset.tails));
      count += rrset.count;
    }
  }
  return { bytes: count ? Buffer.concat(parts) : null, count };
}

function delegation(cut: string, zone: Zone, names: Map<string, Map<number, WireRRset>>): Delegation {
  const ns = names.get(cut)!.get(QTYPE.NS)!;
  const targets = (zone.get(cut)!.get('NS') ?? []).map((r) => String(r.data).toLowerCase());
  // Glue below this cut is served; addresses hidden by another cut or a DNAME are not.
  const hidden = zone.structure.occluded;
  const { bytes, count } = addresses(targets, names, (name) => !hidden.has(name) || hidden.get(name) === cut);
  return { name: cut, authority: withOwner(encodeName(cut), ns.tails), nscount: ns.count, additional: bytes, arcount: count };
}

function dnameOf(owner: string, zone: Zone): Dname {
  const record = zone.get(owner)!.get('DNAME')![0]!;
  return { owner, target: String(record.data).toLowerCase(), ttl: record.ttl, record: Buffer.concat([encodeName(owner), recordTail(record)]) };
}

function recordTail(record: ZoneRecord): Buffer {
  return rrTail(typeCode(record.type), record.ttl, encodeRdata(record.type, record.data));
}
