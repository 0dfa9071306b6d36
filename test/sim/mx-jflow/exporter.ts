/**
 * A simulator of a Juniper MX exporting inline J-Flow in IPFIX form (version-ipfix), for tests and
 * benchmarks: no MX can run here. It builds the messages an MX's forwarding engines send: per
 * observation domain (one per line card's PFE), a Template Set with the IPv4 and IPv6 flow
 * templates, an Options Template Set with the sampling options template (ID 512, the shape of
 * the MX240 capture in protocol-facts §4), its Options Data Record (samplingInterval, IE 34), and
 * Data Sets of AMT flows: UDP from the relay's port 2268 to each gateway's address and port.
 * Sets are zero-padded to four octets, as the MX does. See README.md for what is assumed.
 */
import { encodeDataSet, encodeTemplateSet, encodeWithdrawalSet, IpfixMessageWriter, type EncodedSet, type RecordValues, type TemplateDef } from '../../../src/ipfix/encoder.ts';
import { isIPv6 } from 'node:net';

export const AMT_PORT = 2268;

/**
 * IPv4 flow template: the field order seen from an inline-J-Flow vMX (protocol-facts §4, via
 * ARD92/ipfix-decoder), with IANA lengths; tcpControlBits in one octet (reduced size, §6.2).
 */
export const JUNOS_IPV4_FIELDS: TemplateDef['fields'] = [
  { id: 8 }, // sourceIPv4Address
  { id: 12 }, // destinationIPv4Address
  { id: 5 }, // ipClassOfService
  { id: 4 }, // protocolIdentifier
  { id: 7 }, // sourceTransportPort
  { id: 11 }, // destinationTransportPort
  { id: 32 }, // icmpTypeCodeIPv4
  { id: 10 }, // ingressInterface
  { id: 58 }, // vlanId
  { id: 9 }, // sourceIPv4PrefixLength
  { id: 13 }, // destinationIPv4PrefixLength
  { id: 16 }, // bgpSourceAsNumber
  { id: 17 }, // bgpDestinationAsNumber
  { id: 15 }, // ipNextHopIPv4Address
  { id: 6, length: 1 }, // tcpControlBits
  { id: 14 }, // egressInterface
  { id: 52 }, // minimumTTL
  { id: 53 }, // maximumTTL
  { id: 136 }, // flowEndReason
  { id: 60 }, // ipVersion
  { id: 18 }, // bgpNextHopIPv4Address
  { id: 61 }, // flowDirection
  { id: 243 }, // dot1qVlanId
  { id: 245 }, // dot1qCustomerVlanId
  { id: 54 }, // fragmentIdentification
  { id: 1 }, // octetDeltaCount
  { id: 2 }, // packetDeltaCount
  { id: 152 }, // flowStartMilliseconds
  { id: 153 }, // flowEndMilliseconds
];

/** IPv6 flow template: ASSUMED to be the IPv4 one with the IPv6 elements in place (not verified). */
export const JUNOS_IPV6_FIELDS: TemplateDef['fields'] = [
  { id: 27 }, // sourceIPv6Address
  { id: 28 }, // destinationIPv6Address
  { id: 5 },
  { id: 4 },
  { id: 7 },
  { id: 11 },
  { id: 139 }, // icmpTypeCodeIPv6
  { id: 10 },
  { id: 58 },
  { id: 29 }, // sourceIPv6PrefixLength
  { id: 30 }, // destinationIPv6PrefixLength
  { id: 16 },
  { id: 17 },
  { id: 62 }, // ipNextHopIPv6Address
  { id: 6, length: 1 },
  { id: 14 },
  { id: 52 },
  { id: 53 },
  { id: 136 },
  { id: 60 },
  { id: 63 }, // bgpNextHopIPv6Address
  { id: 61 },
  { id: 243 },
  { id: 245 },
  { id: 64 }, // ipv6ExtensionHeaders
  { id: 31 }, // flowLabelIPv6
  { id: 1 },
  { id: 2 },
  { id: 152 },
  { id: 153 },
];

