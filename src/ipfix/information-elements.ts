/**
 * The part of the IANA IPFIX Information Element registry (RFC 7012, RFC 5103 for reverse
 * elements) that driad reads or prints. Elements not listed here still decode, as raw bytes.
 */

/** RFC 7012 §3.1 abstract data types (and RFC 6313's structured ones). */
export type IeType =
  | 'octetArray'
  | 'unsigned8'
  | 'unsigned16'
  | 'unsigned32'
  | 'unsigned64'
  | 'signed8'
  | 'signed16'
  | 'signed32'
  | 'signed64'
  | 'float32'
  | 'float64'
  | 'boolean'
  | 'macAddress'
  | 'string'
  | 'dateTimeSeconds'
  | 'dateTimeMilliseconds'
  | 'dateTimeMicroseconds'
  | 'dateTimeNanoseconds'
  | 'ipv4Address'
  | 'ipv6Address'
  | 'basicList'
  | 'subTemplateList'
  | 'subTemplateMultiList';

export interface InformationElement {
  id: number;
  /** 0 for IANA elements; otherwise the IANA Private Enterprise Number. */
  pen: number;
  name: string;
  type: IeType;
}

/** RFC 5103 reverse elements: the forward element's id under this PEN. */
export const REVERSE_PEN = 29305;

/** Length a field declares when its length is carried in each record (RFC 7011 §7). */
export const VARIABLE_LENGTH = 65535;

const IANA: Array<[number, string, IeType]> = [
  [1, 'octetDeltaCount', 'unsigned64'],
  [2, 'packetDeltaCount', 'unsigned64'],
  [3, 'deltaFlowCount', 'unsigned64'],
  [4, 'protocolIdentifier', 'unsigned8'],
  [5, 'ipClassOfService', 'unsigned8'],
  [6, 'tcpControlBits', 'unsigned16'],
  [7, 'sourceTransportPort', 'unsigned16'],
  [8, 'sourceIPv4Address', 'ipv4Address'],
  [9, 'sourceIPv4PrefixLength', 'unsigned8'],
  [10, 'ingressInterface', 'unsigned32'],
  [11, 'destinationTransportPort', 'unsigned16'],
  [12, 'destinationIPv4Address', 'ipv4Address'],
  [13, 'destinationIPv4PrefixLength', 'unsigned8'],
  [14, 'egressInterface', 'unsigned32'],
  [15, 'ipNextHopIPv4Address', 'ipv4Address'],
  [16, 'bgpSourceAsNumber', 'unsigned32'],
  [17, 'bgpDestinationAsNumber', 'unsigned32'],
  [18, 'bgpNextHopIPv4Address', 'ipv4Address'],
  [21, 'flowEndSysUpTime', 'unsigned32'],
  [22, 'flowStartSysUpTime', 'unsigned32'],
  [27, 'sourceIPv6Address', 'ipv6Address'],
  [28, 'destinationIPv6Address', 'ipv6Address'],
  [29, 'sourceIPv6PrefixLength', 'unsigned8'],
  [30, 'destinationIPv6PrefixLength', 'unsigned8'],
  [31, 'flowLabelIPv6', 'unsigned32'],
  [32, 'icmpTypeCodeIPv4', 'unsigned16'],
  [34, 'samplingInterval', 'unsigned32'],
  [35, 'samplingAlgorithm', 'unsigned8'],
  [36, 'flowActiveTimeout', 'unsigned16'],
  [37, 'flowIdleTimeout', 'unsigned16'],
  [41, 'exportedMessageTotalCount', 'unsigned64'],
  [42, 'exportedFlowRecordTotalCount', 'unsigned64'],
  [48, 'samplerId', 'unsigned8'],
  [49, 'samplerMode', 'unsigned8'],
  [50, 'samplerRandomInterval', 'unsigned32'],
  [52, 'minimumTTL', 'unsigned8'],
  [53, 'maximumTTL', 'unsigned8'],
  [54, 'fragmentIdentification', 'unsigned32'],
  [56, 'sourceMacAddress', 'macAddress'],
  [58, 'vlanId', 'unsigned16'],
  [60, 'ipVersion', 'unsigned8'],
  [61, 'flowDirection', 'unsigned8'],
  [62, 'ipNextHopIPv6Address', 'ipv6Address'],
  [63, 'bgpNextHopIPv6Address', 'ipv6Address'],
  [64, 'ipv6ExtensionHeaders', 'unsigned32'],
  [80, 'destinationMacAddress', 'macAddress'],
  [82, 'interfaceName', 'string'],
  [83, 'interfaceDescription', 'string'],
  [130, 'exporterIPv4Address', 'ipv4Address'],
  [131, 'exporterIPv6Address', 'ipv6Address'],
  [136, 'flowEndReason', 'unsigned8'],
  [139, 'icmpTypeCodeIPv6', 'unsigned16'],
  [144, 'exportingProcessId', 'unsigned32'],
  [148, 'flowId', 'unsigned64'],
  [149, 'observationDomainId', 'unsigned32'],
  [150, 'flowStartSeconds', 'dateTimeSeconds'],
  [151, 'flowEndSeconds', 'dateTimeSeconds'],
  [152, 'flowStartMilliseconds', 'dateTimeMilliseconds'],
  [153, 'flowEndMilliseconds', 'dateTimeMilliseconds'],
  [154, 'flowStartMicroseconds', 'dateTimeMicroseconds'],
  [155, 'flowEndMicroseconds', 'dateTimeMicroseconds'],
  [156, 'flowStartNanoseconds', 'dateTimeNanoseconds'],
  [157, 'flowEndNanoseconds', 'dateTimeNanoseconds'],
  [160, 'systemInitTimeMilliseconds', 'dateTimeMilliseconds'],
  [176, 'icmpTypeIPv4', 'unsigned8'],
  [177, 'icmpCodeIPv4', 'unsigned8'],
  [210, 'paddingOctets', 'octetArray'],
  [214, 'exportProtocolVersion', 'unsigned8'],
  [215, 'exportTransportProtocol', 'unsigned8'],
  [239, 'biflowDirection', 'unsigned8'],
  [243, 'dot1qVlanId', 'unsigned16'],
  [245, 'dot1qCustomerVlanId', 'unsigned16'],
  [291, 'basicList', 'basicList'],
  [292, 'subTemplateList', 'subTemplateList'],
  [293, 'subTemplateMultiList', 'subTemplateMultiList'],
  [302, 'selectorId', 'unsigned64'],
  [305, 'samplingPacketInterval', 'unsigned32'],
  [306, 'samplingPacketSpace', 'unsigned32'],
];

