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
  /** How the loader attaches XDP: auto (native where the driver has it, else generic), native or generic. */
  xdpAttach: 'auto' | 'native' | 'generic';
  loaderPath: string;
  tcpdumpPath: string;
  ipCommand: string;
  sysfsDir: string;
  mapSize: number;
  /** Records per CPU and hook in the programs' count log; 0: every count goes to the map. */
  logRecords: number;
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
  /** Write one amt-tunnel-lifecycle record per ended tunnel to the accounting spool. */
  tunnelRecords: boolean;
}

export type GnmiSubscriptionMode = 'sample' | 'on_change';

/** One subscribed path: `sample` at gnmi.sampleIntervalMs (counters), `on_change` with heartbeats (state). */
export interface GnmiPathConfig {
  path: string;
  mode: GnmiSubscriptionMode;
  /** on_change only: this path's heartbeat instead of gnmi.heartbeatIntervalMs (0: none). */
  heartbeatIntervalMs?: number;
}

/** The gNMI collector (src/collectors/gnmi/README.md); auth mode and user live in amtRelay (the seed's Helm values). */
export interface GnmiConfig {
  enabled: boolean;
  /** SAMPLE interval, the POLL interval after a fallback, and the intervalMs of the signals. */
  sampleIntervalMs: number;
  /** heartbeat_interval of the ON_CHANGE subscriptions; 0: none requested. */
  heartbeatIntervalMs: number;
  /** `stream` (fall back to poll when the target refuses) or `poll` from the start. */
  mode: 'stream' | 'poll';
  encoding: 'PROTO' | 'JSON' | 'JSON_IETF';
  paths: GnmiPathConfig[];
  /** Names or globs (`xe-*`) of the relay-facing interfaces whose octets give bandwidthBps; empty: every interface but ud-*, lo*, fxp*, em*. */
  relayInterfaces: string[];
  tls: {
    certFile: string;
    keyFile: string;
    caFile: string;
    /** The name the MX certificate must carry, when it is not the target's host. */
    serverName?: string;
  };
  /** gnmiAuthMode password only: no TLS at all (Junos clear-text port). */
  plaintext: boolean;
  /** From GNMI_PASSWORD; else read from the secret named amtRelay.gnmiPasswordSecret under secretsDir. */
  password?: string;
  secretsDir: string;
  backoff: { initialMs: number; maxMs: number };
  connectTimeoutMs: number;
  /** Updates flowing but no sync_response after this long: the relay is down with that reason. */
  syncTimeoutMs: number;
  /** Run the sessions (gRPC, decoding) in a worker thread, so the DNS event loop never waits for them. */
  worker: boolean;
  /** Nice value of the worker thread (Linux: per thread): on a core it shares with DNS, DNS gets the larger share. */
  workerNice: number;
  /** Subscribe responses waiting to be decoded; beyond it the oldest are dropped (counted). */
  queueLimit: number;
  maxMessageBytes: number;
}

/** DNS over HTTPS (RFC 8484) and the JSON API: see src/doh/README.md. */
export interface DohConfig {
  /** Serve DoH over HTTP/2 + TLS on `listen`; false: only over the HTTP listener (if `http1`). */
  enabled: boolean;
  /** HOST:PORT of the TLS listener (ALPN h2 and http/1.1). */
  listen: string;
  /** PEM files; both unset: a self-signed certificate generated at first start and kept in `stateDir`. */
  certFile?: string;
  keyFile?: string;
  stateDir: string;
  /** Also answer /dns-query and /resolve on `http.listen` (plain HTTP/1.1, behind a TLS-terminating proxy). */
  http1: boolean;
  /** Origins allowed to call DoH, /resolve and /api/v1/candidates from a page; '*' for any. */
  corsOrigins: string[];
  /** Proxies (prefixes) whose X-Forwarded-For / Forwarded headers are believed. */
  trustedProxies: string[];
  /** Largest DNS query accepted, in a POST body or a GET `dns` parameter (decoded). */
  maxQueryBytes: number;
  /** Longest request target (path and query) accepted. */
  maxUrlBytes: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection. */
  maxConcurrentStreams: number;
  /** Largest header block accepted (HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE). */
  maxHeaderBytes: number;
  /** TLS connections open at once; more are closed at once. */
  maxConnections: number;
  /** A TLS handshake not done by then is dropped. */
  handshakeTimeoutMs: number;
  /** A connection with no request for this long is closed; a request whose body is not in by then gets 408. */
  idleTimeoutMs: number;
  /** HTTP/2 through native/h2-session (libnghttp2, driven from memory); false, or the addon not built: node:http2. */
  nativeH2: boolean;
}

