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

const OCTET_TEXT = Array.from({ length: 256 }, (_, i) => String(i));
const octets = new Int32Array(4);
const octetText = (i: number): string => OCTET_TEXT[octets[i] as number] as string;

/** `relative` is the part of the name in front of the tree root, e.g. `10.95.25.69` ('' for the root itself). */
export function parseReversedV4(relative: string): SourceName {
  if (relative === '') return PREFIX;
  // One pass over the characters (this runs for every DRIAD query): labels of 1-3 digits, no
  // leading zero ("010" is not an octet), at most 255, at most four of them.
  let labels = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0, n = relative.length; i <= n; i++) {
    const c = i < n ? relative.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || value > 255 || labels === 4) return INVALID;
      octets[labels++] = value;
      value = 0;
      digits = 0;
      continue;
    }
    const d = c - 0x30;
    if (d < 0 || d > 9 || digits === 3 || (digits === 1 && value === 0)) return INVALID;
    value = value * 10 + d;
    digits++;
  }
  if (labels < 4) return PREFIX;
  return { kind: 'address', family: 4, address: `${octetText(3)}.${octetText(2)}.${octetText(1)}.${octetText(0)}` };
}

export function parseReversedV6(relative: string): SourceName {
  if (relative === '') return PREFIX;
  const n = relative.length;
  // Nibble labels are single characters separated by dots: "b.a.9.8...".
  if (n > 63 || n % 2 === 0) return INVALID;
  let hex = '';
  for (let i = n - 1; i >= 0; i -= 2) {
    const c = relative.charCodeAt(i);
    const isHex = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66);
    if (!isHex || (i > 0 && relative.charCodeAt(i - 1) !== 0x2e)) return INVALID;
    hex += relative[i];
  }
  if (hex.length < 32) return PREFIX;
  const groups: string[] = [];
  for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4));
  return { kind: 'address', family: 6, address: groups.join(':') };
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
