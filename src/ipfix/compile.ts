/**
 * Template compilation: each template becomes one generated function that decodes a whole Data
 * Set, with every offset of a fixed-length run baked in as a constant and only the selected
 * elements turned into values. Variable-length templates get the same treatment with a running
 * offset between runs. The generic field walk (`genericSetReader`) produces exactly the same
 * records and is kept as the reference (tests compare the two) and for `compiled: false`.
 *
 * Only integers computed here and property names that went through JSON.stringify reach the
 * generated source; nothing an exporter sends does.
 */
import { ieByName, lookupIe, VARIABLE_LENGTH, type IeType } from './information-elements.ts';
import type { Template } from './template.ts';
import { copyBytes, formatIpv6, formatMac, ntpToMs, readString, readValue, UNSAFE_HIGH_WORD, type FieldValue, type ValueStats } from './values.ts';

/** An element to decode: its IANA name or id, or `{ id, pen, name }` (enterprise ones too). */
export type FieldSelector = number | string | { id: number; pen?: number; name?: string };

export interface SelectedField {
  /** Property name in decoded records. */
  key: string;
  id: number;
  pen: number;
  /** null for an element driad does not know: its value is its bytes. */
  type: IeType | null;
}

export type FlowRecord = Record<string, FieldValue | undefined>;

/**
 * Decodes the records of one Data Set in b[start, end) into `out` and returns how many; -1 when a
 * variable-length field runs past the set (the message is malformed). Octets left over that are
 * too few for a record are padding.
 */
export type SetReader = (b: Buffer, start: number, end: number, out: FlowRecord[], s: ValueStats) => number;

/** Resolves the caller's selection; an unknown name or a repeated key is a programming error. */
export function resolveSelection(selectors: FieldSelector[]): SelectedField[] {
  const out: SelectedField[] = [];
  const keys = new Set<string>();
  for (const sel of selectors) {
    let field: SelectedField;
    if (typeof sel === 'string') {
      const ie = ieByName(sel);
      if (!ie) throw new Error(`unknown information element name ${JSON.stringify(sel)}`);
      field = { key: ie.name, id: ie.id, pen: ie.pen, type: ie.type };
    } else if (typeof sel === 'number') {
      const ie = lookupIe(sel);
      field = { key: ie?.name ?? `ie${sel}`, id: sel, pen: 0, type: ie?.type ?? null };
    } else {
      const pen = sel.pen ?? 0;
      const ie = lookupIe(sel.id, pen);
      field = { key: sel.name ?? ie?.name ?? (pen ? `e${pen}.${sel.id}` : `ie${sel.id}`), id: sel.id, pen, type: ie?.type ?? null };
    }
    if (!Number.isInteger(field.id) || field.id < 0 || field.id > 0x7fff) throw new Error(`information element id ${field.id} is out of range`);
    if (keys.has(field.key)) throw new Error(`information element ${field.key} is selected twice`);
    keys.add(field.key);
    out.push(field);
  }
  return out;
}

/**
 * For each template field, the index of the selected element it fills (the first occurrence of
 * an element wins), or -1 when nobody asked for it.
 */
function fieldTargets(template: Template, selection: SelectedField[]): number[] {
  const taken = new Set<number>();
  return template.fields.map((f) => {
    const i = selection.findIndex((s) => s.id === f.id && s.pen === f.pen);
    if (i < 0 || taken.has(i)) return -1;
    taken.add(i);
    return i;
  });
}

// ---------------------------------------------------------------------------------------------
// Generated readers

const helpers = { copyBytes, formatIpv6, formatMac, ntpToMs, readString };

/** `base + offset` as source, with the offset folded into one constant. */
export function at(base: string, offset: number): string {
  return offset === 0 ? base : `${base} + ${offset}`;
}

/** Source for an unsigned integer of n (1..4) octets at base + offset. */
export function u(base: string, offset: number, n: number): string {
  const o = (k: number): string => `b[${at(base, offset + k)}]`;
  switch (n) {
    case 1:
      return o(0);
    case 2:
      return `(${o(0)} << 8 | ${o(1)})`;
    case 3:
      return `(${o(0)} << 16 | ${o(1)} << 8 | ${o(2)})`;
    default:
      return `((${o(0)} << 24 | ${o(1)} << 16 | ${o(2)} << 8 | ${o(3)}) >>> 0)`;
  }
}

