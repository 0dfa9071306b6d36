import { EDNS_OPTION } from './constants.ts';
import type { Edns } from './query.ts';

/** An EDNS Client Subnet option from a query (RFC 7871 §6). */
export interface ClientSubnet {
  family: 1 | 2;
  sourcePrefix: number;
  /** The address bytes as sent: ceil(sourcePrefix / 8) of them. */
  address: Buffer;
  /** The address as 32-bit words (one for IPv4, four for IPv6), zero past the prefix. */
  words: Uint32Array;
}

/** The query's Client Subnet option; null when absent; a string naming the fault when malformed (FORMERR, RFC 7871 §7.2.1). */
export function readClientSubnet(edns: Edns | null): ClientSubnet | null | string {
  if (!edns) return null;
  const option = edns.options.find((o) => o.code === EDNS_OPTION.CLIENT_SUBNET);
  if (!option) return null;
  const data = option.data;
  if (data.length < 4) return 'Client Subnet option shorter than 4 bytes';
  const family = data.readUInt16BE(0);
  if (family !== 1 && family !== 2) return `Client Subnet family ${family} is neither IPv4 (1) nor IPv6 (2)`;
  const sourcePrefix = data[2] as number;
  const bits = family === 1 ? 32 : 128;
  if (sourcePrefix > bits) return `Client Subnet source prefix /${sourcePrefix} is longer than an IPv${family === 1 ? 4 : 6} address`;
  const address = data.subarray(4);
  if (address.length !== Math.ceil(sourcePrefix / 8)) return `Client Subnet address has ${address.length} bytes for /${sourcePrefix}`;
  if (sourcePrefix % 8 !== 0 && ((address.at(-1) as number) & (0xff >> sourcePrefix % 8)) !== 0) {
    return `Client Subnet address has bits set past /${sourcePrefix}`;
  }
  const full = Buffer.alloc(bits / 8);
  address.copy(full);
  const words = new Uint32Array(bits / 32);
  for (let i = 0; i < words.length; i++) words[i] = full.readUInt32BE(4 * i);
  return { family, sourcePrefix, address, words };
}

/** The option to echo in the response: the query's family, source prefix and address, with our scope. */
export function clientSubnetOption(ecs: ClientSubnet, scopePrefix: number): Buffer {
  const out = Buffer.alloc(8 + ecs.address.length);
  out.writeUInt16BE(EDNS_OPTION.CLIENT_SUBNET, 0);
  out.writeUInt16BE(4 + ecs.address.length, 2);
  out.writeUInt16BE(ecs.family, 4);
  out[6] = ecs.sourcePrefix;
  out[7] = scopePrefix;
  ecs.address.copy(out, 8);
  return out;
}
