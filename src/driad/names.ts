/**
 * DRIAD owner names (RFC 8777 §4.1): the multicast source address reversed under a tree root,
 * octets for IPv4 (`10.95.25.69.amt.in-addr.arpa`), nibbles for IPv6 (`...amt.ip6.arpa`).
 */
export type SourceName =
  /** A complete reversed address. */
  | { kind: 'address'; family: 4 | 6; address: string }
  /** Leading labels of valid addresses: the name exists (it has names below it) but holds no data. */
  | { kind: 'prefix' }
  | { kind: 'invalid' };

const PREFIX: SourceName = { kind: 'prefix' };
const INVALID: SourceName = { kind: 'invalid' };

/** What a scan found: not a DRIAD name, a prefix of one (exists, no data), or a whole address. */
export const Scan = { Invalid: 0, Prefix: 1, Address: 2 } as const;
export type Scan = (typeof Scan)[keyof typeof Scan];

const OCTET_TEXT = Array.from({ length: 256 }, (_, i) => String(i));
// The last address scanned, kept here so the per-query path builds no string or object for it.
const octets = new Int32Array(4);
const nibbles = new Uint8Array(32);
const v4Words = new Uint32Array(1);
const v6Words = new Uint32Array(4);

/**
 * Scans `name` up to `end` (the part in front of the tree root, e.g. `10.95.25.69` of
 * `10.95.25.69.amt.in-addr.arpa`) as reversed IPv4 octets, in one pass: labels of 1-3 digits, no
 * leading zero ("010" is not an octet), at most 255, at most four of them.
 */
export function scanReversedV4(name: string, end: number): Scan {
  if (end === 0) return Scan.Prefix;
  let labels = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= end; i++) {
    const c = i < end ? name.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || value > 255 || labels === 4) return Scan.Invalid;
      octets[labels++] = value;
      value = 0;
      digits = 0;
      continue;
    }
    const d = c - 0x30;
    if (d < 0 || d > 9 || digits === 3 || (digits === 1 && value === 0)) return Scan.Invalid;
    value = value * 10 + d;
    digits++;
  }
  return labels < 4 ? Scan.Prefix : Scan.Address;
}

/** The address of the last scanReversedV4 that found one, as text. */
export function scannedV4Address(): string {
  return `${OCTET_TEXT[octets[3] as number]}.${OCTET_TEXT[octets[2] as number]}.${OCTET_TEXT[octets[1] as number]}.${OCTET_TEXT[octets[0] as number]}`;
}

/** The address of the last scanReversedV4 that found one, as words; the array is reused by the next call. */
export function scannedV4Words(): Uint32Array {
  v4Words[0] = ((octets[3] as number) << 24) | ((octets[2] as number) << 16) | ((octets[1] as number) << 8) | (octets[0] as number);
  return v4Words;
}

/** Scans `name` up to `end` as reversed IPv6 nibbles: single hex digits separated by dots, at most 32. */
export function scanReversedV6(name: string, end: number): Scan {
  if (end === 0) return Scan.Prefix;
  if (end > 63 || end % 2 === 0) return Scan.Invalid;
  let count = 0;
  for (let i = end - 1; i >= 0; i -= 2) {
    const c = name.charCodeAt(i);
    const nibble = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (nibble < 0 || (i > 0 && name.charCodeAt(i - 1) !== 0x2e)) return Scan.Invalid;
    nibbles[count++] = nibble;
  }
  return count < 32 ? Scan.Prefix : Scan.Address;
}

/** The address of the last scanReversedV6 that found one, as eight full groups (`2001:0db8:...`). */
export function scannedV6Address(): string {
  const groups: string[] = [];
  for (let g = 0; g < 32; g += 4) {
    let text = '';
    for (let i = g; i < g + 4; i++) text += (nibbles[i] as number).toString(16);
    groups.push(text);
  }
  return groups.join(':');
}

/** The address of the last scanReversedV6 that found one, as words; the array is reused by the next call. */
export function scannedV6Words(): Uint32Array {
  for (let w = 0; w < 4; w++) {
    let word = 0;
    for (let i = w * 8; i < w * 8 + 8; i++) word = (word << 4) | (nibbles[i] as number);
    v6Words[w] = word >>> 0;
  }
  return v6Words;
}

/**
 * scanReversedV4 on the question's wire labels: the first `n` of the labels starting at `starts`
 * in `msg` (those in front of the tree root). The same rules; octets land in the same place.
 */
export function scanReversedV4Wire(msg: Buffer, starts: Int32Array, n: number): Scan {
  if (n === 0) return Scan.Prefix;
  if (n > 4) return Scan.Invalid;
  for (let l = 0; l < n; l++) {
    const start = starts[l] as number;
    const len = msg[start] as number;
    if (len > 3) return Scan.Invalid;
    let value = 0;
    for (let i = start + 1; i <= start + len; i++) {
      const d = (msg[i] as number) - 0x30;
      if (d < 0 || d > 9 || (i > start + 1 && value === 0)) return Scan.Invalid;
      value = value * 10 + d;
    }
    if (value > 255) return Scan.Invalid;
    octets[l] = value;
  }
  return n < 4 ? Scan.Prefix : Scan.Address;
}

/** scanReversedV6 on wire labels: single hex digits (either case, as DNS compares), at most 32. */
export function scanReversedV6Wire(msg: Buffer, starts: Int32Array, n: number): Scan {
  if (n === 0) return Scan.Prefix;
  if (n > 32) return Scan.Invalid;
  let count = 0;
  for (let l = n - 1; l >= 0; l--) {
    const start = starts[l] as number;
    if (msg[start] !== 1) return Scan.Invalid;
    const c = msg[start + 1] as number;
    const nibble = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (nibble < 0) return Scan.Invalid;
    nibbles[count++] = nibble;
  }
  return count < 32 ? Scan.Prefix : Scan.Address;
}

/** `relative` is the part of the name in front of the tree root, e.g. `10.95.25.69` ('' for the root itself). */
export function parseReversedV4(relative: string): SourceName {
  const scan = scanReversedV4(relative, relative.length);
  if (scan === Scan.Invalid) return INVALID;
  return scan === Scan.Prefix ? PREFIX : { kind: 'address', family: 4, address: scannedV4Address() };
}

export function parseReversedV6(relative: string): SourceName {
  const scan = scanReversedV6(relative, relative.length);
  if (scan === Scan.Invalid) return INVALID;
  return scan === Scan.Prefix ? PREFIX : { kind: 'address', family: 6, address: scannedV6Address() };
}

/** The DRIAD name for a source address, for the CLI, tests and docs. */
export function driadName(address: string, root: string): string {
  if (address.includes(':')) {
    return `${expandV6(address).split('').reverse().join('.')}.${root}`;
  }
  return `${address.split('.').reverse().join('.')}.${root}`;
}

function expandV6(address: string): string {
  const [head = '', tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = address.includes('::') ? Array(8 - h.length - t.length).fill('0') : [];
  return [...h, ...fill, ...t].map((g) => g.padStart(4, '0')).join('').toLowerCase();
}
