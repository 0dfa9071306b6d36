// AMTRELAY resource record, RFC 8777 §4.
//
// Wire (§4.2): precedence (u8) | D bit (0x80) + relay type (7 bits) | relay, where the
// relay is empty (type 0), an IPv4 address (1), an IPv6 address (2) or an uncompressed
// domain name (3). Presentation (§4.3): "precedence D type relay", relay "." for type 0.

import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from './address.ts';
import { checkNameLength, decodeName, formatLabels, labelsToWire, parseName } from './name.ts';

export const AMTRELAY_TYPE = 260;

export type AmtRelayData =
  | { precedence: number; discoveryOptional: boolean; relayType: 0; relay: null }
  | { precedence: number; discoveryOptional: boolean; relayType: 1; relay: string }
  | { precedence: number; discoveryOptional: boolean; relayType: 2; relay: string }
  | { precedence: number; discoveryOptional: boolean; relayType: 3; relay: string };

const DISCOVERY_OPTIONAL_BIT = 0x80;
const RELAY_TYPE_MASK = 0x7f;
const FIXED_LENGTH = 2;

export function encodeAmtRelayRdata(data: AmtRelayData): Buffer {
  const { precedence, discoveryOptional, relayType } = data;
  if (!Number.isInteger(precedence) || precedence < 0 || precedence > 255) {
    throw new Error(`AMTRELAY precedence must be an integer 0..255, got ${precedence}`);
  }
  if (typeof discoveryOptional !== 'boolean') {
    throw new Error('AMTRELAY discoveryOptional must be a boolean');
  }
  const fixed = Buffer.of(precedence, (discoveryOptional ? DISCOVERY_OPTIONAL_BIT : 0) | relayType);
  return Buffer.concat([fixed, encodeRelay(data)]);
}

function encodeRelay(data: AmtRelayData): Buffer {
  switch (data.relayType) {
    case 0:
      if (data.relay !== null) throw new Error('AMTRELAY relay type 0 must have relay null');
      return Buffer.alloc(0);
    case 1: {
      const bytes = typeof data.relay === 'string' ? parseIPv4(data.relay) : null;
      if (bytes === null) throw new Error(`bad IPv4 address "${data.relay}"`);
      return bytes;
    }
    case 2: {
      const bytes = typeof data.relay === 'string' ? parseIPv6(data.relay) : null;
      if (bytes === null) throw new Error(`bad IPv6 address "${data.relay}"`);
      return bytes;
    }
    case 3:
      if (typeof data.relay !== 'string') throw new Error('AMTRELAY relay type 3 needs a domain name');
      return labelsToWire(parseName(data.relay).labels);
    default:
      throw new Error(`unknown AMTRELAY relay type ${(data as { relayType: unknown }).relayType}`);
  }
}

/** Decodes rdata alone (no rdlength prefix): the whole buffer is the rdata. */
export function decodeAmtRelayRdata(rdata: Buffer): AmtRelayData {
  if (rdata.length < FIXED_LENGTH) {
    throw new Error(`AMTRELAY rdata too short: ${rdata.length} bytes, need at least ${FIXED_LENGTH}`);
  }
  const precedence = rdata[0]!;
  const discoveryOptional = (rdata[1]! & DISCOVERY_OPTIONAL_BIT) !== 0;
  const relayType = rdata[1]! & RELAY_TYPE_MASK;
  const relay = rdata.subarray(FIXED_LENGTH);
  const expectLength = (length: number) => {
    if (relay.length !== length) {
      throw new Error(
        `AMTRELAY relay type ${relayType} needs rdlength ${FIXED_LENGTH + length}, got ${rdata.length}`,
      );
    }
  };

  switch (relayType) {
    case 0:
      expectLength(0);
      return { precedence, discoveryOptional, relayType, relay: null };
    case 1:
      expectLength(4);
      return { precedence, discoveryOptional, relayType, relay: formatIPv4(relay) };
    case 2:
      expectLength(16);
      return { precedence, discoveryOptional, relayType, relay: formatIPv6(relay) };
    case 3: {
      const { name, next } = decodeName(relay, 0, relay.length);
      if (next !== relay.length) {
        throw new Error(`AMTRELAY rdata has ${relay.length - next} bytes after the relay name`);
      }
      return { precedence, discoveryOptional, relayType, relay: name };
    }
    default:
      throw new Error(`unknown AMTRELAY relay type ${relayType}`);
  }
}

