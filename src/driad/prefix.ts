import { isIP } from 'node:net';

/** An address as 32-bit words: one for IPv4, four for IPv6, most significant first. */
export type Words = Uint32Array;

export interface Prefix {
  text: string;
  family: 4 | 6;
  words: Words;
  length: number;
}

export function addressWords(address: string): Words | null {
  const family = isIP(address);
  if (family === 4) return Uint32Array.of(v4Word(address));
  if (family !== 6) return null;
  let text = address;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const w = v4Word(text.slice(lastColon + 1));
    text = `${text.slice(0, lastColon + 1)}${(w >>> 16).toString(16)}:${(w & 0xffff).toString(16)}`;
  }
  const [head = '', tail = ''] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = text.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  const out = new Uint32Array(4);
  for (let i = 0; i < 4; i++) out[i] = ((parseInt(groups[2 * i] ?? '0', 16) << 16) | parseInt(groups[2 * i + 1] ?? '0', 16)) >>> 0;
  return out;
}

function v4Word(address: string): number {
  const [a = 0, b = 0, c = 0, d = 0] = address.split('.').map(Number);
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

/** Parses `192.0.2.0/24` or `2001:db8::/32`; throws with the reason. Host bits must be zero. */
export function parsePrefix(text: string): Prefix {
  const [address = '', lengthText, more] = text.split('/');
  const words = addressWords(address);
  if (!words || lengthText === undefined || more !== undefined || !/^\d{1,3}$/.test(lengthText)) {
    throw new Error(`must be a prefix like 192.0.2.0/24 or 2001:db8::/32 (got ${JSON.stringify(text)})`);
  }
  const family = words.length === 1 ? 4 : 6;
  const length = Number(lengthText);
  if (length > (family === 4 ? 32 : 128)) throw new Error(`prefix length ${length} is too long for IPv${family} (got ${JSON.stringify(text)})`);
  const prefix: Prefix = { text, family, words, length };
  if (!contains(prefix, words) || !sameWords(masked(words, length), words)) {
    throw new Error(`has bits set past /${length} (got ${JSON.stringify(text)})`);
  }
  return prefix;
}

function masked(words: Words, length: number): Words {
  const out = new Uint32Array(words.length);
  for (let i = 0; i < words.length; i++) {
    const bits = Math.max(0, Math.min(32, length - 32 * i));
    out[i] = bits === 0 ? 0 : ((words[i] as number) & (bits === 32 ? 0xffffffff : ~(0xffffffff >>> bits))) >>> 0;
  }
  return out;
}

function sameWords(a: Words, b: Words): boolean {
  return a.length === b.length && a.every((w, i) => w === b[i]);
}

export function contains(prefix: Prefix, words: Words): boolean {
  if (words.length !== prefix.words.length) return false;
  for (let i = 0; i < words.length; i++) {
    const bits = Math.max(0, Math.min(32, prefix.length - 32 * i));
    if (bits === 0) return true;
    const mask = bits === 32 ? 0xffffffff : ~(0xffffffff >>> bits);
    if ((((words[i] as number) ^ (prefix.words[i] as number)) & mask) !== 0) return false;
  }
  return true;
}

/** The longest prefix in `prefixes` containing the address, by index; -1 when none does. */
export function longestMatch(prefixes: readonly Prefix[], words: Words): number {
  let best = -1;
  for (let i = 0; i < prefixes.length; i++) {
    const p = prefixes[i] as Prefix;
    if ((best < 0 || p.length > (prefixes[best] as Prefix).length) && contains(p, words)) best = i;
  }
  return best;
}
