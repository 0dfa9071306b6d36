/**
 * Flow records as columns: the addresses, ports, protocol and counters of each data record
 * written into reused typed arrays instead of one object per record with its addresses as text.
 * A collector that only adds flows up (per tunnel, per host pair) needs no more, and at hundreds
 * of thousands of records a second the objects and strings were most of its garbage
 * (bench/ipfix/README.md). The values are the very ones a record reader produces for the same
 * elements (the same generated expressions; `flowColumnsFromRecords` is the reference the tests
 * hold the compiled readers to); addresses stay bytes until someone formats them.
 *
 * Per record i:
 * - `srcFamily[i]`, `dstFamily[i]`: 4 when the template has sourceIPv4Address (8) /
 *   destinationIPv4Address (12), else 6 when it has sourceIPv6Address (27) /
 *   destinationIPv6Address (28), else 0 (a record's `v4 ?? v6`); the first occurrence of an element wins.
 * - `src[4i..4i+3]`, `dst[...]`: the address as four big-endian 32-bit words; an IPv4 address
 *   is word 0, the rest 0.
 * - `srcPort`, `dstPort`, `protocol`: sourceTransportPort (7), destinationTransportPort (11),
 *   protocolIdentifier (4); -1 when the template lacks the element.
 * - `octets`, `packets`: octetDeltaCount (1), packetDeltaCount (2); NaN when absent.
 */
import { at, u, unsignedSource, type FlowRecord } from './compile.ts';
import { VARIABLE_LENGTH } from './information-elements.ts';
import type { Template } from './template.ts';
import { formatIpv6, type ValueStats } from './values.ts';

export class FlowColumns {
  count = 0;
  srcFamily = new Uint8Array(0);
  dstFamily = new Uint8Array(0);
  src = new Uint32Array(0);
  dst = new Uint32Array(0);
  srcPort = new Int32Array(0);
  dstPort = new Int32Array(0);
  protocol = new Int32Array(0);
  octets = new Float64Array(0);
  packets = new Float64Array(0);

  constructor(capacity = 1024) {
    this.#resize(capacity);
  }

  get capacity(): number {
    return this.srcPort.length;
  }

  /** Room for `more` records after the current ones. */
  reserve(more: number): void {
    const need = this.count + more;
    if (need > this.srcPort.length) this.#resize(Math.max(need, this.srcPort.length * 2));
  }

  clear(): void {
    this.count = 0;
  }

  /** Appends record i of another set of columns (or of this one). */
  copyRow(from: FlowColumns, i: number): void {
    this.reserve(1);
    const k = this.count++;
    this.srcFamily[k] = from.srcFamily[i];
    this.dstFamily[k] = from.dstFamily[i];
    for (let w = 0; w < 4; w++) {
      this.src[4 * k + w] = from.src[4 * i + w];
      this.dst[4 * k + w] = from.dst[4 * i + w];
    }
    this.srcPort[k] = from.srcPort[i];
    this.dstPort[k] = from.dstPort[i];
    this.protocol[k] = from.protocol[i];
    this.octets[k] = from.octets[i];
    this.packets[k] = from.packets[i];
  }

  #resize(n: number): void {
    const grow = <T extends Uint8Array | Uint32Array | Int32Array | Float64Array>(a: T, b: T): T => {
      b.set(a.subarray(0, Math.min(a.length, b.length)));
      return b;
    };
    this.srcFamily = grow(this.srcFamily, new Uint8Array(n));
    this.dstFamily = grow(this.dstFamily, new Uint8Array(n));
    this.src = grow(this.src, new Uint32Array(4 * n));
    this.dst = grow(this.dst, new Uint32Array(4 * n));
    this.srcPort = grow(this.srcPort, new Int32Array(n));
    this.dstPort = grow(this.dstPort, new Int32Array(n));
    this.protocol = grow(this.protocol, new Int32Array(n));
    this.octets = grow(this.octets, new Float64Array(n));
    this.packets = grow(this.packets, new Float64Array(n));
  }
}

/**
 * Decodes the records of one Data Set in b[start, end) into `cols` and returns how many; -1 when
 * a variable-length field runs past the set, exactly when the record reader of the template
 * returns -1 (records of a set that overruns may be left in `cols`: the message is then discarded).
 */
export type FlowColumnsReader = (b: Buffer, start: number, end: number, cols: FlowColumns, s: ValueStats) => number;