/** Source for an unsigned integer of n (1..8) octets; above 2^53 the value is imprecise and counted in `s`. */
export function unsignedSource(base: string, offset: number, n: number): string {
  if (n <= 4) return u(base, offset, n);
  return `(h = ${u(base, offset, n - 4)}, h >= ${UNSAFE_HIGH_WORD} && s.imprecise++, h * 4294967296 + ${u(base, offset + n - 4, 4)})`;
}

/** Source for a signed integer of n (1..4) octets (sign-extended from its top bit). */
function i32(base: string, offset: number, n: number): string {
  if (n === 4) return `(${u(base, offset, 4)} | 0)`;
  return `(${u(base, offset, n)} << ${32 - 8 * n} >> ${32 - 8 * n})`;
}

/**
 * Source for a value of `type` at base + offset: `n` octets for fixed-length fields; for
 * variable-length ones n is -1 and the length is in the variable `len`.
 */
function valueSource(type: IeType | null, base: string, offset: number, n: number): string {
  const here = at(base, offset);
  const end = n < 0 ? `${here} + len` : at(base, offset + n);
  switch (type) {
    case 'unsigned8':
    case 'unsigned16':
    case 'unsigned32':
    case 'unsigned64':
    case 'dateTimeSeconds':
    case 'dateTimeMilliseconds':
      return unsignedSource(base, offset, n);
    case 'signed8':
    case 'signed16':
    case 'signed32':
    case 'signed64':
      if (n <= 4) return i32(base, offset, n);
      return `(h = ${i32(base, offset, n - 4)}, (h >= ${UNSAFE_HIGH_WORD} || h < ${-UNSAFE_HIGH_WORD}) && s.imprecise++, h * 4294967296 + ${u(base, offset + n - 4, 4)})`;
    case 'float32':
      return `b.readFloatBE(${here})`;
    case 'float64':
      return n === 4 ? `b.readFloatBE(${here})` : `b.readDoubleBE(${here})`;
    case 'boolean':
      return `b[${here}] === 1`;
    case 'macAddress':
      return `H.formatMac(b, ${here})`;
    case 'ipv4Address':
      return `b[${here}] + '.' + b[${at(base, offset + 1)}] + '.' + b[${at(base, offset + 2)}] + '.' + b[${at(base, offset + 3)}]`;
    case 'ipv6Address':
      return `H.formatIpv6(b, ${here})`;
    case 'string':
      return `H.readString(b, ${here}, ${end})`;
    case 'dateTimeMicroseconds':
    case 'dateTimeNanoseconds':
      return `H.ntpToMs(b, ${here})`;
    default:
      return `H.copyBytes(b, ${here}, ${end})`;
  }
}

/** The record literal: every selected key, in selection order, so all records share one shape. */
function recordLiteral(selection: SelectedField[], values: Array<string | undefined>): string {
  return `{ ${selection.map((s, i) => `${JSON.stringify(s.key)}: ${values[i] ?? 'undefined'}`).join(', ')} }`;
}

/** Generates the Data Set reader for a template. */
export function compileSetReader(template: Template, selection: SelectedField[]): SetReader {
  const targets = fieldTargets(template, selection);
  const body = template.variable ? variableBody(template, selection, targets) : fixedBody(template, selection, targets);
  const factory = new Function('H', `"use strict";\nreturn function readSet(b, p, end, out, s) {\n${body}\n};`) as (h: typeof helpers) => SetReader;
  return factory(helpers);
}

function fixedBody(template: Template, selection: SelectedField[], targets: number[]): string {
  const values: Array<string | undefined> = [];
  let offset = 0;
  template.fields.forEach((f, i) => {
    const t = targets[i];
    if (t >= 0) values[t] = valueSource(selection[t].type, 'p', offset, f.length);
    offset += f.length;
  });
  const length = template.minRecordLength;
  return [
    '  let n = 0, h = 0;',
    `  for (; p + ${length} <= end; p += ${length}) {`,
    `    out.push(${recordLiteral(selection, values)});`,
    '    n++;',
    '  }',
    '  return n;',
  ].join('\n');
}