/** The options template of the MX240 capture (Junos 15.1R6S3): 11 fields, scope exportingProcessId. */
export const JUNOS_OPTIONS_FIELDS: TemplateDef['fields'] = [
  { id: 144 }, // exportingProcessId (scope)
  { id: 41 }, // exportedMessageTotalCount
  { id: 42 }, // exportedFlowRecordTotalCount
  { id: 160 }, // systemInitTimeMilliseconds
  { id: 130 }, // exporterIPv4Address
  { id: 131 }, // exporterIPv6Address
  { id: 34 }, // samplingInterval
  { id: 36 }, // flowActiveTimeout
  { id: 37 }, // flowIdleTimeout
  { id: 214 }, // exportProtocolVersion
  { id: 215 }, // exportTransportProtocol
];

export interface AmtTunnel {
  /** The relay's address: the flow's source (port 2268). */
  relay: string;
  gateway: string;
  gatewayPort: number;
  /** Sampled packets and octets the MX reports for this flow per export round. */
  packets: number;
  octets: number;
}

export interface MxJflowOptions {
  /** Observation domain IDs, one per PFE. Default three, from 524288 (the capture's ODID) up. */
  domains?: number[];
  samplingRate?: number;
  ipv4TemplateId?: number;
  ipv6TemplateId?: number;
  optionsTemplateId?: number;
  /** Data records per message (an MX keeps messages within the export MTU). */
  recordsPerMessage?: number;
  /** Address in the options record's exporterIPv4Address. */
  exporterAddress?: string;
  tunnels: AmtTunnel[];
  /** Milliseconds since the epoch at which the simulated router booted. */
  bootTimeMs?: number;
}

/** Which domain carries a tunnel: the PFE its traffic leaves through, spread round-robin. */
export function domainOf(index: number, domains: number[]): number {
  return domains[index % domains.length];
}

export class MxJflowExporter {
  readonly domains: number[];
  readonly samplingRate: number;
  readonly tunnels: AmtTunnel[];
  readonly writer = new IpfixMessageWriter();
  /** Data Records in each message built (what its Sequence Number advance counts). */
  readonly recordCount = new WeakMap<Buffer, number>();
  ipv4: TemplateDef;
  ipv6: TemplateDef;
  readonly options: TemplateDef;
  readonly #recordsPerMessage: number;
  readonly #exporterAddress: string;
  readonly #bootTimeMs: number;
  #messages = 0;
  #flowRecords = 0;

  constructor(o: MxJflowOptions) {
    this.domains = o.domains ?? [524288, 524289, 524544];
    this.samplingRate = o.samplingRate ?? 1000;
    this.tunnels = o.tunnels;
    this.ipv4 = { id: o.ipv4TemplateId ?? 256, fields: JUNOS_IPV4_FIELDS };
    this.ipv6 = { id: o.ipv6TemplateId ?? 257, fields: JUNOS_IPV6_FIELDS };
    this.options = { id: o.optionsTemplateId ?? 512, fields: JUNOS_OPTIONS_FIELDS, scopeCount: 1 };
    this.#recordsPerMessage = o.recordsPerMessage ?? 14;
    this.#exporterAddress = o.exporterAddress ?? '10.0.0.1';
    this.#bootTimeMs = o.bootTimeMs ?? 1_700_000_000_000;
  }

  /** Template refresh for one domain: the flow templates, then the options template and its record. */
  templateMessages(domain: number, exportTime: number): Buffer[] {
    return [
      this.#message(domain, exportTime, [encodeTemplateSet([this.ipv4, this.ipv6], { pad: true })]),
      this.#message(domain, exportTime, [encodeTemplateSet([this.options], { pad: true }), this.optionsDataSet()]),
    ];
  }

  /** The sampling options record, as the MX240 capture has it (apart from the running totals). */
  optionsDataSet(): EncodedSet {
    return encodeDataSet(
      this.options,
      [
        {
          exportingProcessId: 2,
          exportedMessageTotalCount: this.#messages,
          exportedFlowRecordTotalCount: this.#flowRecords,
          systemInitTimeMilliseconds: this.#bootTimeMs,
          exporterIPv4Address: this.#exporterAddress,
          exporterIPv6Address: '::',
          samplingInterval: this.samplingRate,
          flowActiveTimeout: 60,
          flowIdleTimeout: 60,
          exportProtocolVersion: 10,
          exportTransportProtocol: 17,
        },
      ],
      { pad: true },
    );
  }

