import type { Config, GnmiConfig } from './types.ts';

/**
 * Juniper-shaped: openconfig-interfaces, and the AMT XML-proxy sensors of deploy/junos (docs/gnmi.md).
 * The per-tunnel list (/junos/amt/tunnels/tunnel, ON_CHANGE) is left out: an XML proxy sensor that
 * large is more than Junos advises; add it for small relays.
 */
export const DEFAULT_GNMI_PATHS: GnmiConfig['paths'] = [
  { path: '/interfaces/interface/state/counters', mode: 'sample' },
  { path: '/interfaces/interface/state/oper-status', mode: 'on_change' },
  { path: '/interfaces/interface/state/high-speed', mode: 'on_change' },
  { path: '/junos/amt/summary', mode: 'on_change' },
  { path: '/junos/amt/statistics', mode: 'sample' },
];

export function defaultGnmiConfig(): GnmiConfig {
  return {
    enabled: false,
    sampleIntervalMs: 10_000,
    heartbeatIntervalMs: 60_000,
    mode: 'stream',
    encoding: 'PROTO',
    paths: DEFAULT_GNMI_PATHS.map((p) => ({ ...p })),
    relayInterfaces: [],
    tls: { certFile: '/var/opt/magma/certs/gateway.crt', keyFile: '/var/opt/magma/certs/gateway.key', caFile: '/var/opt/magma/certs/rootCA.pem' },
    plaintext: false,
    secretsDir: '/var/run/secrets/driad',
    backoff: { initialMs: 1000, maxMs: 60_000 },
    connectTimeoutMs: 10_000,
    syncTimeoutMs: 60_000,
    worker: true,
    workerNice: 15,
    queueLimit: 200_000,
    maxMessageBytes: 64 * 1024 * 1024,
  };
}

/**
 * The embedded default: a development run on loopback with the seed's example MX
 * (69.25.95.1) and a documentation-range Linux gateway.
 */
export function defaultConfig(): Config {
  return {
    dns: {
      listen: ['127.0.0.1:5300'],
      udpPayloadSize: 1232,
      tcpIdleTimeoutMs: 10_000,
      tcpMaxConnections: 1000,
      queryLog: false,
      udpBatch: true,
    },
    http: { listen: '127.0.0.1:8080' },
    zones: { directory: new URL('../../zones', import.meta.url).pathname },
    driad: { ttl: 300, degradedTtl: 30, reverseZones: [] },
    amtRelay: {
      enabled: true,
      relayType: 'juniper',
      gnmiAuthMode: 'tls',
      gnmiTLSSkipVerify: false,
      amtRelayPublicIP: '69.25.95.1',
      ipfixPort: 4739,
      precedence: 10,
      maxTunnels: 500_000,
    },
    gateway: { publicIP: '192.0.2.10', precedence: 20, maxTunnels: 1000 },
    relays: [],
    trafficOps: null,
    gnmi: defaultGnmiConfig(),
    ipfix: {
      enabled: false,
      listen: '127.0.0.1',
      tcp: true,
      intervalMs: 60_000,
      exporters: [],
      templateLifetimeMs: 1_800_000,
      maxExporters: 1024,
      maxTemplatesPerExporter: 4096,
      queueLimit: 65_536,
      batchMessages: 256,
      receiveBufferBytes: 8 << 20,
      batchedReceive: true,
      usageRecords: true,
    },
    accounting: {
      enabled: false,
      directory: '.driad-state/accounting',
      fsync: 'always',
      fsyncIntervalMs: 1000,
      segmentBytes: 16 << 20,
      maxBytes: 1 << 30,
      cdni: { enabled: true, directory: '.driad-state/cdni', rotateMs: 300_000, maxRecords: 1_000_000 },
    },
    health: { downAfter: 1, upAfter: 2, minHoldMs: 5000, degradedUtilization: 0.85, fullUtilization: 1, defaultMaxAgeMs: 30_000, silenceIntervals: 3 },
    policy: { sources: [], clients: [], capacityThreshold: 0.9, rttBandMs: 10 },
    ebpf: {
      // On by default: with no linux relay address on a local interface and no amt netdev it stays off and says why.
      enabled: true,
      mode: 'auto',
      port: 2268,
      xdpAttach: 'auto',
      loaderPath: new URL('../collectors/ebpf/build/driad-amt-loader', import.meta.url).pathname,
      tcpdumpPath: 'tcpdump',
      ipCommand: 'ip',
      sysfsDir: '/sys/class/net',
      mapSize: 65_536,
      logRecords: 8192,
      snapshotMs: 1000,
      tunnelIdleMs: 260_000,
      signalIntervalMs: 5000,
      maxEntries: 100_000,
      restartMinMs: 1000,
      restartMaxMs: 30_000,
      maxFailures: 3,
      tunnelRecords: true,
    },
    doh: {
      enabled: true,
      listen: '127.0.0.1:8443',
      stateDir: '.driad-state/doh',
      http1: true,
      corsOrigins: ['*'],
      trustedProxies: [],
      maxQueryBytes: 4096,
      maxUrlBytes: 8192,
      maxConcurrentStreams: 100,
      maxHeaderBytes: 16384,
      maxConnections: 10_000,
      handshakeTimeoutMs: 5000,
      idleTimeoutMs: 30_000,
      nativeH2: true,
    },
    prober: null,
    log: { level: 'info', badInputIntervalMs: 10_000 },
  };
}
