import { encodeName, encodeRdata, typeCode } from './packet.ts';
import { QTYPE } from './wire/constants.ts';
import { joinRRsets, rrTail, wireRRset, type WireRRset } from './wire/rr.ts';
import type { Zone, ZoneRecord } from '../zones/zone.ts';
import type { Peer } from './peer.ts';
import type { ClientSubnet } from './wire/ecs.ts';

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
}

export interface ServedZone {
  origin: string;
  /** Length of the origin in wire form, to point at it inside the question name. */
  originWireLength: number;
  /** SOA for negative answers (type through rdata), with TTL = min(SOA TTL, MINIMUM) per RFC 2308 §5. */
  soaTail: Buffer;
  /** Static data from the zone file, rendered to wire. */
  names: Map<string, Map<number, WireRRset>>;
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
  for (const record of zone.records()) {
    let byType = names.get(record.name);
    if (!byType) names.set(record.name, (byType = new Map()));
    const code = typeCode(record.type);
    const existing = byType.get(code);
    const tail = recordTail(record);
    byType.set(code, wireRRset(existing ? [...existing.tails, tail] : [tail]));
  }
  for (const byType of names.values()) byType.set(QTYPE.ANY, joinRRsets(byType.values()));

  const soa = zone.soa;
  const soaData = soa.data as { minimum: number };
  return {
    origin: zone.origin,
    originWireLength: encodeName(zone.origin).length,
    soaTail: rrTail(QTYPE.SOA, Math.min(soa.ttl, soaData.minimum), encodeRdata('SOA', soa.data)),
    names,
    zone,
    synth,
  };
}

function recordTail(record: ZoneRecord): Buffer {
  return rrTail(typeCode(record.type), record.ttl, encodeRdata(record.type, record.data));
}
