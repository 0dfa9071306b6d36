import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { encodeRdata } from '../dns/rr/rdata.ts';
import { formatLabels, lowercaseLabels, parentName as parentOf, parseName } from '../dns/rr/name.ts';
import { ZoneFileError } from './errors.ts';
import { readMasterFile, type ZoneRecord } from './masterfile.ts';
import { analyzeStructure, type ZoneStructure, type ZoneWarning } from './structure.ts';
import { mayHold, nameLengths } from './name-lengths.ts';

export { ZoneFileError } from './errors.ts';
export type { ZoneRecord } from './masterfile.ts';
export type { ZoneStructure, ZoneWarning } from './structure.ts';

/** DNSSEC types that may sit beside a CNAME (RFC 4035 §2.5); a CNAME also allows itself, once. */
const CNAME_COMPANIONS = new Set(['RRSIG', 'NSEC']);

export class Zone {
  /** Lowercase, no trailing dot. */
  readonly origin: string;
  readonly soa: ZoneRecord;
  readonly #names: Map<string, Map<string, ZoneRecord[]>>;
  /** Names with data plus the empty non-terminals between them and the origin. */
  readonly #existing: Set<string>;
  readonly #existingLengths: Uint8Array;
  /** Cuts, DNAMEs, wildcards and occluded names; `structure.warnings` lists data not served as written. */
  readonly structure: ZoneStructure;

  private constructor(origin: string, soa: ZoneRecord, names: Map<string, Map<string, ZoneRecord[]>>) {
    this.origin = origin;
    this.soa = soa;
    this.#names = names;
    this.structure = analyzeStructure(origin, names);
    this.#existing = new Set();
    for (const name of names.keys()) {
      for (let n: string | null = name; n !== null && !this.#existing.has(n); n = parentName(n, origin)) {
        this.#existing.add(n);
      }
    }
    this.#existingLengths = nameLengths(this.#existing);
  }

  /**
   * Validates and indexes records: one SOA, at the apex; NS at the apex; every owner in the
   * zone; no CNAME beside other data. Identical records are kept once, and an RRset takes the
   * TTL of its first record (RFC 2181 §5.2 forbids mixed TTLs; BIND does the same).
   */
  static fromRecords(origin: string, records: ZoneRecord[]): Zone {
    const apex = normalize(origin);
    const names = new Map<string, Map<string, ZoneRecord[]>>();
    const seen = new Set<string>();
    let soa: ZoneRecord | undefined;

    for (const record of records) {
      const fail = (reason: string): never => {
        throw new ZoneFileError(record.file, record.line, reason);
      };
      if (!isInZone(record.name, apex)) fail(`record "${record.name}" is outside the zone origin "${apex}"`);

      let rdata: Buffer;
      try {
        rdata = encodeRdata(record.type, record.data);
      } catch (err) {
        return fail(`bad ${record.type} data: ${(err as Error).message}`);
      }
      const key = `${record.name}\0${record.type}\0${rdata.toString('hex')}`;
      if (seen.has(key)) continue;
      seen.add(key);

      if (record.type === 'SOA') {
        if (record.name !== apex) fail(`SOA record must be at the zone apex "${apex}", not "${record.name}"`);
        if (soa) fail(`second SOA record (the first is at ${soa.file}:${soa.line})`);
        soa = record;
      }

      let byType = names.get(record.name);
      if (!byType) names.set(record.name, (byType = new Map()));
      const hasCname = byType.has('CNAME');
      const otherTypes = [...byType.keys()].filter((t) => !CNAME_COMPANIONS.has(t));
      if (record.type === 'CNAME' ? otherTypes.length > 0 : hasCname && !CNAME_COMPANIONS.has(record.type)) {
        fail(hasCname && record.type === 'CNAME' ? `more than one CNAME at "${record.name}"` : `CNAME and other data at "${record.name}"`);
      }

      const rrset = byType.get(record.type);
      if (rrset) rrset.push({ ...record, ttl: rrset[0]!.ttl });
      else byType.set(record.type, [record]);
    }

    const first = records[0];
    if (!soa) {
      throw new ZoneFileError(first?.file ?? '(no records)', first?.line ?? 0, `zone "${apex}" has no SOA record`);
    }
    if (!names.get(apex)?.has('NS')) {
      throw new ZoneFileError(soa.file, soa.line, `zone "${apex}" has no NS records at the apex`);
    }
    return new Zone(apex, soa, names);
  }

