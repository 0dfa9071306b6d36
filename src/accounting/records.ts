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

export type AccountingRecord = AmtTunnelUsage;

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