/** The RTT prober (src/prober/): AMT Relay Discovery to each relay; unset: not running. */
export interface ProberConfig {
  intervalMs: number;
  /** Each interval is drawn from intervalMs * (1 ± jitter). */
  jitter: number;
  /** A probe without an answer by then is lost. */
  timeoutMs: number;
  /** UDP port of the relays' AMT service (RFC 7450: 2268). */
  port: number;
  /** Weight of a new sample in the smoothed RTT (RFC 6298's alpha: 0.125). */
  smoothing: number;
  /** Probes the loss rate is computed over. */
  lossWindow: number;
  /** Consecutive lost probes before the relay is reported unreachable. */
  lossesToDown: number;
  /** TCP port to connect to when Relay Discovery goes unanswered (unset: no fallback). */
  tcpPort?: number;
  /** Per relay: another HOST:PORT to probe, its own TCP fallback port, or no probing. */
  relays: ProberRelayConfig[];
}

export interface ProberRelayConfig {
  name: string;
  target?: string;
  tcpPort?: number;
  enabled: boolean;
}

/** The IPFIX/J-Flow collector (src/collectors/ipfix/README.md); its port is amtRelay.ipfixPort. */
export interface IpfixConfig {
  enabled: boolean;
  /** Address the UDP socket and the TCP server bind (the port is amtRelay.ipfixPort). */
  listen: string;
  tcp: boolean;
  /** Aggregation interval: tunnel usage records and the tunnels/bandwidthBps signals, one per interval. */
  intervalMs: number;
  /** Exporters that send from an address other than their relay's, by address. */
  exporters: Array<{ address: string; relay: string }>;
  templateLifetimeMs: number;
  maxExporters: number;
  maxTemplatesPerExporter: number;
  /** Messages waiting to be decoded; beyond it new ones are dropped (counted). */
  queueLimit: number;
  /** Messages decoded before yielding to the event loop. */
  batchMessages: number;
  /** SO_RCVBUF of the UDP socket (the kernel caps it at net.core.rmem_max; the cap is reported). */
  receiveBufferBytes: number;
  /** Read UDP with the native batched receive (native/udp-batch, recvmmsg) when it is built. */
  batchedReceive: boolean;
  /** Write one usage record per tunnel per interval to the accounting spool. */
  usageRecords: boolean;
}

/** The accounting spool (src/accounting/README.md) and its CDNI file consumer. */
export interface AccountingConfig {
  enabled: boolean;
  directory: string;
  fsync: 'always' | 'interval';
  fsyncIntervalMs: number;
  segmentBytes: number;
  maxBytes: number;
  cdni: {
    enabled: boolean;
    directory: string;
    rotateMs: number;
    maxRecords: number;
    /** `#claimed-origin` of the files; default the host name. */
    claimedOrigin?: string;
  };
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
  gnmi: GnmiConfig;
  ipfix: IpfixConfig;
  accounting: AccountingConfig;
  health: HealthConfig;
  policy: PolicyConfig;
  ebpf: EbpfConfig;
  doh: DohConfig;
  prober: ProberConfig | null;
  log: {
    level: string;
    badInputIntervalMs: number;
  };
}