  /** The records at exactly this name, by type. */
  get(name: string): Map<string, ZoneRecord[]> | undefined {
    const exact = this.#names.get(name);
    if (exact) return exact;
    const normalized = tryNormalize(name);
    return normalized === null ? undefined : this.#names.get(normalized);
  }

  /** True for names with data and for empty non-terminals (data at a.b.zone makes b.zone exist). */
  /** nameExists for a name already in canonical text form (lowercase, escaped as name.ts writes it), as the DNS path has it. */
  canonicalNameExists(name: string): boolean {
    return mayHold(this.#existingLengths, name) && this.#existing.has(name);
  }

  nameExists(name: string): boolean {
    if (this.#existing.has(name)) return true;
    const normalized = tryNormalize(name);
    return normalized !== null && this.#existing.has(normalized);
  }

  /** Data that loads but is not served as written (occluded names, asterisks that are not wildcards). */
  get warnings(): ZoneWarning[] {
    return this.structure.warnings;
  }

  /** Names with data, each with its records by type. */
  entries(): IterableIterator<[string, Map<string, ZoneRecord[]>]> {
    return this.#names.entries();
  }

  *records(): IterableIterator<ZoneRecord> {
    for (const byType of this.#names.values()) {
      for (const rrset of byType.values()) yield* rrset;
    }
  }
}

/**
 * Loads one zone file. Its origin is the SOA owner, else the first $ORIGIN, else the file
 * name without ".zone" (amt.in-addr.arpa.zone -> amt.in-addr.arpa), which is also what
 * names before any $ORIGIN are relative to.
 */
export function loadZoneFile(path: string): Zone {
  const fileOrigin = basename(path).replace(/\.zone$/, '');
  const { records, firstOrigin } = readMasterFile(path, { origin: fileOrigin });
  const soa = records.find((r) => r.type === 'SOA');
  return Zone.fromRecords(soa?.name ?? firstOrigin ?? normalize(fileOrigin), records);
}

/** Every `*.zone` file in `dir` (`.inc` fragments are only read through $INCLUDE). */
export function loadZoneDirectory(dir: string): Zone[] {
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.zone'))
    .map((entry) => join(dir, entry.name))
    .sort();
  const zones: Zone[] = [];
  for (const file of files) {
    const zone = loadZoneFile(file);
    const clash = zones.find((z) => z.origin === zone.origin);
    if (clash) {
      throw new ZoneFileError(zone.soa.file, zone.soa.line, `zone "${zone.origin}" is already loaded from ${clash.soa.file}`);
    }
    zones.push(zone);
  }
  return zones;
}

function normalize(name: string): string {
  return formatLabels(lowercaseLabels(parseName(name).labels));
}

/** Lookups take any spelling of a name; one that is not a valid name is simply not found. */
function tryNormalize(name: string): string | null {
  try {
    return normalize(name);
  } catch {
    return null;
  }
}

/** True if `name` is `origin` or below it, on a label boundary (an escaped dot is not one). */
function isInZone(name: string, origin: string): boolean {
  let n: string | null = name;
  while (n !== null) {
    if (n === origin) return true;
    n = parentName(n, '');
  }
  return origin === '';
}

/** The name one label up, or null at `stopAt` or the root. */
function parentName(name: string, stopAt: string): string | null {
  return name === stopAt ? null : parentOf(name);
}
