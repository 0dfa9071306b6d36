/**
 * Template and Options Template Records (RFC 7011 §3.4.1, §3.4.2), their withdrawals (§8.1),
 * and the checks that decide whether a template can describe records at all.
 */
import { lengthAllowed, lookupIe, VARIABLE_LENGTH } from './information-elements.ts';

export const SET_TEMPLATE = 2;
export const SET_OPTIONS_TEMPLATE = 3;
export const MIN_DATA_SET_ID = 256;
export const MESSAGE_HEADER_LENGTH = 16;
export const SET_HEADER_LENGTH = 4;
/** The most record bytes one message can carry: 65535 less the message and set headers. */
export const MAX_RECORD_LENGTH = 65535 - MESSAGE_HEADER_LENGTH - SET_HEADER_LENGTH;

export interface FieldSpec {
  id: number;
  /** 0 for IANA elements, else the Private Enterprise Number (E bit set, §3.2). */
  pen: number;
  /** Octets, or VARIABLE_LENGTH (65535) when each record carries the length (§7). */
  length: number;
}

export interface Template {
  id: number;
  /** 0 for a Template; the Scope Field Count of an Options Template (always >= 1). */
  scopeCount: number;
  fields: FieldSpec[];
  /** Smallest record: fixed lengths plus one length octet per variable-length field. */
  minRecordLength: number;
  /** True when at least one field is variable-length. */
  variable: boolean;
  /** The definition as text; two templates with the same shape decode alike. */
  shape: string;
}

export interface TemplateProblem {
  kind: 'bad-template';
  reason: string;
}

export interface TemplateSetContents {
  /**
   * Definitions and withdrawals in set order. A withdrawal's ID may be SET_TEMPLATE or
   * SET_OPTIONS_TEMPLATE: all templates of that kind (§8.1).
   */
  entries: Array<{ template: Template } | { withdraw: number }>;
  /** Records that were read but refused; the rest of the set is still usable. */
  problems: TemplateProblem[];
}

/**
 * Reads the records of a Template Set (options=false) or an Options Template Set (options=true)
 * in b[start, end). A record that runs past the set is malformed (the whole message is then
 * discarded, §9.1) and comes back as a string; a record that is well framed but unusable is a
 * problem and is skipped. Trailing zero octets are padding (§3.3.1).
 */
export function readTemplateSet(b: Buffer, start: number, end: number, options: boolean): TemplateSetContents | string {
  const setId = options ? SET_OPTIONS_TEMPLATE : SET_TEMPLATE;
  const kind = options ? 'options template' : 'template';
  const out: TemplateSetContents = { entries: [], problems: [] };
  let p = start;
  while (p < end) {
    if (isZero(b, p, end)) break;
    if (end - p < 4) return `${kind} record header truncated: ${end - p} octets left in the set`;
    const id = b.readUInt16BE(p);
    const fieldCount = b.readUInt16BE(p + 2);
    p += 4;
    if (fieldCount === 0) {
      // A withdrawal is four octets even in an Options Template Set (§8.1).
      if (id === setId || id >= MIN_DATA_SET_ID) out.entries.push({ withdraw: id });
      else out.problems.push({ kind: 'bad-template', reason: `withdrawal of ${kind} ID ${id} in set ${setId}: not a template ID` });
      continue;
    }
    let scopeCount = 0;
    if (options) {
      if (end - p < 2) return `options template ${id}: scope field count truncated`;
      scopeCount = b.readUInt16BE(p);
      p += 2;
    }
    const fields: FieldSpec[] = [];
    for (let i = 0; i < fieldCount; i++) {
      if (end - p < 4) return `${kind} ${id}: field specifier ${i + 1} of ${fieldCount} runs past the set`;
      const raw = b.readUInt16BE(p);
      const length = b.readUInt16BE(p + 2);
      p += 4;
      let pen = 0;
      if (raw & 0x8000) {
        if (end - p < 4) return `${kind} ${id}: enterprise number of field ${i + 1} runs past the set`;
        pen = b.readUInt32BE(p);
        p += 4;
      }
      fields.push({ id: raw & 0x7fff, pen, length });
    }
    if (options && scopeCount === 0) {
      out.problems.push({ kind: 'bad-template', reason: `options template ${id}: scope field count is 0` });
      continue;
    }
    const made = makeTemplate(id, scopeCount, fields);
    if (typeof made === 'string') out.problems.push({ kind: 'bad-template', reason: made });
    else out.entries.push({ template: made });
  }
  return out;
}

/** Builds a template from its parts, or says why it cannot describe records. */
export function makeTemplate(id: number, scopeCount: number, fields: FieldSpec[]): Template | string {
  const label = scopeCount > 0 ? `options template ${id}` : `template ${id}`;
  if (id < MIN_DATA_SET_ID) return `${label}: template IDs start at ${MIN_DATA_SET_ID}`;
  if (fields.length === 0) return `${label}: no fields`;
  if (scopeCount > fields.length) return `${label}: scope field count ${scopeCount} exceeds field count ${fields.length}`;
  let minRecordLength = 0;
  let variable = false;
  for (const f of fields) {
    const ie = lookupIe(f.id, f.pen);
    if (f.length === VARIABLE_LENGTH) {
      if (ie && !lengthAllowed(ie.type, VARIABLE_LENGTH)) return `${label}: ${ie.name} (${f.id}) is ${ie.type}, which cannot be variable-length`;
      variable = true;
      minRecordLength += 1;
    } else {
      if (ie && !lengthAllowed(ie.type, f.length)) return `${label}: ${ie.name} (${f.id}) has length ${f.length}, impossible for ${ie.type}`;
      minRecordLength += f.length;
    }
  }
  if (minRecordLength === 0) return `${label}: records would be zero octets long`;
  if (minRecordLength > MAX_RECORD_LENGTH) return `${label}: records of at least ${minRecordLength} octets cannot fit in a message`;
  const shape = `${scopeCount}|${fields.map((f) => (f.pen ? `${f.pen}.${f.id}/${f.length}` : `${f.id}/${f.length}`)).join(',')}`;
  return { id, scopeCount, fields, minRecordLength, variable, shape };
}

function isZero(b: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (b[i] !== 0) return false;
  return true;
}