// The codec in dns-packet's shape: encoded form = 2-byte rdlength + rdata.

function encode(data: AmtRelayData, buf?: Buffer, offset = 0): Buffer {
  const rdata = encodeAmtRelayRdata(data);
  const target = buf ?? Buffer.alloc(rdata.length + 2);
  if (offset + rdata.length + 2 > target.length) {
    throw new Error(`AMTRELAY: buffer too small for ${rdata.length + 2} bytes at offset ${offset}`);
  }
  target.writeUInt16BE(rdata.length, offset);
  rdata.copy(target, offset + 2);
  encode.bytes = rdata.length + 2;
  return target;
}
encode.bytes = 0;

function decode(buf: Buffer, offset = 0): AmtRelayData {
  if (offset < 0 || offset + 2 > buf.length) {
    throw new Error(`AMTRELAY: buffer too short for rdlength at offset ${offset}`);
  }
  const rdlength = buf.readUInt16BE(offset);
  const start = offset + 2;
  if (start + rdlength > buf.length) {
    throw new Error(`AMTRELAY: rdlength ${rdlength} overruns buffer (${buf.length - start} bytes left)`);
  }
  const data = decodeAmtRelayRdata(buf.subarray(start, start + rdlength));
  decode.bytes = rdlength + 2;
  return data;
}
decode.bytes = 0;

function encodingLength(data: AmtRelayData): number {
  return encodeAmtRelayRdata(data).length + 2;
}

export const amtrelay = { encode, decode, encodingLength };

/**
 * Parses presentation fields, e.g. ["10", "0", "1", "69.25.95.1"]. A relative relay name
 * (no trailing dot) is completed with `origin` when given, and taken as absolute otherwise.
 */
export function parseAmtRelayText(tokens: string[], origin?: string): AmtRelayData {
  const [precedenceText, dText, typeText, relayText, ...extra] = tokens;
  if (precedenceText === undefined || dText === undefined || typeText === undefined) {
    throw new Error('AMTRELAY needs "precedence D type relay"');
  }
  if (!/^[0-9]{1,3}$/.test(precedenceText) || Number(precedenceText) > 255) {
    throw new Error(`AMTRELAY precedence must be 0..255, got "${precedenceText}"`);
  }
  if (dText !== '0' && dText !== '1') {
    throw new Error(`AMTRELAY discovery-optional flag must be 0 or 1, got "${dText}"`);
  }
  if (!/^[0-3]$/.test(typeText)) throw new Error(`unknown AMTRELAY relay type "${typeText}"`);
  if (relayText === undefined) throw new Error('AMTRELAY relay missing');
  if (extra.length > 0) throw new Error(`unexpected data after AMTRELAY relay: "${extra.join(' ')}"`);

  const precedence = Number(precedenceText);
  const discoveryOptional = dText === '1';
  switch (typeText) {
    case '0':
      if (relayText !== '.') throw new Error(`AMTRELAY relay type 0 needs relay ".", got "${relayText}"`);
      return { precedence, discoveryOptional, relayType: 0, relay: null };
    case '1':
      if (parseIPv4(relayText) === null) throw new Error(`bad IPv4 address "${relayText}"`);
      return { precedence, discoveryOptional, relayType: 1, relay: relayText };
    case '2': {
      const bytes = parseIPv6(relayText);
      if (bytes === null) throw new Error(`bad IPv6 address "${relayText}"`);
      return { precedence, discoveryOptional, relayType: 2, relay: formatIPv6(bytes) };
    }
    default:
      return { precedence, discoveryOptional, relayType: 3, relay: parseRelayName(relayText, origin) };
  }
}

function parseRelayName(text: string, origin: string | undefined): string {
  const { labels, absolute } = parseName(text);
  if (absolute || origin === undefined) return formatLabels(labels);
  const full = [...labels, ...parseName(origin).labels];
  checkNameLength(full, text);
  return formatLabels(full);
}

export function formatAmtRelayText(d: AmtRelayData): string {
  const head = `${d.precedence} ${d.discoveryOptional ? 1 : 0} ${d.relayType}`;
  switch (d.relayType) {
    case 0:
      return `${head} .`;
    case 3:
      return `${head} ${formatLabels(parseName(d.relay).labels, { presentation: true })}.`;
    default:
      return `${head} ${d.relay}`;
  }
}