const byId = new Map<number, InformationElement>();
const byName = new Map<string, InformationElement>();
for (const [id, name, type] of IANA) {
  const ie = { id, pen: 0, name, type };
  byId.set(id, ie);
  byName.set(name, ie);
}

/** The element with this id (and PEN), or undefined when driad does not know it. */
export function lookupIe(id: number, pen = 0): InformationElement | undefined {
  if (pen === 0) return byId.get(id);
  if (pen === REVERSE_PEN) {
    const forward = byId.get(id);
    if (forward) return { id, pen, name: `reverse${forward.name[0].toUpperCase()}${forward.name.slice(1)}`, type: forward.type };
  }
  return undefined;
}

/** The element with this name, including RFC 5103 reverse names (`reverseOctetDeltaCount`). */
export function ieByName(name: string): InformationElement | undefined {
  const ie = byName.get(name);
  if (ie) return ie;
  if (name.startsWith('reverse') && name.length > 7) {
    const forward = byName.get(name[7].toLowerCase() + name.slice(8));
    if (forward) return lookupIe(forward.id, REVERSE_PEN);
  }
  return undefined;
}

/** A readable name for any field: the registry name, or `e<pen>.<id>` / `ie<id>` when unknown. */
export function ieName(id: number, pen = 0): string {
  return lookupIe(id, pen)?.name ?? (pen === 0 ? `ie${id}` : `e${pen}.${id}`);
}

/** Every element in the table (for tests and documentation). */
export function knownIes(): InformationElement[] {
  return [...byId.values()];
}

/**
 * Which field lengths a type allows: its full length, and for integers and float64 the
 * reduced-size encodings of RFC 7011 §6.2. Variable-length types accept any length.
 */
export function lengthAllowed(type: IeType, length: number): boolean {
  switch (type) {
    case 'unsigned8':
    case 'signed8':
    case 'boolean':
      return length === 1;
    case 'unsigned16':
    case 'signed16':
      return length >= 1 && length <= 2;
    case 'unsigned32':
    case 'signed32':
      return length >= 1 && length <= 4;
    case 'unsigned64':
    case 'signed64':
      return length >= 1 && length <= 8;
    case 'float32':
      return length === 4;
    case 'float64':
      return length === 4 || length === 8;
    case 'macAddress':
      return length === 6;
    case 'ipv4Address':
    case 'dateTimeSeconds':
      return length === 4;
    case 'ipv6Address':
      return length === 16;
    case 'dateTimeMilliseconds':
    case 'dateTimeMicroseconds':
    case 'dateTimeNanoseconds':
      return length === 8;
    case 'octetArray':
    case 'string':
    case 'basicList':
    case 'subTemplateList':
    case 'subTemplateMultiList':
      return true;
  }
}

/** The full (not reduced) length of a fixed-size type; VARIABLE_LENGTH for the others. */
export function defaultLength(type: IeType): number {
  switch (type) {
    case 'unsigned8':
    case 'signed8':
    case 'boolean':
      return 1;
    case 'unsigned16':
    case 'signed16':
      return 2;
    case 'unsigned32':
    case 'signed32':
    case 'float32':
    case 'ipv4Address':
    case 'dateTimeSeconds':
      return 4;
    case 'macAddress':
      return 6;
    case 'unsigned64':
    case 'signed64':
    case 'float64':
    case 'dateTimeMilliseconds':
    case 'dateTimeMicroseconds':
    case 'dateTimeNanoseconds':
      return 8;
    case 'ipv6Address':
      return 16;
    default:
      return VARIABLE_LENGTH;
  }
}
