// Domain names as text and as uncompressed wire format.
//
// Text form throughout driad: labels joined by '.', no trailing dot, '' for the root.
// Inside a label, '.', '\' and bytes outside printable ASCII are written as RFC 1035
// escapes (`\.`, `\\`, `\DDD`), so every wire name has exactly one text form and names
// made only of ordinary characters read the same as dns-packet's decoded names.

export const MAX_LABEL_LENGTH = 63;
export const MAX_NAME_LENGTH = 255;

export type ParsedName = { labels: Buffer[]; absolute: boolean };

/** Parses presentation text (escapes allowed); a trailing unescaped dot makes it absolute. */
export function parseName(text: string): ParsedName {
  if (text === '' || text === '.') return { labels: [], absolute: true };

  const labels: Buffer[] = [];
  let current: number[] = [];
  let absolute = false;
  const closeLabel = () => {
    if (current.length === 0) throw new Error(`empty label in name "${text}"`);
    if (current.length > MAX_LABEL_LENGTH) {
      throw new Error(`label longer than ${MAX_LABEL_LENGTH} bytes in name "${text}"`);
    }
    labels.push(Buffer.from(current));
    current = [];
  };

  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === 0x5c /* \ */) {
      const digits = bytes.subarray(i + 1, i + 4).toString('latin1');
      if (/^[0-9]{3}$/.test(digits)) {
        const value = Number(digits);
        if (value > 255) throw new Error(`bad escape \\${digits} in name "${text}"`);
        current.push(value);
        i += 3;
      } else if (i + 1 < bytes.length) {
        current.push(bytes[i + 1]!);
        i += 1;
      } else {
        throw new Error(`dangling backslash in name "${text}"`);
      }
    } else if (byte === 0x2e /* . */) {
      closeLabel();
      if (i === bytes.length - 1) absolute = true;
    } else {
      current.push(byte);
    }
  }
  if (!absolute) closeLabel();
  checkNameLength(labels, text);
  return { labels, absolute };
}

export function checkNameLength(labels: Buffer[], text: string): void {
  if (wireLength(labels) > MAX_NAME_LENGTH) {
    throw new Error(`name longer than ${MAX_NAME_LENGTH} bytes: "${text}"`);
  }
}

export function wireLength(labels: Buffer[]): number {
  return labels.reduce((sum, label) => sum + label.length + 1, 1);
}

const PRESENTATION_SPECIALS = new Set([0x22, 0x24, 0x28, 0x29, 0x3b, 0x40]); // " $ ( ) ; @

/**
 * Canonical text (see the top of this file). With `presentation`, characters that are
 * special in master files are escaped too, so the result can be pasted into a zone file.
 */
export function formatLabels(labels: Buffer[], { presentation = false } = {}): string {
  return labels
    .map((label) => {
      let out = '';
      for (const byte of label) {
        if (byte === 0x2e || byte === 0x5c || (presentation && PRESENTATION_SPECIALS.has(byte))) {
          out += '\\' + String.fromCharCode(byte);
        } else if (byte < 0x21 || byte > 0x7e) {
          out += '\\' + String(byte).padStart(3, '0');
        } else {
          out += String.fromCharCode(byte);
        }
      }
      return out;
    })
    .join('.');
}

export function lowercaseLabels(labels: Buffer[]): Buffer[] {
  return labels.map((label) => Buffer.from(label.map((b) => (b >= 0x41 && b <= 0x5a ? b + 0x20 : b))));
}

/** Uncompressed wire form; '' or '.' is the root. Validates label and name lengths. */
export function encodeName(name: string): Buffer {
  return labelsToWire(parseName(name).labels);
}

export function labelsToWire(labels: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const label of labels) parts.push(Buffer.of(label.length), label);
  parts.push(Buffer.of(0));
  return Buffer.concat(parts);
}

/**
 * Reads an uncompressed name from buf[offset, end). Compression pointers are refused:
 * the rdata this is used for (AMTRELAY relays, zone file rdata) is never compressed.
 */
export function decodeName(buf: Buffer, offset: number, end: number): { name: string; next: number } {
  const labels: Buffer[] = [];
  let pos = offset;
  for (;;) {
    if (pos >= end) throw new Error('domain name overruns its data');
    const length = buf[pos]!;
    if ((length & 0xc0) === 0xc0) throw new Error('compression pointer not allowed in this domain name');
    if ((length & 0xc0) !== 0) throw new Error(`unsupported label type 0x${(length & 0xc0).toString(16)}`);
    pos += 1;
    if (length === 0) break;
    if (pos + length > end) throw new Error('domain name overruns its data');
    labels.push(buf.subarray(pos, pos + length));
    pos += length;
  }
  if (pos - offset > MAX_NAME_LENGTH) throw new Error(`domain name longer than ${MAX_NAME_LENGTH} bytes`);
  return { name: formatLabels(labels), next: pos };
}

/** The text name one label up ('' above a single label), or null for the root. Escaped dots are not boundaries. */
export function parentName(name: string): string | null {
  if (name === '') return null;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x2e) return name.slice(i + 1);
  }
  return '';
}

/** The labels of a text name, still in text form (escapes kept). */
export function labelsOf(name: string): string[] {
  const labels: string[] = [];
  let start = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x2e) {
      labels.push(name.slice(start, i));
      start = i + 1;
    }
  }
  if (name !== '') labels.push(name.slice(start));
  return labels;
}
