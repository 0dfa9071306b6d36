/**
 * The records accounting sources write to the spool. Each carries a stable id: the same usage
 * (one tunnel, one interval) always gets the same id, so a duplicate delivered after a crash can
 * be recognised by any consumer.
 */
import { createHash } from 'node:crypto';

/** One AMT tunnel's data in one interval, as the IPFIX collector measured it (sampling applied). */
export interface AmtTunnelUsage {
  type: 'amt-tunnel-usage';
  id: string;
  /** The collector that measured it: 'ipfix', 'ebpf', ... */
  source: string;
  /** Epoch ms at which the interval began. */
  start: number;
  durationMs: number;
  relay: string;
  /** The relay address the data left from (the flow's source). */
  relayAddress: string;
  gateway: string;
  gatewayPort: number;
  /** The multicast group, where the source saw it (J-Flow of the outer packet does not). */
  group: string | null;
  /** Octets and packets sent to the gateway, multiplied by the sampling rate and rounded. */
  bytes: number;
  packets: number;
  /** The 1-in-N sampling rate the counts were multiplied by (1: unsampled or unknown). */
  samplingRate: number;
}

/**
 * One AMT tunnel's whole life at the Linux relay, as the ebpf collector saw every packet of it
 * (unsampled): from the message that opened it (its Request) to its end. Counts are AMT messages
 * (UDP payloads); as a CDNI record (lifecycleAsUsage) they become outer IP octets.
 */
export interface AmtTunnelLifecycle {
  type: 'amt-tunnel-lifecycle';
  id: string;
  source: string;
  relay: string;
  /** The relay's address of the gateway's family (its ipv4 or ipv6 in the inventory). */
  relayAddress: string;
  gateway: string;
  gatewayPort: number;
  /** Epoch ms of the opening Request (or the first Update, when driad started during the tunnel). */
  start: number;
  /** Epoch ms of the Teardown, of the end of the keepalive window, of the eviction or of the stop. */
  end: number;
  durationMs: number;
  endReason: 'teardown' | 'expired' | 'evicted' | 'stopped';
  /** Every group joined while it was open, in the order first joined; groupsOmitted beyond 64. */
  groups: string[];
  groupsOmitted: number;
  /** Membership Queries and Multicast Data sent to the gateway: messages and their octets. */
  packets: number;
  bytes: number;
  /** Requests, Membership Updates and the Teardown sent by the gateway. */
  packetsFromGateway: number;
  bytesFromGateway: number;
  /** How it was seen: 'xdp' or 'capture'. */
  mode: string;
}

export type AccountingRecord = AmtTunnelUsage | AmtTunnelLifecycle;

/** The id of one tunnel's life: gateway address and port and the time it opened name it. */
export function tunnelLifecycleId(r: Pick<AmtTunnelLifecycle, 'source' | 'relay' | 'gateway' | 'gatewayPort' | 'start'>): string {
  return nameBasedUuid(['amt-tunnel-lifecycle', r.source, r.relay, r.gateway, r.gatewayPort, r.start].join('|'));
}

/** IPv4 + UDP and IPv6 + UDP headers without options: what an AMT message adds on the wire. */
const OUTER_HEADERS = { 4: 28, 6: 48 } as const;

/**
 * A tunnel's life as a CDNI usage line (docs/cdni.md): the life is the interval, its one group
 * when it joined exactly one (else none), octets of the outer IP packets, unsampled, same id.
 */
export function lifecycleAsUsage(r: AmtTunnelLifecycle): AmtTunnelUsage {
  const outer = OUTER_HEADERS[r.gateway.includes(':') ? 6 : 4];
  return {
    type: 'amt-tunnel-usage',
    id: r.id,
    source: r.source,
    start: r.start,
    durationMs: r.durationMs,
    relay: r.relay,
    relayAddress: r.relayAddress,
    gateway: r.gateway,
    gatewayPort: r.gatewayPort,
    group: r.groups.length === 1 && r.groupsOmitted === 0 ? r.groups[0]! : null,
    bytes: r.bytes + r.packets * outer,
    packets: r.packets,
    samplingRate: 1,
  };
}

/** Namespace of driad's name-based record ids (a random UUID, fixed once). */
const NAMESPACE = Buffer.from('6f1c2a8e4b7d4e0f9a35c1d2e3f40516', 'hex');

/** An RFC 9562 name-based (SHA-1, version 5) UUID of `name` in driad's namespace. */
export function nameBasedUuid(name: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(name).digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const h = hash.subarray(0, 16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/** The id of one tunnel's usage in one interval: the same inputs always give the same id. */
export function tunnelUsageId(u: Pick<AmtTunnelUsage, 'source' | 'relay' | 'gateway' | 'gatewayPort' | 'group' | 'start' | 'durationMs'>): string {
  return nameBasedUuid(['amt-tunnel-usage', u.source, u.relay, u.gateway, u.gatewayPort, u.group ?? '', u.start, u.durationMs].join('|'));
}
