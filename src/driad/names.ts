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

/** `relative` is the part of the name in front of the tree root, e.g. `10.95.25.69` ('' for the root itself). */
export function parseReversedV4(relative: string): SourceName {
  if (relative === '') return PREFIX;
  const labels = relative.split('.');
  if (labels.length > 4) return INVALID;
  for (const label of labels) if (!isOctet(label)) return INVALID;
  if (labels.length < 4) return PREFIX;
  return { kind: 'address', family: 4, address: `${labels[3]}.${labels[2]}.${labels[1]}.${labels[0]}` };
}

function isOctet(label: string): boolean {
  const n = label.length;
  if (n === 0 || n > 3) return false;
  if (n > 1 && label.charCodeAt(0) === 0x30) return false; // no leading zeros: "010" is not an octet
  let value = 0;
  for (let i = 0; i < n; i++) {
    const d = label.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return false;
    value = value * 10 + d;
  }
  return value <= 255;
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
