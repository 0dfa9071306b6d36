/**
 * Juniper inline J-Flow (version-ipfix) as the decoder sees it. Nothing here fixes an offset or
 * a field order: the IPv4 and IPv6 templates are decoded as they arrive, like any template. What
 * is Juniper-specific is which elements driad reads, and the sampling rate: the MX sends it in an
 * Options Data Record (Options Template 512 on the MX240 capture in protocol-facts §4, scope
 * exportingProcessId) as samplingInterval (IE 34). Each line card's forwarding engine is its own
 * observation domain, so the rate is kept per (exporter, domain); packet and byte counts in data
 * records are sampled counts, to be multiplied by it. See docs/ipfix.md.
 */
import type { FieldSelector, FlowRecord } from './compile.ts';
import { exporterKey, type DecodedSet, type IpfixSource } from './decoder.ts';

/** The elements driad reads from J-Flow data and options records. */
export const JFLOW_FIELDS: FieldSelector[] = [
  'sourceIPv4Address',
  'destinationIPv4Address',
  'sourceIPv6Address',
  'destinationIPv6Address',
  'sourceTransportPort',
  'destinationTransportPort',
  'protocolIdentifier',
  'octetDeltaCount',
  'packetDeltaCount',
  'flowStartMilliseconds',
  'flowEndMilliseconds',
  'ingressInterface',
  'egressInterface',
  'samplingInterval',
  'samplerRandomInterval',
  'samplingPacketInterval',
  'samplingPacketSpace',
  'exportingProcessId',
];

/** Options Template ID of the MX240 capture (Junos 15.1R6S3); informational, any ID works. */
export const JUNOS_OPTIONS_TEMPLATE_ID = 512;

const MAX_ENTRIES = 65536;

export interface SamplingRate {
  /** 1-in-N; 1 when unknown. */
  rate: number;
  /** Where it came from: this domain's options record, another domain of the same exporter, or nothing yet. */
  from: 'domain' | 'exporter' | 'unknown';
}

/**
 * The 1-in-N packet sampling rate an options record announces: samplingInterval (34, what Junos
 * sends), else samplerRandomInterval (50, NetFlow v9 style), else samplingPacketInterval and
 * samplingPacketSpace (305/306, PSAMP: N = (interval + space) / interval). 0 or absent: none.
 */
export function samplingRateOf(record: FlowRecord): number | null {
  const interval = record.samplingInterval;
  if (typeof interval === 'number' && interval > 0) return interval;
  const random = record.samplerRandomInterval;
  if (typeof random === 'number' && random > 0) return random;
  const packets = record.samplingPacketInterval;
  if (typeof packets === 'number' && packets > 0) {
    const space = record.samplingPacketSpace;
    return (packets + (typeof space === 'number' ? space : 0)) / packets;
  }
  return null;
}

export class SamplingRates {
  readonly #byDomain = new Map<string, number>();
  readonly #byExporter = new Map<string, number>();
  /** The last answer of rate(): messages come in runs from one exporter and domain. */
  #last: { source: IpfixSource; domain: number; rate: SamplingRate } | null = null;

  /** Reads the sampling rate from the options records of a decoded set; true if one was found. */
  observe(source: IpfixSource, set: DecodedSet): boolean {
    if (set.scopeCount === 0) return false;
    this.#last = null;
    let found = false;
    for (const record of set.records) {
      const rate = samplingRateOf(record);
      if (rate === null) continue;
      const exporter = exporterKey(source);
      const key = `${exporter}|${set.domain}`;
      if (!this.#byDomain.has(key) && this.#byDomain.size >= MAX_ENTRIES) this.#byDomain.delete(this.#byDomain.keys().next().value as string);
      this.#byDomain.set(key, rate);
      if (!this.#byExporter.has(exporter) && this.#byExporter.size >= MAX_ENTRIES) this.#byExporter.delete(this.#byExporter.keys().next().value as string);
      this.#byExporter.set(exporter, rate);
      found = true;
    }
    return found;
  }

  /** The rate for records of one exporter and domain. */
  rate(source: IpfixSource, domain: number): SamplingRate {
    const last = this.#last;
    if (last !== null && last.source === source && last.domain === domain) return last.rate;
    const rate = this.#lookup(source, domain);
    this.#last = { source, domain, rate };
    return rate;
  }

  #lookup(source: IpfixSource, domain: number): SamplingRate {
    const exporter = exporterKey(source);
    const own = this.#byDomain.get(`${exporter}|${domain}`);
    if (own !== undefined) return { rate: own, from: 'domain' };
    const other = this.#byExporter.get(exporter);
    if (other !== undefined) return { rate: other, from: 'exporter' };
    return { rate: 1, from: 'unknown' };
  }

  /** Forgets an exporter (it went away, or restarted with new settings). */
  forget(source: IpfixSource): void {
    this.#last = null;
    const exporter = exporterKey(source);
    this.#byExporter.delete(exporter);
    for (const key of this.#byDomain.keys()) if (key.startsWith(`${exporter}|`)) this.#byDomain.delete(key);
  }
}
