export type RelayState = 'up' | 'degraded' | 'down' | 'unknown';
export const RELAY_STATES: readonly RelayState[] = ['up', 'degraded', 'down', 'unknown'];

export type RelayKind = 'juniper' | 'linux';

export interface RelayConfig {
  name: string;
  kind: RelayKind;
  ipv4?: string;
  ipv6?: string;
  /** Lower is preferred, as in the AMTRELAY precedence field. */
  precedence: number;
  /** The AMTRELAY D-bit: gateways may skip AMT Discovery for this relay. */
  discoveryOptional: boolean;
  /** State at start, until an operator or a collector says otherwise. */
  state: RelayState;
  /** Tunnels it can carry; tunnel signals are judged against it. */
  maxTunnels?: number;
  /** Link speed in bit/s; bandwidth signals are judged against it. */
  linkBps?: number;
  /** Where the relay came from. */
  origin: 'config' | 'traffic-ops';
  /** MX only: HOST:PORT of its gNMI server, the explicit amtRelay.gnmiTarget or else its address on port 32767. */
  gnmiTarget?: string;
}

/** The seed's Helm values for a Juniper MX hardware relay, accepted as written there. */
export interface AmtRelayValues {
  enabled: boolean;
  relayType: RelayKind;
  gnmiAuthMode: 'tls' | 'password' | 'tls+password';
  gnmiUsername?: string;
  gnmiPasswordSecret?: string;
  gnmiTLSSkipVerify: boolean;
  amtRelayPublicIP?: string;
  ipfixPort: number;
  gnmiTarget?: string;
  precedence: number;
  maxTunnels: number;
  linkBps?: number;
}

export interface GatewayValues {
  publicIP?: string;
  publicIPv6?: string;
  precedence: number;
  maxTunnels: number;
  linkBps?: number;
}

/** Apache Traffic Ops auto-discovery of the MX relays in our cachegroup. */
export interface TrafficOpsConfig {
  url: string;
  username: string;
  password: string;
  cachegroup: string;
  profile: string;
  schedule: string;
  timeoutMs: number;
  stateFile: string;
  tlsSkipVerify: boolean;
}

export interface HealthConfig {
  downAfter: number;
  upAfter: number;
  minHoldMs: number;
  degradedUtilization: number;
  fullUtilization: number;
  /** Max age of a signal that does not say its own. */
  defaultMaxAgeMs: number;
  /** A source that states its reporting interval and falls silent makes its relay unknown within this many intervals. */
  silenceIntervals: number;
}

export interface SourceRule {
  prefix: string;
  relays: string[];
}

export interface ClientRule {
  prefix: string;
  prefer: string[];
}

export interface PolicyConfig {
  /** Candidate relays per multicast source prefix (longest prefix wins); all relays when none matches. */
  sources: SourceRule[];
  /** Relays to rank first for clients (EDNS Client Subnet, else the resolver) in a prefix. */
  clients: ClientRule[];
  /** Relays at or above this tunnel utilization rank after those below it. */
  capacityThreshold: number;
  /** RTTs within the same band of this many ms count as equal, so noise does not reorder relays. */
  rttBandMs: number;
}

/** The Linux AMT relay's tracker (src/collectors/ebpf/README.md). */
export interface EbpfConfig {
  enabled: boolean;
  /** auto: xdp, else capture, else kernel, else off. */
  mode: 'auto' | 'xdp' | 'capture' | 'kernel' | 'off';
  /** The relay it watches; default the linux relay whose address a local interface holds. */
  relay?: string;
  /** The relay's interface; default the one holding the relay's address. */
  interface?: string;
  port: number;
  loaderPath: string;
  tcpdumpPath: string;
  ipCommand: string;
  sysfsDir: string;
  mapSize: number;
  snapshotMs: number;
  /** A tunnel with no Request (or, times three, no Update) for this long is no longer active. */
  tunnelIdleMs: number;
  signalIntervalMs: number;
  /** Tunnels the table keeps at most. */
  maxEntries: number;
  restartMinMs: number;
  restartMaxMs: number;
  /** Consecutive failed runs of a mode before the next mode is tried. */
  maxFailures: number;
}

export interface Config {
  /** Where the config came from, for logs; undefined for the embedded default. */
  source?: string;
  dns: {
    listen: string[];
    udpPayloadSize: number;
    tcpIdleTimeoutMs: number;
    tcpMaxConnections: number;
    queryLog: boolean;
    /** Receive and send UDP in batches through the native addon (falls back to node:dgram when it is not built). */
    udpBatch: boolean;
  };
  http: {
    listen: string;
    adminToken?: string;
  };
  zones: {
    directory: string;
  };
  driad: {
    ttl: number;
    degradedTtl: number;
    /** Plain reverse zones (e.g. 100.51.198.in-addr.arpa) where driad answers AMTRELAY itself, RFC 8777 §2.2. */
    reverseZones: string[];
  };
  amtRelay: AmtRelayValues;
  gateway: GatewayValues;
  /** Extra relays beyond the MX and the gateway. */
  relays: RelayConfig[];
  trafficOps: TrafficOpsConfig | null;
  health: HealthConfig;
  policy: PolicyConfig;
  ebpf: EbpfConfig;
  log: {
    level: string;
    badInputIntervalMs: number;
  };
}
