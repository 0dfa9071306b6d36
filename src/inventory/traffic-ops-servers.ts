import { isIP } from 'node:net';
import { InventoryError } from './inventory-error.ts';
import type { DiscoveredRelay } from './traffic-ops.ts';
import { SERVERS_PATH } from './traffic-ops-client.ts';

/** Statuses whose servers are relays: ONLINE and REPORTED. OFFLINE, ADMIN_DOWN, PRE_PROD, ... are left out. */
export const USABLE_STATUSES: ReadonlySet<string> = new Set(['ONLINE', 'REPORTED']);

export interface MxSelection {
  cachegroup: string;
  profile: string;
}

/**
 * The MX relays in a `GET /api/4.0/servers` answer: servers of our cachegroup, with our profile
 * (in `profileNames`, or the pre-4.0 `profile` field), ONLINE or REPORTED, each with its service
 * address(es) without the prefix length. Sorted by hostName.
 *
 * Strict: the body must be `{"response": [...]}` and every server must have a hostName, cachegroup,
 * status and profile; a selected server must have well-formed interfaces and at least one valid
 * service address. Anything else throws (wrong-shape / bad-server) so that the caller keeps its
 * last good inventory rather than serving half of a broken answer.
 */
export function relaysFromServers(body: unknown, sel: MxSelection): DiscoveredRelay[] {
  if (!isObject(body)) throw shape(`expected a JSON object, got ${describe(body)}`);
  const list = body.response;
  if (!Array.isArray(list)) throw shape(`no "response" array (response is ${describe(list)})`);
  const out: DiscoveredRelay[] = [];
  const seen = new Set<string>();
  list.forEach((server: unknown, i: number) => {
    const where = `response[${i}]`;
    if (!isObject(server)) throw bad(`${where} is ${describe(server)}, not a server object`);
    const hostName = server.hostName;
    if (typeof hostName !== 'string' || hostName === '') throw bad(`${where} has no hostName`);
    const at = `${where} (${hostName})`;
    const cachegroup = server.cachegroup;
    if (typeof cachegroup !== 'string') throw bad(`${at}: cachegroup is ${describe(cachegroup)}`);
    const status = server.status;
    if (typeof status !== 'string') throw bad(`${at}: status is ${describe(status)}`);
    const profiles = profilesOf(server, at);
    if (cachegroup !== sel.cachegroup || !profiles.includes(sel.profile) || !USABLE_STATUSES.has(status)) return;
    if (seen.has(hostName)) throw bad(`${at}: a second MX relay with the same hostName`);
    seen.add(hostName);
    const { ipv4, ipv6 } = serviceAddresses(server, at);
    out.push(makeRelay({ hostName, ipv4, ipv6, status, cachegroup, profile: sel.profile }));
  });
  return sortRelays(out);
}

/** A relay with its keys always in the same order and no undefined address keys (so its JSON is canonical). */
export function makeRelay(r: DiscoveredRelay): DiscoveredRelay {
  return {
    hostName: r.hostName,
    ...(r.ipv4 ? { ipv4: r.ipv4 } : {}),
    ...(r.ipv6 ? { ipv6: r.ipv6 } : {}),
    status: r.status,
    cachegroup: r.cachegroup,
    profile: r.profile,
  };
}

/** Relays in a stable order (by hostName), so that comparing two lists is comparing their JSON. */
export function sortRelays(relays: DiscoveredRelay[]): DiscoveredRelay[] {
  return relays.sort((a, b) => (a.hostName < b.hostName ? -1 : a.hostName > b.hostName ? 1 : 0));
}

/** `69.25.95.1/32` → `69.25.95.1`; undefined when it is not an address (with an optional prefix length). */
export function stripPrefix(address: string): { ip: string; family: 4 | 6 } | undefined {
  const slash = address.indexOf('/');
  const ip = slash < 0 ? address : address.slice(0, slash);
  const family = isIP(ip);
  if ((family !== 4 && family !== 6) || ip.includes('%')) return undefined;
  if (slash >= 0) {
    const len = address.slice(slash + 1);
    if (!/^\d{1,3}$/.test(len) || Number(len) > (family === 4 ? 32 : 128)) return undefined;
  }
  return { ip, family };
}

function profilesOf(server: Record<string, unknown>, at: string): string[] {
  const names = server.profileNames;
  const legacy = server.profile;
  const out: string[] = [];
  if (names !== undefined && names !== null) {
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw bad(`${at}: profileNames is ${describe(names)}, not an array of names`);
    out.push(...names);
  }
  if (legacy !== undefined && legacy !== null) {
    if (typeof legacy !== 'string') throw bad(`${at}: profile is ${describe(legacy)}`);
    out.push(legacy);
  }
  if (out.length === 0) throw bad(`${at} has neither profileNames nor profile`);
  return out;
}

function serviceAddresses(server: Record<string, unknown>, at: string): { ipv4?: string; ipv6?: string } {
  const interfaces = server.interfaces;
  if (!Array.isArray(interfaces)) throw bad(`${at}: interfaces is ${describe(interfaces)}, not an array`);
  let ipv4: string | undefined;
  let ipv6: string | undefined;
  interfaces.forEach((iface: unknown, i: number) => {
    const w = `${at}: interfaces[${i}]`;
    if (!isObject(iface)) throw bad(`${w} is ${describe(iface)}`);
    const addrs = iface.ipAddresses;
    if (!Array.isArray(addrs)) throw bad(`${w}.ipAddresses is ${describe(addrs)}, not an array`);
    addrs.forEach((a: unknown, j: number) => {
      const wa = `${w}.ipAddresses[${j}]`;
      if (!isObject(a)) throw bad(`${wa} is ${describe(a)}`);
      if (typeof a.serviceAddress !== 'boolean') throw bad(`${wa}.serviceAddress is ${describe(a.serviceAddress)}, not a boolean`);
      if (typeof a.address !== 'string') throw bad(`${wa}.address is ${describe(a.address)}`);
      if (!a.serviceAddress) return;
      const parsed = stripPrefix(a.address);
      if (!parsed) throw bad(`${wa}.address ${JSON.stringify(a.address)} is not an IP address`);
      if (parsed.family === 4) {
        if (ipv4) throw bad(`${at}: more than one IPv4 service address (${ipv4}, ${parsed.ip})`);
        ipv4 = parsed.ip;
      } else {
        if (ipv6) throw bad(`${at}: more than one IPv6 service address (${ipv6}, ${parsed.ip})`);
        ipv6 = parsed.ip;
      }
    });
  });
  if (!ipv4 && !ipv6) throw bad(`${at}: no service address (an ipAddresses entry with serviceAddress true)`);
  return { ipv4, ipv6 };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v);
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

function shape(detail: string): InventoryError {
  return new InventoryError('wrong-shape', `unexpected answer from ${SERVERS_PATH}: ${detail}`);
}

function bad(detail: string): InventoryError {
  return new InventoryError('bad-server', `unusable server in ${SERVERS_PATH}: ${detail}`);
}
