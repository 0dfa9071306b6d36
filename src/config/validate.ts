import { isIP } from 'node:net';
import cron from 'node-cron';
import { parsePath } from '../collectors/gnmi/wire/path.ts';
import { parsePrefix } from '../driad/prefix.ts';
import { defaultGnmiTarget, relayList } from '../inventory/relays.ts';
import { ConfigError } from './errors.ts';
import { RELAY_STATES, type AccountingConfig, type AmtRelayValues, type Config, type DohConfig, type EbpfConfig, type GnmiConfig, type HealthConfig, type IpfixConfig, type PolicyConfig, type ProberConfig, type RelayConfig, type TrafficOpsConfig } from './types.ts';

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
    ipfixPort: amtS.int('ipfixPort', 0, 65535),
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

  const gnmi = gnmiSection(root.section('gnmi'), amtRelay);
  const health = healthSection(root.section('health'));
  const policy = policySection(root.section('policy'));
  const ebpf = ebpfSection(root.section('ebpf'));
  const ipfix = ipfixSection(root.section('ipfix'));
  const accounting = accountingSection(root.section('accounting'));
  const doh = dohSection(root.section('doh'));
  const prober = proberSection(root.raw('prober'));

  root.done();
  const config: Config = { source, dns, http, zones, driad, amtRelay, gateway, relays, log, trafficOps, gnmi, ipfix, accounting, health, policy, doh, prober, ebpf };
  const names = new Set(relayList(config, []).map((r) => r.name));
  checkPolicyRelays(policy, names);
  if (prober && !trafficOps) {
    prober.relays.forEach((r, i) => {
      if (!names.has(r.name)) throw new ConfigError(`prober.relays[${i}].name`, `no relay named ${show(r.name)} (relays: ${[...names].join(', ')})`);
    });
  }
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
    xdpAttach: s.oneOf('xdpAttach', ['auto', 'native', 'generic'] as const),
    loaderPath: s.string('loaderPath'),
    tcpdumpPath: s.string('tcpdumpPath'),
    ipCommand: s.string('ipCommand'),
    sysfsDir: s.string('sysfsDir'),
    mapSize: s.int('mapSize', 1, 1_048_576),
    logRecords: s.int('logRecords', 0, 4_194_304),
    snapshotMs: s.int('snapshotMs', 10, 3_600_000),
    tunnelIdleMs: s.int('tunnelIdleMs', 1000, 86_400_000),
    signalIntervalMs: s.int('signalIntervalMs', 100, 3_600_000),
    maxEntries: s.int('maxEntries', 1, 10_000_000),
    restartMinMs: s.int('restartMinMs', 10, 600_000),
    restartMaxMs: s.int('restartMaxMs', 10, 3_600_000),
    maxFailures: s.int('maxFailures', 1, 1000),
    tunnelRecords: s.bool('tunnelRecords'),
  };
  if (e.interface !== undefined && !/^[^\s/]{1,15}$/.test(e.interface)) throw new ConfigError('ebpf.interface', `must be an interface name (got ${show(e.interface)})`);
  if (e.logRecords & (e.logRecords - 1)) throw new ConfigError('ebpf.logRecords', `must be 0 or a power of two (got ${e.logRecords})`);
  if (e.restartMaxMs < e.restartMinMs) throw new ConfigError('ebpf.restartMaxMs', `must be at least ebpf.restartMinMs (${e.restartMinMs})`);
  s.done();
  return e;
}

function dohSection(s: Section): DohConfig {
  const strings = (key: string): string[] => {
    const list = s.list(key);
    if (list.some((v) => typeof v !== 'string' || v === '')) throw new ConfigError(s.key(key), 'must be a list of strings');
    return list as string[];
  };
  const d: DohConfig = {
    enabled: s.bool('enabled'),
    listen: s.string('listen'),
    certFile: s.optString('certFile'),
    keyFile: s.optString('keyFile'),
    stateDir: s.string('stateDir'),
    http1: s.bool('http1'),
    corsOrigins: strings('corsOrigins'),
    trustedProxies: strings('trustedProxies'),
    maxQueryBytes: s.int('maxQueryBytes', 12, 65535),
    maxUrlBytes: s.int('maxUrlBytes', 256, 65536),
    maxConcurrentStreams: s.int('maxConcurrentStreams', 1, 10_000),
    maxHeaderBytes: s.int('maxHeaderBytes', 1024, 1_048_576),
    maxConnections: s.int('maxConnections', 1, 1_000_000),
    handshakeTimeoutMs: s.int('handshakeTimeoutMs', 100, 600_000),
    idleTimeoutMs: s.int('idleTimeoutMs', 100, 3_600_000),
    nativeH2: s.bool('nativeH2'),
  };
  parseHostPort(d.listen, 'doh.listen');
  if ((d.certFile === undefined) !== (d.keyFile === undefined)) {
    throw new ConfigError(d.certFile === undefined ? 'doh.certFile' : 'doh.keyFile', 'doh.certFile and doh.keyFile go together: set both or neither');
  }
  d.corsOrigins.forEach((o, i) => {
    if (o !== '*' && !/^https?:\/\/[^\s/]+$/.test(o)) throw new ConfigError(`doh.corsOrigins[${i}]`, `must be '*' or an origin like https://app.example.net (got ${show(o)})`);
  });
  d.trustedProxies = d.trustedProxies.map((p, i) => {
    const text = p.includes('/') ? p : `${p}/${isIP(p) === 6 ? 128 : 32}`;
    try {
      return parsePrefix(text).text;
    } catch (err) {
      throw new ConfigError(`doh.trustedProxies[${i}]`, (err as Error).message);
    }
  });
  s.done();
  return d;
}

