// The shape of a zone's name tree that changes how names are answered: zone cuts (NS below the
// apex, RFC 1034 §4.2.1), DNAME owners (RFC 6672), and wildcards (RFC 4592). Data that a cut or a
// DNAME hides, and asterisks that are not wildcards, are reported as warnings with file:line,
// because the zone loads and serves, just not the way it is written.

import { ZoneFileError } from './errors.ts';
import type { ZoneRecord } from './masterfile.ts';
import { labelsOf, parentName } from '../dns/rr/name.ts';

export interface ZoneWarning {
  file: string;
  line: number;
  message: string;
}

export interface ZoneStructure {
  /** Delegation points: names below the apex that own NS records. */
  cuts: Set<string>;
  /** Names that own a DNAME record (the apex may be one). */
  dnames: Set<string>;
  /** For each `*.X` that owns data, X: the closest encloser a wildcard answers for. */
  wildcardParents: Set<string>;
  /** Names hidden by a cut or DNAME above them, mapped to that cut or DNAME. */
  occluded: Map<string, string>;
  warnings: ZoneWarning[];
}

/** At a cut only the parent's NS and DS (and their DNSSEC companions) are the parent's data. */
const PARENT_SIDE_AT_CUT = new Set(['NS', 'DS', 'RRSIG', 'NSEC']);
const ADDRESS_TYPES = new Set(['A', 'AAAA']);

type Names = Map<string, Map<string, ZoneRecord[]>>;

export function analyzeStructure(origin: string, names: Names): ZoneStructure {
  const cuts = new Set<string>();
  const dnames = new Set<string>();
  const wildcardParents = new Set<string>();
  const warnings: ZoneWarning[] = [];
  const warn = (record: ZoneRecord, message: string) => warnings.push({ file: record.file, line: record.line, message });

  for (const [name, byType] of names) {
    const labels = labelsOf(name);
    const first = firstRecord(byType);
    if (labels[0] === '*') wildcardParents.add(parentName(name) ?? '');
    if (labels.slice(1).includes('*')) {
      warn(first, `"${name}" has an asterisk label that is not the leftmost one: it is an ordinary name, not a wildcard (RFC 4592 §2.1.1)`);
    }
    const ns = byType.get('NS');
    if (ns && name !== origin) {
      if (labels[0] === '*') warn(ns[0]!, `NS at the wildcard "${name}" does not delegate anything (RFC 4592 §4.2): served as ordinary data`);
      else cuts.add(name);
    }
    const dname = byType.get('DNAME');
    if (dname) {
      if (dname.length > 1) throw new ZoneFileError(dname[1]!.file, dname[1]!.line, `more than one DNAME at "${name}" (RFC 6672 §2.4)`);
      dnames.add(name);
    }
  }

  const occluded = new Map<string, string>();
  for (const [name, byType] of names) {
    const above = topmostHider(name, origin, cuts, dnames);
    if (above) {
      occluded.set(name, above);
      const glue = cuts.has(above) && isGlue(name, byType, names.get(above)!);
      for (const [type, records] of byType) {
        if (glue && ADDRESS_TYPES.has(type)) continue;
        const record = records[0]!;
        const hider = dnames.has(above) ? `the DNAME at "${above}"` : `the delegation at "${above}"`;
        warn(record, `"${name}" ${type} is below ${hider}: occluded, not served`);
      }
    } else if (cuts.has(name)) {
      for (const [type, records] of byType) {
        if (!PARENT_SIDE_AT_CUT.has(type)) {
          warn(records[0]!, `"${name}" ${type} is at a delegation point, where only NS and DS belong to this zone: occluded, not served`);
        }
      }
    }
  }
  return { cuts, dnames, wildcardParents, occluded, warnings };
}

/** The highest cut or DNAME owner strictly above `name` (a DNAME at the apex counts), or null. */
function topmostHider(name: string, origin: string, cuts: Set<string>, dnames: Set<string>): string | null {
  let found: string | null = null;
  for (let n = name === origin ? null : parentName(name); n !== null; n = n === origin ? null : parentName(n)) {
    if ((n !== origin && cuts.has(n)) || dnames.has(n)) found = n;
  }
  return found;
}

/** Addresses below a cut are glue when some NS of that cut names them. */
function isGlue(name: string, byType: Map<string, ZoneRecord[]>, cut: Map<string, ZoneRecord[]>): boolean {
  if (![...byType.keys()].some((t) => ADDRESS_TYPES.has(t))) return false;
  return (cut.get('NS') ?? []).some((ns) => String(ns.data).toLowerCase() === name);
}

function firstRecord(byType: Map<string, ZoneRecord[]>): ZoneRecord {
  return byType.values().next().value![0]!;
}
