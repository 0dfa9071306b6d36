// Who is asking: the connection's peer, or, when that peer is a trusted proxy, the address the
// proxies say they forwarded for (RFC 7239 Forwarded, else X-Forwarded-For), read right to left.

import { isIP } from 'node:net';
import { addressWords, contains, parsePrefix, type Prefix } from '../driad/prefix.ts';

export interface ForwardingHeaders {
  forwarded?: string | undefined;
  xForwardedFor?: string | undefined;
}

/** `::ffff:192.0.2.1` (a dual-stack socket's view of an IPv4 peer) as `192.0.2.1`. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

export class ClientAddressResolver {
  readonly #trusted: Prefix[];

  constructor(trustedProxies: readonly string[]) {
    this.#trusted = trustedProxies.map((p) => parsePrefix(p));
  }

  /**
   * The client address. Each hop a trusted proxy added is believed, from the nearest one out;
   * the first address that is not a trusted proxy is the client. A hop that is not an address
   * ("unknown", an obfuscated name, garbage) ends the walk at the last trusted proxy.
   */
  resolve(remoteAddress: string, headers: ForwardingHeaders): string {
    let client = plainAddress(remoteAddress);
    if (this.#trusted.length === 0 || !this.#isTrusted(client)) return client;
    const hops = headers.forwarded !== undefined ? forwardedFor(headers.forwarded) : xForwardedFor(headers.xForwardedFor);
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i] as string | null;
      if (hop === null) return client;
      client = hop;
      if (!this.#isTrusted(hop)) return hop;
    }
    return client;
  }

  #isTrusted(address: string): boolean {
    const words = addressWords(address);
    return words !== null && this.#trusted.some((p) => contains(p, words));
  }
}

/** X-Forwarded-For: comma-separated addresses, oldest first; null for a hop that is not an address. */
function xForwardedFor(header: string | undefined): Array<string | null> {
  if (!header) return [];
  return header.split(',').map((h) => address(h.trim()));
}

/** The `for=` parameter of each Forwarded element (RFC 7239 §4, §6); null where it is not an address. */
function forwardedFor(header: string): Array<string | null> {
  const out: Array<string | null> = [];
  for (const element of header.split(',')) {
    const pair = element
      .split(';')
      .map((p) => p.trim())
      .find((p) => p.slice(0, 4).toLowerCase() === 'for=');
    if (pair === undefined) continue;
    let value = pair.slice(4).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    out.push(address(value));
  }
  return out;
}

/** An address from `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]` or `[2001:db8::1]:4711`; null otherwise. */
function address(text: string): string | null {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  const candidate = bracketed ? (bracketed[1] as string) : /^[\d.]+:\d+$/.test(text) ? text.slice(0, text.lastIndexOf(':')) : text;
  return isIP(candidate) ? plainAddress(candidate) : null;
}
