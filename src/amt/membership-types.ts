// Shapes shared by the IGMP, MLD and encapsulated-packet decoders.

/** Why an encapsulated packet is not the IGMP/MLD message it should be. */
export type MembershipErrorReason =
  /** Fewer bytes than a header, or than the header's own lengths claim. */
  | 'short'
  /** Not an IPv4 or IPv6 header, or one that is malformed (length fields, options, checksum). */
  | 'ip-header'
  /** A fragment: AMT's IGMP/MLD datagrams are never fragmented. */
  | 'fragment'
  /** Not IGMP (IPv4 protocol 2) or ICMPv6 (IPv6 next header 58). */
  | 'protocol'
  /** The IGMP or ICMPv6 checksum is wrong. */
  | 'checksum'
  /** An IGMP/ICMPv6 type or a record type this message cannot carry. */
  | 'type'
  /** Counts inside the message (records, sources) run past its end. */
  | 'length';

export type InnerResult<T> = { ok: true; value: T } | { ok: false; reason: MembershipErrorReason; detail: string };

/** The fields of an IGMPv3 Query (RFC 3376 §4.1) or MLDv2 Query (RFC 3810 §5.1). */
export interface QueryFields {
  /** Max Resp Code: 8 bits in IGMPv3, 16 in MLDv2 (RFC 7450 §5.3.3.3: relays send 1). */
  maxRespCode: number;
  /** The unspecified address (0.0.0.0, ::) in a General Query. */
  group: string;
  /** S flag: suppress router-side processing. */
  suppress: boolean;
  /** Querier's Robustness Variable, 0-7. */
  qrv: number;
  /** Querier's Query Interval Code (see qqicSeconds). */
  qqic: number;
  sources: string[];
}