function proberSection(raw: unknown): ProberConfig | null {
  if (raw === undefined || raw === null) return null;
  const s = new Section(raw, 'prober');
  const or = <T>(key: string, fallback: T, read: () => T): T => (s.raw(key) === undefined ? fallback : read());
  const p: ProberConfig = {
    intervalMs: or('intervalMs', 5000, () => s.int('intervalMs', 10, 3_600_000)),
    jitter: or('jitter', 0.2, () => s.number('jitter', 0, 0.9)),
    timeoutMs: or('timeoutMs', 1000, () => s.int('timeoutMs', 1, 60_000)),
    port: or('port', 2268, () => s.int('port', 1, 65535)),
    smoothing: or('smoothing', 0.125, () => s.number('smoothing', 0.01, 1)),
    lossWindow: or('lossWindow', 20, () => s.int('lossWindow', 1, 1000)),
    lossesToDown: or('lossesToDown', 3, () => s.int('lossesToDown', 1, 1000)),
    tcpPort: s.optInt('tcpPort', 1, 65535),
    relays: s.list('relays').map((r, i) => {
      const key = `prober.relays[${i}]`;
      const rs = new Section(r, key);
      const relay = {
        name: rs.string('name'),
        target: rs.optString('target'),
        tcpPort: rs.optInt('tcpPort', 1, 65535),
        enabled: rs.raw('enabled') === undefined ? true : rs.bool('enabled'),
      };
      if (relay.target !== undefined) parseHostPort(relay.target, `${key}.target`);
      rs.done();
      return relay;
    }),
  };
  if (p.timeoutMs >= p.intervalMs) throw new ConfigError('prober.timeoutMs', `must be below prober.intervalMs (${p.timeoutMs} >= ${p.intervalMs})`);
  s.done();
  return p;
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

const JGRPC_QUIRK = 'Junos JGrpcServer rejects an empty password even with skip-authentication (it needs username and password in gRPC metadata)';

function gnmiSection(s: Section, amt: AmtRelayValues): GnmiConfig {
  const tlsS = s.section('tls');
  const backoffS = s.section('backoff');
  const g: GnmiConfig = {
    enabled: s.bool('enabled'),
    sampleIntervalMs: s.int('sampleIntervalMs', 10, 3_600_000),
    heartbeatIntervalMs: s.int('heartbeatIntervalMs', 0, 86_400_000),
    mode: s.oneOf('mode', ['stream', 'poll'] as const),
    encoding: s.oneOf('encoding', ['PROTO', 'JSON', 'JSON_IETF'] as const),
    paths: s.list('paths').map((raw, i) => gnmiPath(raw, `gnmi.paths[${i}]`)),
    relayInterfaces: s.list('relayInterfaces').map((v, i) => {
      if (typeof v !== 'string' || v === '') throw new ConfigError(`gnmi.relayInterfaces[${i}]`, `must be an interface name or glob (got ${show(v)})`);
      return v;
    }),
    tls: { certFile: tlsS.string('certFile'), keyFile: tlsS.string('keyFile'), caFile: tlsS.string('caFile'), serverName: tlsS.optString('serverName') },
    plaintext: s.bool('plaintext'),
    password: s.optString('password'),
    secretsDir: s.string('secretsDir'),
    backoff: { initialMs: backoffS.int('initialMs', 1, 3_600_000), maxMs: backoffS.int('maxMs', 1, 3_600_000) },
    connectTimeoutMs: s.int('connectTimeoutMs', 10, 600_000),
    syncTimeoutMs: s.int('syncTimeoutMs', 10, 3_600_000),
    worker: s.bool('worker'),
    workerNice: s.int('workerNice', 0, 19),
    queueLimit: s.int('queueLimit', 1, 10_000_000),
    maxMessageBytes: s.int('maxMessageBytes', 1024, 2 ** 31 - 1),
  };
  tlsS.done();
  backoffS.done();
  s.done();
  if (g.paths.length === 0) throw new ConfigError('gnmi.paths', 'needs at least one path');
  if (g.backoff.maxMs < g.backoff.initialMs) {
    throw new ConfigError('gnmi.backoff.maxMs', `must not be below gnmi.backoff.initialMs (${g.backoff.maxMs} < ${g.backoff.initialMs})`);
  }
  if (g.plaintext && amt.gnmiAuthMode !== 'password') {
    throw new ConfigError('gnmi.plaintext', `needs amtRelay.gnmiAuthMode password (mode ${amt.gnmiAuthMode} means mutual TLS)`);
  }
  if (g.password !== undefined && !amt.gnmiUsername) throw new ConfigError('gnmi.password', 'is set but amtRelay.gnmiUsername is not');
  if (amt.gnmiUsername && g.password === undefined && !amt.gnmiPasswordSecret) {
    throw new ConfigError('amtRelay.gnmiUsername', `is set without a password (GNMI_PASSWORD or amtRelay.gnmiPasswordSecret): ${JGRPC_QUIRK}`);
  }
  if (amt.gnmiPasswordSecret !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(amt.gnmiPasswordSecret)) {
    throw new ConfigError('amtRelay.gnmiPasswordSecret', `must be a secret name (letters, digits, '.', '_', '-'; got ${show(amt.gnmiPasswordSecret)})`);
  }
  return g;
}

function gnmiPath(raw: unknown, key: string): GnmiConfig['paths'][number] {
  const r = typeof raw === 'string' ? new Section({ path: raw }, key) : new Section(raw, key);
  const path = r.string('path');
  const mode = r.raw('mode') === undefined ? 'sample' : r.oneOf('mode', ['sample', 'on_change'] as const);
  const heartbeatIntervalMs = r.optInt('heartbeatIntervalMs', 0, 86_400_000);
  r.done();
  const parsed = parsePath(path);
  if (!parsed.ok) throw new ConfigError(`${key}.path`, parsed.error);
  if (heartbeatIntervalMs !== undefined && mode !== 'on_change') throw new ConfigError(`${key}.heartbeatIntervalMs`, 'applies to on_change paths only');
  return heartbeatIntervalMs === undefined ? { path, mode } : { path, mode, heartbeatIntervalMs };
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

function ipfixSection(s: Section): IpfixConfig {
  const c: IpfixConfig = {
    enabled: s.bool('enabled'),
    listen: s.string('listen'),
    tcp: s.bool('tcp'),
    intervalMs: s.int('intervalMs', 100, 3_600_000),
    exporters: s.list('exporters').map((raw, i) => {
      const e = new Section(raw, `ipfix.exporters[${i}]`);
      const exporter = { address: e.string('address'), relay: e.string('relay') };
      if (isIP(exporter.address) === 0) throw new ConfigError(e.key('address'), `must be an IP address (got ${show(exporter.address)})`);
      e.done();
      return exporter;
    }),
    templateLifetimeMs: s.int('templateLifetimeMs', 0, 86_400_000),
    maxExporters: s.int('maxExporters', 1, 1_000_000),
    maxTemplatesPerExporter: s.int('maxTemplatesPerExporter', 1, 1_000_000),
    queueLimit: s.int('queueLimit', 1, 10_000_000),
    batchMessages: s.int('batchMessages', 1, 100_000),
    receiveBufferBytes: s.int('receiveBufferBytes', 4096, 2 ** 31 - 1),
    batchedReceive: s.bool('batchedReceive'),
    usageRecords: s.bool('usageRecords'),
  };
  if (isIP(c.listen) === 0) throw new ConfigError('ipfix.listen', `must be an IP address to bind, the port is amtRelay.ipfixPort (got ${show(c.listen)})`);
  s.done();
  return c;
}

function accountingSection(s: Section): AccountingConfig {
  const cdniS = s.section('cdni');
  const c: AccountingConfig = {
    enabled: s.bool('enabled'),
    directory: s.string('directory'),
    fsync: s.oneOf('fsync', ['always', 'interval'] as const),
    fsyncIntervalMs: s.int('fsyncIntervalMs', 1, 3_600_000),
    segmentBytes: s.int('segmentBytes', 4096, 1 << 30),
    maxBytes: s.int('maxBytes', 4096, Number.MAX_SAFE_INTEGER),
    cdni: {
      enabled: cdniS.bool('enabled'),
      directory: cdniS.string('directory'),
      rotateMs: cdniS.int('rotateMs', 100, 86_400_000),
      maxRecords: cdniS.int('maxRecords', 1, 100_000_000),
      claimedOrigin: cdniS.optString('claimedOrigin'),
    },
  };
  if (c.cdni.claimedOrigin !== undefined && !/^[A-Za-z0-9._~-]+$/.test(c.cdni.claimedOrigin)) {
    throw new ConfigError('accounting.cdni.claimedOrigin', `must be a host name (got ${show(c.cdni.claimedOrigin)})`);
  }
  if (c.maxBytes < c.segmentBytes) throw new ConfigError('accounting.maxBytes', `must be at least accounting.segmentBytes (${c.maxBytes} < ${c.segmentBytes})`);
  cdniS.done();
  s.done();
  return c;
}