/** Columns by element id (all IANA, PEN 0). */
const ELEMENTS = { srcV4: 8, dstV4: 12, srcV6: 27, dstV6: 28, srcPort: 7, dstPort: 11, protocol: 4, octets: 1, packets: 2 } as const;
type Column = keyof typeof ELEMENTS;

/** For each column, the index of the template field that fills it (its first occurrence), or -1. */
function columnFields(template: Template): Record<Column, number> {
  const out = {} as Record<Column, number>;
  for (const [column, id] of Object.entries(ELEMENTS) as Array<[Column, number]>) out[column] = template.fields.findIndex((f) => f.id === id && f.pen === 0);
  return out;
}

/** Generates the columns reader for a template (fixed- or variable-length), with the record readers' value expressions (compile.ts). */
export function compileFlowColumnsReader(template: Template): FlowColumnsReader {
  const fields = columnFields(template);
  // Where each wanted field starts in the record: `p + c` for fixed templates, a variable set
  // while walking the record for variable-length ones.
  const offsetOf = new Map<number, string>();
  const walk: string[] = [];
  if (!template.variable) {
    let offset = 0;
    template.fields.forEach((f, i) => {
      offsetOf.set(i, at('p', offset));
      offset += f.length;
    });
  } else {
    let run = 0;
    const pending: Array<{ index: number; offset: number }> = [];
    const flushRun = (): void => {
      if (run === 0 && pending.length === 0) return;
      walk.push(`    if (q + ${run} > end) return -1;`);
      for (const r of pending) walk.push(`    o${r.index} = ${at('q', r.offset)};`);
      walk.push(`    q += ${run};`);
      pending.length = 0;
      run = 0;
    };
    template.fields.forEach((f, i) => {
      const wanted = Object.values(fields).includes(i);
      if (f.length !== VARIABLE_LENGTH) {
        if (wanted) pending.push({ index: i, offset: run });
        run += f.length;
        return;
      }
      flushRun();
      walk.push(
        '    if (q >= end) return -1;',
        '    len = b[q++];',
        '    if (len === 255) { if (q + 2 > end) return -1; len = b[q] << 8 | b[q + 1]; q += 2; }',
        '    if (q + len > end) return -1;',
        '    q += len;',
      );
    });
    flushRun();
    for (const i of new Set(Object.values(fields))) if (i >= 0) offsetOf.set(i, `o${i}`);
  }
  const len = (i: number): number => template.fields[i].length;
  const emit: string[] = ['    k = c.count++;'];
  const address = (side: 'src' | 'dst', v4: number, v6: number): void => {
    if (v4 >= 0) {
      const o = offsetOf.get(v4) as string;
      emit.push(`    c.${side}Family[k] = 4;`, `    c.${side}[4 * k] = ${u(`(${o})`, 0, 4)};`, `    c.${side}[4 * k + 1] = 0; c.${side}[4 * k + 2] = 0; c.${side}[4 * k + 3] = 0;`);
    } else if (v6 >= 0) {
      const o = offsetOf.get(v6) as string;
      emit.push(`    c.${side}Family[k] = 6;`);
      for (let w = 0; w < 4; w++) emit.push(`    c.${side}[4 * k + ${w}] = ${u(`(${o})`, 4 * w, 4)};`);
    } else {
      emit.push(`    c.${side}Family[k] = 0;`, `    c.${side}[4 * k] = 0; c.${side}[4 * k + 1] = 0; c.${side}[4 * k + 2] = 0; c.${side}[4 * k + 3] = 0;`);
    }
  };
  address('src', fields.srcV4, fields.srcV6);
  address('dst', fields.dstV4, fields.dstV6);
  for (const column of ['srcPort', 'dstPort', 'protocol'] as const) {
    const i = fields[column];
    emit.push(`    c.${column}[k] = ${i >= 0 ? u(`(${offsetOf.get(i) as string})`, 0, len(i)) : '-1'};`);
  }
  for (const column of ['octets', 'packets'] as const) {
    const i = fields[column];
    emit.push(`    c.${column}[k] = ${i >= 0 ? unsignedSource(`(${offsetOf.get(i) as string})`, 0, len(i)) : 'NaN'};`);
  }
  const locals = template.variable ? [...offsetOf.values()].map((o) => `${o} = 0`) : [];
  const body = [
    `  let n = 0, h = 0, k = 0, q = 0, len = 0${locals.length ? ', ' + locals.join(', ') : ''};`,
    `  c.reserve(Math.floor((end - p) / ${template.minRecordLength}));`,
    `  while (p + ${template.minRecordLength} <= end) {`,
    '    q = p;',
    ...walk,
    ...emit,
    template.variable ? '    p = q;' : `    p += ${template.minRecordLength};`,
    '    n++;',
    '  }',
    '  return n;',
  ];
  return new Function(`"use strict";\nreturn function readFlowColumns(b, p, end, c, s) {\n${body.join('\n')}\n};`)() as FlowColumnsReader;
}

