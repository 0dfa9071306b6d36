import { isIP } from 'node:net';
import cron from 'node-cron';
import { parsePrefix } from '../driad/prefix.ts';
import { defaultGnmiTarget, relayList } from '../inventory/relays.ts';
import { ConfigError } from './errors.ts';
import { RELAY_STATES, type Config, type EbpfConfig, type HealthConfig, type PolicyConfig, type RelayConfig, type TrafficOpsConfig } from './types.ts';

export { ConfigError } from './errors.ts';


type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

/** Reads one section of raw config, naming the full key in every error and rejecting keys it does not know. */
class Section {
  readonly #raw: Obj;
  readonly #path: string;
  readonly #seen = new Set<string>();

  constructor(raw: unknown, path: string) {
    if (raw === undefined || raw === null) raw = {};
    if (!isObj(raw)) throw new ConfigError(path, `must be a mapping (got ${show(raw)})`);
    this.#raw = raw;
    this.#path = path;
  }

  key(name: string): string {
    return this.#path ? `${this.#path}.${name}` : name;
  }

  #take(name: string): unknown {
    this.#seen.add(name);
    return this.#raw[name];
  }

  section(name: string): Section {
    return new Section(this.#take(name), this.key(name));
  }

  raw(name: string): unknown {
    return this.#take(name);
  }

  int(name: string, min: number, max: number): number {
    const v = this.#take(name);
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
      throw new ConfigError(this.key(name), `must be an integer from ${min} to ${max} (got ${show(v)})`);
    }
    return n;
  }

  bool(name: string): boolean {
    const v = this.#take(name);
    if (v === true || v === 'true') return true;
    if (v === false || v === 'false') return false;
    throw new ConfigError(this.key(name), `must be true or false (got ${show(v)})`);
  }

  string(name: string): string {
    const v = this.#take(name);
    if (typeof v !== 'string' || v === '') throw new ConfigError(this.key(name), `must be a non-empty string (got ${show(v)})`);
    return v;
  }

  optString(name: string): string | undefined {
    const v = this.#take(name);
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string' && typeof v !== 'number') throw new ConfigError(this.key(name), `must be a string (got ${show(v)})`);
    return String(v);
  }

  number(name: string, min: number, max: number): number {
    const v = this.#take(name);
    const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max) {
      throw new ConfigError(this.key(name), `must be a number from ${min} to ${max} (got ${show(v)})`);
    }
    return n;
  }

  optInt(name: string, min: number, max: number): number | undefined {
    const v = this.#raw[name];
    if (v !== undefined && v !== null) return this.int(name, min, max);
    this.#seen.add(name);
    return undefined;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const v = this.#take(name);
    if (typeof v !== 'string' || !allowed.includes(v as T)) {
      throw new ConfigError(this.key(name), `must be one of ${allowed.join(', ')} (got ${show(v)})`);
    }
    return v as T;
  }

  optIp(name: string, family: 4 | 6): string | undefined {
    const v = this.optString(name);
    if (v !== undefined && isIP(v) !== family) {
      throw new ConfigError(this.key(name), `must be an IPv${family} address (got ${show(v)})`);
    }
    return v;
  }

  list(name: string): unknown[] {
    const v = this.#take(name);
    if (v === undefined || v === null) return [];
    if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter(Boolean);
    if (!Array.isArray(v)) throw new ConfigError(this.key(name), `must be a list (got ${show(v)})`);
    return v;
  }

  /** Call last: any key not read by now is a typo or an unsupported setting. */
  done(): void {
    for (const k of Object.keys(this.#raw)) {
      if (!this.#seen.has(k)) throw new ConfigError(this.key(k), 'unknown key');
    }
  }
}

export function parseHostPort(value: string, key: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(value) ?? /^([^:]+):(\d+)$/.exec(value);
  const host = m?.[1];
  const port = Number(m?.[2]);
  if (!m || !host || isIP(host) === 0 || !Number.isInteger(port) || port > 65535) {
    throw new ConfigError(key, `must be IP:PORT or [IPv6]:PORT (got ${show(value)})`);
  }
  return { host, port };
}

function checkHostPort(value: string, key: string): void {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(value) ?? /^([^\s:[\]]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new ConfigError(key, `must be HOST:PORT (got ${show(value)})`);
}

function zoneName(value: unknown, key: string): string {
  if (typeof value !== 'string' || !/^([a-z0-9-]+\.)*(in-addr|ip6)\.arpa\.?$/i.test(value)) {
    throw new ConfigError(key, `must be a zone under in-addr.arpa or ip6.arpa (got ${show(value)})`);
  }
  return value.toLowerCase().replace(/\.$/, '');
}

function relay(raw: unknown, key: string): RelayConfig {
  const s = new Section(raw, key);
  const r: RelayConfig = {
    name: s.string('name'),
    kind: s.oneOf('kind', ['juniper', 'linux'] as const),
    ipv4: s.optIp('ipv4', 4),
    ipv6: s.optIp('ipv6', 6),
    precedence: s.int('precedence', 0, 255),
    discoveryOptional: s.raw('discoveryOptional') === undefined ? false : s.bool('discoveryOptional'),
    state: s.raw('state') === undefined ? 'up' : s.oneOf('state', RELAY_STATES),
    maxTunnels: s.optInt('maxTunnels', 1, 100_000_000),
    linkBps: s.optInt('linkBps', 1, Number.MAX_SAFE_INTEGER),
    origin: 'config',
  };
  const gnmiTarget = s.optString('gnmiTarget');
  s.done();
  if (!r.ipv4 && !r.ipv6) throw new ConfigError(key, 'needs ipv4 or ipv6');
  if (gnmiTarget !== undefined && r.kind !== 'juniper') throw new ConfigError(`${key}.gnmiTarget`, 'only a juniper relay has a gNMI server');
  if (r.kind === 'juniper') r.gnmiTarget = gnmiTarget ?? defaultGnmiTarget(r.ipv4, r.ipv6);
  if (r.gnmiTarget !== undefined) checkHostPort(r.gnmiTarget, `${key}.gnmiTarget`);
  return r;
}

/** Turns the merged raw layers into a typed Config, or throws ConfigError naming the key. */
export function validateConfig(raw: unknown, source?: string): Config {
  const root = new Section(raw, '');

  const dnsS = root.section('dns');
  const dns: Config['dns'] = {
    listen: dnsS.list('listen').map((v, i) => {
      const key = `dns.listen[${i}]`;
      if (typeof v !== 'string') throw new ConfigError(key, `must be IP:PORT (got ${show(v)})`);
      parseHostPort(v, key);
      return v;
    }),
    udpPayloadSize: dnsS.int('udpPayloadSize', 512, 4096),
    tcpIdleTimeoutMs: dnsS.int('tcpIdleTimeoutMs', 100, 600_000),
    tcpMaxConnections: dnsS.int('tcpMaxConnections', 1, 100_000),
    queryLog: dnsS.bool('queryLog'),
    udpBatch: dnsS.bool('udpBatch'),
  };
  if (dns.listen.length === 0) throw new ConfigError('dns.listen', 'needs at least one address');
  dnsS.done();

  const httpS = root.section('http');
  const http: Config['http'] = { listen: httpS.string('listen'), adminToken: httpS.optString('adminToken') };
  parseHostPort(http.listen, 'http.listen');
  if (http.adminToken !== undefined && http.adminToken.length < 16) {
    throw new ConfigError('http.adminToken', 'must be at least 16 characters');
  }
  httpS.done();

  const zonesS = root.section('zones');
  const zones: Config['zones'] = { directory: zonesS.string('directory') };
  zonesS.done();

  const driadS = root.section('driad');
  const driad: Config['driad'] = {
    ttl: driadS.int('ttl', 1, 604_800),
    degradedTtl: driadS.int('degradedTtl', 1, 604_800),
    reverseZones: driadS.list('reverseZones').map((z, i) => zoneName(z, `driad.reverseZones[${i}]`)),
  };
  if (driad.degradedTtl > driad.ttl) {
    throw new ConfigError('driad.degradedTtl', `must not exceed driad.ttl (${driad.degradedTtl} > ${driad.ttl})`);
  }
  driadS.done();

  const amtS = root.section('amtRelay');
  const amtRelay: Config['amtRelay'] = {
    enabled: amtS.bool('enabled'),
    relayType: amtS.oneOf('relayType', ['juniper', 'linux'] as const),
    gnmiAuthMode: amtS.oneOf('gnmiAuthMode', ['tls', 'password', 'tls+password'] as const),
    gnmiUsername: amtS.optString('gnmiUsername'),
    gnmiPasswordSecret: amtS.optString('gnmiPasswordSecret'),
    gnmiTLSSkipVerify: amtS.bool('gnmiTLSSkipVerify'),
    amtRelayPublicIP: amtS.optString('amtRelayPublicIP'),
    ipfixPort: amtS.int('ipfixPort', 1, 65535),
    gnmiTarget: amtS.optString('gnmiTarget'),
    precedence: amtS.int('precedence', 0, 255),
    maxTunnels: amtS.int('maxTunnels', 1, 100_000_000),
    linkBps: amtS.optInt('linkBps', 1, Number.MAX_SAFE_INTEGER),
  };
  if (amtRelay.amtRelayPublicIP !== undefined && isIP(amtRelay.amtRelayPublicIP) === 0) {
    throw new ConfigError('amtRelay.amtRelayPublicIP', `must be an IP address (got ${show(amtRelay.amtRelayPublicIP)})`);
  }
  if (amtRelay.gnmiTarget !== undefined) checkHostPort(amtRelay.gnmiTarget, 'amtRelay.gnmiTarget');
  const trafficOps = trafficOpsSection(root.raw('trafficOps'));
  if (amtRelay.enabled && amtRelay.relayType === 'juniper' && !amtRelay.amtRelayPublicIP && !trafficOps) {
    throw new ConfigError('amtRelay.amtRelayPublicIP', 'is required when amtRelay.enabled is true, relayType is juniper and trafficOps discovery is not configured');
  }
  if (amtRelay.gnmiAuthMode !== 'tls' && !amtRelay.gnmiUsername) {
    throw new ConfigError('amtRelay.gnmiUsername', `is required when gnmiAuthMode is ${amtRelay.gnmiAuthMode}`);
  }
  amtS.done();

  const gwS = root.section('gateway');
  const gateway: Config['gateway'] = {
    publicIP: gwS.optIp('publicIP', 4),
    publicIPv6: gwS.optIp('publicIPv6', 6),
    precedence: gwS.int('precedence', 0, 255),
    maxTunnels: gwS.int('maxTunnels', 1, 100_000_000),
    linkBps: gwS.optInt('linkBps', 1, Number.MAX_SAFE_INTEGER),
  };
  gwS.done();

  const relays = root.list('relays').map((r, i) => relay(r, `relays[${i}]`));

  const logS = root.section('log');
  const log: Config['log'] = {
    level: logS.oneOf('level', ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const),
    badInputIntervalMs: logS.int('badInputIntervalMs', 0, 3_600_000),
  };
  logS.done();

  const health = healthSection(root.section('health'));
  const policy = policySection(root.section('policy'));
  const ebpf = ebpfSection(root.section('ebpf'));

  root.done();
  const config: Config = { source, dns, http, zones, driad, amtRelay, gateway, relays, log, trafficOps, health, policy, ebpf };
  const names = new Set(relayList(config, []).map((r) => r.name));
  checkPolicyRelays(policy, names);
  if (ebpf.relay !== undefined && !names.has(ebpf.relay)) throw new ConfigError('ebpf.relay', `no relay named ${show(ebpf.relay)} (relays: ${[...names].join(', ')})`);
  return config;
}

function ebpfSection(s: Section): EbpfConfig {
  const e: EbpfConfig = {
    enabled: s.bool('enabled'),
    mode: s.oneOf('mode', ['auto', 'xdp', 'capture', 'kernel', 'off'] as const),
    relay: s.optString('relay'),
    interface: s.optString('interface'),
    port: s.int('port', 1, 65535),
    loaderPath: s.string('loaderPath'),
    tcpdumpPath: s.string('tcpdumpPath'),
    ipCommand: s.string('ipCommand'),
    sysfsDir: s.string('sysfsDir'),
    mapSize: s.int('mapSize', 1, 1_048_576),
    snapshotMs: s.int('snapshotMs', 10, 3_600_000),
    tunnelIdleMs: s.int('tunnelIdleMs', 1000, 86_400_000),
    signalIntervalMs: s.int('signalIntervalMs', 100, 3_600_000),
    maxEntries: s.int('maxEntries', 1, 10_000_000),
    restartMinMs: s.int('restartMinMs', 10, 600_000),
    restartMaxMs: s.int('restartMaxMs', 10, 3_600_000),
    maxFailures: s.int('maxFailures', 1, 1000),
  };
  if (e.interface !== undefined && !/^[^\s/]{1,15}$/.test(e.interface)) throw new ConfigError('ebpf.interface', `must be an interface name (got ${show(e.interface)})`);
  if (e.restartMaxMs < e.restartMinMs) throw new ConfigError('ebpf.restartMaxMs', `must be at least ebpf.restartMinMs (${e.restartMinMs})`);
  s.done();
  return e;
}

function trafficOpsSection(raw: unknown): TrafficOpsConfig | null {
  if (raw === undefined || raw === null) return null;
  const s = new Section(raw, 'trafficOps');
  const url = s.string('url');
  if (!/^https?:\/\/[^\s/]+/.test(url)) throw new ConfigError('trafficOps.url', `must be an http(s) URL (got ${show(url)})`);
  const to: TrafficOpsConfig = {
    url: url.replace(/\/+$/, ''),
    username: s.string('username'),
    password: s.string('password'),
    cachegroup: s.string('cachegroup'),
    profile: s.raw('profile') === undefined ? 'AMT_RELAY_MX_PROFILE' : s.string('profile'),
    schedule: s.raw('schedule') === undefined ? '*/30 * * * * *' : s.string('schedule'),
    timeoutMs: s.raw('timeoutMs') === undefined ? 10_000 : s.int('timeoutMs', 100, 300_000),
    stateFile: s.raw('stateFile') === undefined ? '.driad-state/traffic-ops-inventory.json' : s.string('stateFile'),
    tlsSkipVerify: s.raw('tlsSkipVerify') === undefined ? false : s.bool('tlsSkipVerify'),
  };
  if (!cron.validate(to.schedule)) throw new ConfigError('trafficOps.schedule', `is not a valid cron expression (got ${show(to.schedule)})`);
  s.done();
  return to;
}

function healthSection(s: Section): HealthConfig {
  const h: HealthConfig = {
    downAfter: s.int('downAfter', 1, 100),
    upAfter: s.int('upAfter', 1, 100),
    minHoldMs: s.int('minHoldMs', 0, 3_600_000),
    degradedUtilization: s.number('degradedUtilization', 0.01, 10),
    fullUtilization: s.number('fullUtilization', 0.01, 10),
    defaultMaxAgeMs: s.int('defaultMaxAgeMs', 1, 86_400_000),
    silenceIntervals: s.int('silenceIntervals', 1, 100),
  };
  if (h.degradedUtilization >= h.fullUtilization) {
    throw new ConfigError('health.degradedUtilization', `must be below health.fullUtilization (${h.degradedUtilization} >= ${h.fullUtilization})`);
  }
  s.done();
  return h;
}

function policySection(s: Section): PolicyConfig {
  const prefix = (r: Section): string => {
    const text = r.string('prefix');
    try {
      return parsePrefix(text).text;
    } catch (err) {
      throw new ConfigError(r.key('prefix'), (err as Error).message);
    }
  };
  const names = (r: Section, key: string): string[] => {
    const list = r.list(key);
    if (list.length === 0 || list.some((n) => typeof n !== 'string')) throw new ConfigError(r.key(key), 'must be a non-empty list of relay names');
    return list as string[];
  };
  const p: PolicyConfig = {
    sources: s.list('sources').map((raw, i) => {
      const r = new Section(raw, `policy.sources[${i}]`);
      const rule = { prefix: prefix(r), relays: names(r, 'relays') };
      r.done();
      return rule;
    }),
    clients: s.list('clients').map((raw, i) => {
      const r = new Section(raw, `policy.clients[${i}]`);
      const rule = { prefix: prefix(r), prefer: names(r, 'prefer') };
      r.done();
      return rule;
    }),
    capacityThreshold: s.number('capacityThreshold', 0.01, 1),
    rttBandMs: s.number('rttBandMs', 0, 10_000),
  };
  s.done();
  return p;
}

/** Policy lists name relays from the config, or a kind ('juniper', 'linux') for relays discovered at run time. */
function checkPolicyRelays(policy: PolicyConfig, names: Set<string>): void {
  const check = (list: string[], key: string): void => {
    list.forEach((name, j) => {
      if (!names.has(name) && name !== 'juniper' && name !== 'linux') {
        throw new ConfigError(`${key}[${j}]`, `no relay named ${show(name)} (relays: ${[...names].join(', ')}; or a kind: juniper, linux)`);
      }
    });
  };
  policy.sources.forEach((r, i) => check(r.relays, `policy.sources[${i}].relays`));
  policy.clients.forEach((r, i) => check(r.prefer, `policy.clients[${i}].prefer`));
}
