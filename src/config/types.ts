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
}

export interface GatewayValues {
  publicIP?: string;
  publicIPv6?: string;
  precedence: number;
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
  log: {
    level: string;
    badInputIntervalMs: number;
  };
}