/** The element names the reference conversion reads (all in JFLOW_FIELDS). */
export const FLOW_COLUMN_FIELDS = ['sourceIPv4Address', 'destinationIPv4Address', 'sourceIPv6Address', 'destinationIPv6Address', 'sourceTransportPort', 'destinationTransportPort', 'protocolIdentifier', 'octetDeltaCount', 'packetDeltaCount'] as const;

/**
 * The reference: records decoded by a record reader (with at least FLOW_COLUMN_FIELDS selected)
 * appended to `cols`. Used for `compiled: false` and by the tests against the generated readers.
 */
export function flowColumnsFromRecords(records: readonly FlowRecord[], cols: FlowColumns): void {
  cols.reserve(records.length);
  for (const r of records) {
    const k = cols.count++;
    setAddress(cols.srcFamily, cols.src, k, r.sourceIPv4Address, r.sourceIPv6Address);
    setAddress(cols.dstFamily, cols.dst, k, r.destinationIPv4Address, r.destinationIPv6Address);
    cols.srcPort[k] = typeof r.sourceTransportPort === 'number' ? r.sourceTransportPort : -1;
    cols.dstPort[k] = typeof r.destinationTransportPort === 'number' ? r.destinationTransportPort : -1;
    cols.protocol[k] = typeof r.protocolIdentifier === 'number' ? r.protocolIdentifier : -1;
    cols.octets[k] = typeof r.octetDeltaCount === 'number' ? r.octetDeltaCount : NaN;
    cols.packets[k] = typeof r.packetDeltaCount === 'number' ? r.packetDeltaCount : NaN;
  }
}

function setAddress(family: Uint8Array, words: Uint32Array, k: number, v4: unknown, v6: unknown): void {
  words.fill(0, 4 * k, 4 * k + 4);
  if (typeof v4 === 'string') {
    family[k] = 4;
    words[4 * k] = v4.split('.').reduce((a, x) => a * 256 + Number(x), 0);
  } else if (typeof v6 === 'string') {
    family[k] = 6;
    const bytes = ipv6Bytes(v6);
    for (let w = 0; w < 4; w++) words[4 * k + w] = ((bytes[4 * w] << 24) | (bytes[4 * w + 1] << 16) | (bytes[4 * w + 2] << 8) | bytes[4 * w + 3]) >>> 0;
  } else family[k] = 0;
}

/** RFC 5952 text (as formatIpv6 writes it, the `::ffff:a.b.c.d` form included) back to 16 octets. */
function ipv6Bytes(text: string): number[] {
  let tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    tail = dotted[1].split('.').map(Number);
    text = text.slice(0, -dotted[1].length) + '0:0';
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (s: string | undefined): number[] => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const left = groups(head);
  const right = groups(rest);
  const all = rest === undefined ? left : [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const bytes = all.flatMap((g) => [g >> 8, g & 255]);
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

const scratch = new Uint8Array(16);

/**
 * The text of an address kept as words (family 4 or 6), exactly as a record reader writes it
 * (formatIpv4, RFC 5952 formatIpv6); null for family 0.
 */
export function formatAddressWords(family: number, words: Uint32Array, at: number): string | null {
  if (family === 4) {
    const w = words[at];
    return `${w >>> 24}.${(w >>> 16) & 255}.${(w >>> 8) & 255}.${w & 255}`;
  }
  if (family !== 6) return null;
  for (let i = 0; i < 4; i++) {
    const w = words[at + i];
    scratch[4 * i] = w >>> 24;
    scratch[4 * i + 1] = (w >>> 16) & 255;
    scratch[4 * i + 2] = (w >>> 8) & 255;
    scratch[4 * i + 3] = w & 255;
  }
  return formatIpv6(scratch, 0);
}
