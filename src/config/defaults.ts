import type { Config } from './types.ts';

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
    health: { downAfter: 1, upAfter: 2, minHoldMs: 5000, degradedUtilization: 0.85, fullUtilization: 1, defaultMaxAgeMs: 30_000, silenceIntervals: 3 },
    policy: { sources: [], clients: [], capacityThreshold: 0.9, rttBandMs: 10 },
    ebpf: {
      enabled: true,
      mode: 'auto',
      port: 2268,
      loaderPath: new URL('../collectors/ebpf/build/driad-amt-loader', import.meta.url).pathname,
      tcpdumpPath: 'tcpdump',
      ipCommand: 'ip',
      sysfsDir: '/sys/class/net',
      mapSize: 65_536,
      snapshotMs: 1000,
      tunnelIdleMs: 260_000,
      signalIntervalMs: 5000,
      maxEntries: 100_000,
      restartMinMs: 1000,
      restartMaxMs: 30_000,
      maxFailures: 3,
    },
    log: { level: 'info', badInputIntervalMs: 10_000 },
  };
}
