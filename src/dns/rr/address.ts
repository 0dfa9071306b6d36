// Strict IPv4/IPv6 text <-> bytes conversion. Strict means: no leading zeros in
// IPv4 octets (they are ambiguous: some parsers read them as octal), no zone ids.

import { formatIpv4, formatIpv6 } from '../../net/ip-text.ts';

export function parseIPv4(text: string): Buffer | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes[i] = value;
  }
  return bytes;
}

export function formatIPv4(bytes: Uint8Array): string {
  if (bytes.length !== 4) throw new Error(`IPv4 address must be 4 bytes, got ${bytes.length}`);
  return formatIpv4(bytes);
}

export function parseIPv6(text: string): Buffer | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const head = parseGroups(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? parseGroups(halves[1]!, true) : [];
  if (head === null || tail === null) return null;

  const groups = head.length + tail.length;
  if (halves.length === 1 ? groups !== 8 : groups > 7) return null;

  const words = [...head, ...new Array<number>(8 - groups).fill(0), ...tail];
  const bytes = Buffer.alloc(16);
  words.forEach((word, i) => bytes.writeUInt16BE(word, i * 2));
  return bytes;
}

// Parses colon-separated hex groups; an embedded IPv4 address is only allowed as the
// last part of the whole address, which is the end of this half when lastHalf is set.
function parseGroups(text: string, lastHalf: boolean): number[] | null {
  if (text === '') return [];
  const parts = text.split(':');
  const words: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (lastHalf && i === parts.length - 1 && part.includes('.')) {
      const v4 = parseIPv4(part);
      if (v4 === null) return null;
      words.push(v4.readUInt16BE(0), v4.readUInt16BE(2));
    } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) {
      words.push(parseInt(part, 16));
    } else {
      return null;
    }
  }
  return words;
}

/** RFC 5952 text (src/net/ip-text.ts). */
export function formatIPv6(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new Error(`IPv6 address must be 16 bytes, got ${bytes.length}`);
  return formatIpv6(bytes);
}

export function canonicalIPv6(text: string): string | null {
  const bytes = parseIPv6(text);
  return bytes === null ? null : formatIPv6(bytes);
}