function variableBody(template: Template, selection: SelectedField[], targets: number[]): string {
  const lines: string[] = ['  let n = 0, h = 0, q = 0, len = 0;'];
  const decls: string[] = [];
  const values: Array<string | undefined> = [];
  const step: string[] = [];
  // Runs of fixed-length fields are read at constant offsets from q, checked once per run.
  let run: Array<{ index: number; offset: number; length: number }> = [];
  let runLength = 0;
  const flushRun = (): void => {
    if (run.length === 0) return;
    step.push(`    if (q + ${runLength} > end) return -1;`);
    for (const r of run) {
      const t = targets[r.index];
      if (t < 0) continue;
      step.push(`    v${t} = ${valueSource(selection[t].type, 'q', r.offset, r.length)};`);
    }
    step.push(`    q += ${runLength};`);
    run = [];
    runLength = 0;
  };
  template.fields.forEach((f, i) => {
    if (f.length !== VARIABLE_LENGTH) {
      run.push({ index: i, offset: runLength, length: f.length });
      runLength += f.length;
      return;
    }
    flushRun();
    step.push(
      '    if (q >= end) return -1;',
      '    len = b[q++];',
      '    if (len === 255) { if (q + 2 > end) return -1; len = b[q] << 8 | b[q + 1]; q += 2; }',
      '    if (q + len > end) return -1;',
    );
    const t = targets[i];
    if (t >= 0) step.push(`    v${t} = ${valueSource(selection[t].type, 'q', 0, -1)};`);
    step.push('    q += len;');
  });
  flushRun();
  selection.forEach((_, t) => {
    if (targets.includes(t)) {
      decls.push(`v${t}`);
      values[t] = `v${t}`;
    }
  });
  if (decls.length) lines.push(`  let ${decls.map((d) => `${d} = undefined`).join(', ')};`);
  lines.push(`  while (p + ${template.minRecordLength} <= end) {`, '    q = p;', ...step, `    out.push(${recordLiteral(selection, values)});`, '    p = q;', '    n++;', '  }', '  return n;');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Generic walk

/** The same reader, interpreted: walks the field list for every record. */
export function genericSetReader(template: Template, selection: SelectedField[]): SetReader {
  const targets = fieldTargets(template, selection);
  const fields = template.fields.map((f, i) => ({ length: f.length, target: targets[i], type: targets[i] >= 0 ? selection[targets[i]].type : null }));
  const keys = selection.map((s) => s.key);
  const min = template.minRecordLength;
  return (b, p, end, out, s) => {
    let n = 0;
    while (p + min <= end) {
      const record: FlowRecord = {};
      for (const k of keys) record[k] = undefined;
      let q = p;
      for (const f of fields) {
        let len = f.length;
        if (len === VARIABLE_LENGTH) {
          if (q >= end) return -1;
          len = b[q++];
          if (len === 255) {
            if (q + 2 > end) return -1;
            len = b.readUInt16BE(q);
            q += 2;
          }
        }
        if (q + len > end) return -1;
        if (f.target >= 0) record[keys[f.target]] = readValue(f.type, b, q, len, s);
        q += len;
      }
      out.push(record);
      p = q;
      n++;
    }
    return n;
  };
}

/** Every field of every record, named, for readable debugging output. */
export function describeRecords(template: Template, b: Buffer, start = 0, end = b.length): Array<Array<{ name: string; id: number; pen: number; value: FieldValue }>> | string {
  const records: Array<Array<{ name: string; id: number; pen: number; value: FieldValue }>> = [];
  const s: ValueStats = { imprecise: 0 };
  let p = start;
  while (p + template.minRecordLength <= end) {
    const record: Array<{ name: string; id: number; pen: number; value: FieldValue }> = [];
    for (const f of template.fields) {
      let len = f.length;
      if (len === VARIABLE_LENGTH) {
        if (p >= end) return 'variable-length field runs past the set';
        len = b[p++];
        if (len === 255) {
          if (p + 2 > end) return 'variable-length field runs past the set';
          len = b.readUInt16BE(p);
          p += 2;
        }
      }
      if (p + len > end) return 'field runs past the set';
      const ie = lookupIe(f.id, f.pen);
      record.push({ name: ie?.name ?? (f.pen ? `e${f.pen}.${f.id}` : `ie${f.id}`), id: f.id, pen: f.pen, value: readValue(ie?.type ?? null, b, p, len, s) });
      p += len;
    }
    records.push(record);
  }
  return records;
}