  /** One export round of flow records: every tunnel once, in messages of its domain. */
  dataMessages(exportTime: number, startMs: number, endMs: number): Buffer[] {
    const out: Buffer[] = [];
    for (const domain of this.domains) {
      const v4: RecordValues[] = [];
      const v6: RecordValues[] = [];
      this.tunnels.forEach((t, i) => {
        if (domainOf(i, this.domains) !== domain) return;
        (isIPv6(t.relay) ? v6 : v4).push(flowRecord(t, i, startMs, endMs));
      });
      for (const [template, records] of [
        [this.ipv4, v4],
        [this.ipv6, v6],
      ] as const) {
        for (let i = 0; i < records.length; i += this.#recordsPerMessage) {
          out.push(this.#message(domain, exportTime, [encodeDataSet(template, records.slice(i, i + this.#recordsPerMessage), { pad: true })]));
        }
      }
    }
    return out;
  }

  /** Withdrawal of the flow templates of a domain (an MX over UDP never sends this; §8.4). */
  withdrawalMessage(domain: number, exportTime: number, ids = [this.ipv4.id, this.ipv6.id]): Buffer {
    return this.#message(domain, exportTime, [encodeWithdrawalSet(ids, 'template')]);
  }

  /**
   * Redefines the IPv4 template under the same ID (a software upgrade that changes the record):
   * here the counters move to the front and flowEndMilliseconds is dropped.
   */
  redefineIpv4(): void {
    const counters = JUNOS_IPV4_FIELDS.filter((f) => f.id === 1 || f.id === 2);
    const rest = JUNOS_IPV4_FIELDS.filter((f) => f.id !== 1 && f.id !== 2 && f.id !== 153);
    this.ipv4 = { id: this.ipv4.id, fields: [...counters, ...rest] };
  }

  /** An exporter restart: sequence numbers start again at 0 (templates must be resent). */
  restart(): void {
    for (const d of this.domains) this.writer.setSequence(d, 0);
  }

  #message(domain: number, exportTime: number, sets: EncodedSet[]): Buffer {
    const records = sets.reduce((n, s) => n + s.records, 0);
    this.#messages++;
    this.#flowRecords += records;
    const message = this.writer.message(domain, exportTime, sets);
    this.recordCount.set(message, records);
    return message;
  }
}

function flowRecord(t: AmtTunnel, index: number, startMs: number, endMs: number): RecordValues {
  const v6 = isIPv6(t.relay);
  const common = {
    ipClassOfService: 0,
    protocolIdentifier: 17,
    sourceTransportPort: AMT_PORT,
    destinationTransportPort: t.gatewayPort,
    ingressInterface: 500 + (index % 4),
    vlanId: 0,
    bgpSourceAsNumber: 0,
    bgpDestinationAsNumber: 0,
    tcpControlBits: 0,
    egressInterface: 600 + (index % 8),
    minimumTTL: 64,
    maximumTTL: 64,
    flowEndReason: 2,
    ipVersion: v6 ? 6 : 4,
    flowDirection: 1,
    dot1qVlanId: 0,
    dot1qCustomerVlanId: 0,
    octetDeltaCount: t.octets,
    packetDeltaCount: t.packets,
    flowStartMilliseconds: startMs,
    flowEndMilliseconds: endMs,
  };
  if (v6) {
    return {
      ...common,
      sourceIPv6Address: t.relay,
      destinationIPv6Address: t.gateway,
      icmpTypeCodeIPv6: 0,
      sourceIPv6PrefixLength: 128,
      destinationIPv6PrefixLength: 48,
      ipNextHopIPv6Address: '::',
      bgpNextHopIPv6Address: '::',
      ipv6ExtensionHeaders: 0,
      flowLabelIPv6: 0,
    };
  }
  return {
    ...common,
    sourceIPv4Address: t.relay,
    destinationIPv4Address: t.gateway,
    icmpTypeCodeIPv4: 0,
    sourceIPv4PrefixLength: 32,
    destinationIPv4PrefixLength: 24,
    ipNextHopIPv4Address: '0.0.0.0',
    bgpNextHopIPv4Address: '0.0.0.0',
    fragmentIdentification: 0,
  };
}
