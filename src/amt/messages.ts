// The seven AMT messages of RFC 7450 §5.1, as the codec hands them out and takes them in.

/** UDP port of AMT (RFC 7450 §7.2, IANA). */
export const AMT_PORT = 2268;

/** Message type numbers (RFC 7450 §5.1). */
export const AMT_TYPE = {
  'relay-discovery': 1,
  'relay-advertisement': 2,
  request: 3,
  'membership-query': 4,
  'membership-update': 5,
  'multicast-data': 6,
  teardown: 7,
} as const;

export type AmtMessageType = keyof typeof AMT_TYPE;

export const AMT_TYPE_NAME: Readonly<Record<number, AmtMessageType>> = Object.fromEntries(
  Object.entries(AMT_TYPE).map(([name, n]) => [n, name as AmtMessageType]),
);

/** Relay Discovery (§5.1.1): 8 bytes. */
export interface RelayDiscovery {
  type: 'relay-discovery';
  /** Discovery Nonce, 32 bits. */
  nonce: number;
}

/** Relay Advertisement (§5.1.2): 12 bytes with an IPv4 relay address, 24 with an IPv6 one. */
export interface RelayAdvertisement {
  type: 'relay-advertisement';
  /** Discovery Nonce echoed from the Relay Discovery. */
  nonce: number;
  /** IPv4 or IPv6 text; the family is carried by the message length. */
  relayAddress: string;
}

/** Request (§5.1.3): 8 bytes. */
export interface Request {
  type: 'request';
  /** P flag: false asks for an IPv4/IGMPv3 General Query, true for an IPv6/MLDv2 one. */
  p: boolean;
  /** Request Nonce, 32 bits. */
  nonce: number;
}

/** Gateway Port Number and Gateway IP Address (§5.1.4.9, §5.1.7.6-7): 2 + 16 bytes on the wire. */
export interface GatewayEndpoint {
  port: number;
  /**
   * IPv6 text, or IPv4 text for an address the wire carries IPv4-compatible (96 zero bits and the
   * IPv4 address, as RFC 7450 prescribes). Decoding reads 96 zero bits as IPv4 only when the
   * address is outside 0.0.0.0/8, so `::` and `::1` stay IPv6 (and 0.0.0.0/8 cannot round-trip).
   */
  address: string;
}

/** Membership Query (§5.1.4): 12 bytes, the encapsulated IP packet, and 18 more when G=1. */
export interface MembershipQuery {
  type: 'membership-query';
  /** L flag: the relay accepts no new tunnel endpoints. */
  limited: boolean;
  /** Response MAC, 48 bits (an integer below 2^48). */
  responseMac: number;
  /** Request Nonce echoed from the Request. */
  nonce: number;
  /** The encapsulated IP datagram (an IGMPv3 or MLDv2 General Query; see membership.ts). */
  packet: Buffer;
  /** Present exactly when the G flag is set. */
  gateway: GatewayEndpoint | null;
}

/** Membership Update (§5.1.5): 12 bytes and the encapsulated IP packet. */
export interface MembershipUpdate {
  type: 'membership-update';
  responseMac: number;
  nonce: number;
  /** The encapsulated IGMP/MLD report datagram (see membership.ts). */
  packet: Buffer;
}

/** Multicast Data (§5.1.6): 2 bytes and the multicast IP datagram. */
export interface MulticastData {
  type: 'multicast-data';
  packet: Buffer;
}

/** Teardown (§5.1.7): 30 bytes. */
export interface Teardown {
  type: 'teardown';
  responseMac: number;
  nonce: number;
  gateway: GatewayEndpoint;
}

export type AmtMessage = RelayDiscovery | RelayAdvertisement | Request | MembershipQuery | MembershipUpdate | MulticastData | Teardown;

/**
 * A message that is not RFC 7450 but is what a known implementation sends, decoded as that
 * implementation meant it:
 * - `kernel-p-flag`: a Request with only bit 0x80 of byte 1 set, where Linux's struct
 *   amt_header_request puts P (RFC 7450: 0x01). Decoded as P=1.
 * - `kernel-query-flags`: a Membership Query with L/G at 0x40/0x80 of byte 1 (Linux's struct
 *   amt_header_membership_query; RFC 7450: 0x02/0x01) and the RFC's bits clear.
 */
export type AmtDeviation = 'kernel-p-flag' | 'kernel-query-flags';

/** Why bytes are not an AMT message. */
export type AmtErrorReason =
  /** Fewer bytes than the type's fixed fields (or none at all). */
  | 'short'
  /** The V field is not 0. */
  | 'version'
  /** Type 0 or 8-15. */
  | 'unknown-type'
  /** The fixed fields are there, but the length is not one the type can have. */
  | 'length'
  /** A bit the RFC reserves (must be sent as zero) is set, in no known implementation's pattern. */
  | 'reserved';

export type AmtDecodeResult =
  | { ok: true; message: AmtMessage; deviation?: AmtDeviation }
  | { ok: false; reason: AmtErrorReason; detail: string; /** The type number, when the bytes got that far. */ type?: number };

/** Largest Response MAC (48 bits). */
export const MAX_RESPONSE_MAC = 2 ** 48 - 1;

/** Smallest encapsulated IP packet accepted in Query, Update and Data (an IPv4 header). */
export const MIN_ENCAPSULATED = 20;
