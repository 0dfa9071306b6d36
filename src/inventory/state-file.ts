import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DiscoveredRelay } from './traffic-ops.ts';
import { makeRelay, sortRelays, stripPrefix } from './traffic-ops-servers.ts';

/**
 * The last good Traffic Ops inventory on disk, so that a restart while Traffic Ops is down still
 * knows the MX relays. One JSON document:
 *
 *   {"version":1,"source":"traffic-ops","savedAt":"2025-...Z","cachegroup":"...","profile":"...","relays":[...]}
 *
 * The cachegroup and profile are recorded so that a copy written for another selection (the config
 * changed) is not served as ours.
 */
export const STATE_VERSION = 1;

export interface StateSelection {
  cachegroup: string;
  profile: string;
}

export type LoadedState =
  | { kind: 'missing' }
  | { kind: 'ok'; relays: DiscoveredRelay[]; savedAt: string }
  | { kind: 'invalid'; reason: string };

export async function loadState(file: string, sel: StateSelection): Promise<LoadedState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'invalid', reason: `cannot read it: ${(err as Error).message}` };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { kind: 'invalid', reason: `not JSON: ${(err as Error).message}` };
  }
  const reason = check(doc, sel);
  if (reason) return { kind: 'invalid', reason };
  const d = doc as { savedAt: string; relays: DiscoveredRelay[] };
  return { kind: 'ok', relays: sortRelays(d.relays.map(makeRelay)), savedAt: d.savedAt };
}

/** Writes a temporary file next to `file`, flushed, then renames it over `file`: readers see the old or the new copy, never half. */
export async function saveState(file: string, sel: StateSelection, relays: readonly DiscoveredRelay[], savedAt: Date): Promise<void> {
  const doc = { version: STATE_VERSION, source: 'traffic-ops', savedAt: savedAt.toISOString(), cachegroup: sel.cachegroup, profile: sel.profile, relays };
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(doc, null, 2) + '\n', { encoding: 'utf8', flush: true });
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  }
}

function check(doc: unknown, sel: StateSelection): string | null {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'not a JSON object';
  const d = doc as Record<string, unknown>;
  if (d.version !== STATE_VERSION) return `version is ${JSON.stringify(d.version)}, expected ${STATE_VERSION}`;
  if (d.source !== 'traffic-ops') return `source is ${JSON.stringify(d.source)}, expected "traffic-ops"`;
  if (typeof d.savedAt !== 'string' || Number.isNaN(Date.parse(d.savedAt))) return 'savedAt is not a date';
  if (d.cachegroup !== sel.cachegroup) return `written for cachegroup ${JSON.stringify(d.cachegroup)}, not ${JSON.stringify(sel.cachegroup)}`;
  if (d.profile !== sel.profile) return `written for profile ${JSON.stringify(d.profile)}, not ${JSON.stringify(sel.profile)}`;
  if (!Array.isArray(d.relays)) return 'relays is not an array';
  const names = new Set<string>();
  for (const [i, r] of d.relays.entries()) {
    if (typeof r !== 'object' || r === null) return `relays[${i}] is not an object`;
    const x = r as Record<string, unknown>;
    if (typeof x.hostName !== 'string' || x.hostName === '') return `relays[${i}] has no hostName`;
    if (names.has(x.hostName)) return `relays[${i}]: duplicate hostName ${JSON.stringify(x.hostName)}`;
    names.add(x.hostName);
    for (const k of ['status', 'cachegroup', 'profile'] as const) if (typeof x[k] !== 'string') return `relays[${i}].${k} is not a string`;
    if (x.ipv4 !== undefined && (typeof x.ipv4 !== 'string' || x.ipv4.includes('/') || stripPrefix(x.ipv4)?.family !== 4)) return `relays[${i}].ipv4 is not an IPv4 address`;
    if (x.ipv6 !== undefined && (typeof x.ipv6 !== 'string' || x.ipv6.includes('/') || stripPrefix(x.ipv6)?.family !== 6)) return `relays[${i}].ipv6 is not an IPv6 address`;
    if (x.ipv4 === undefined && x.ipv6 === undefined) return `relays[${i}] has no address`;
  }
  return null;
}
