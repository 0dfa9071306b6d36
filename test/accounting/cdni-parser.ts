/**
 * An independent reader of CDNI Logging Files, written from RFC 7937 §3 for the tests (it shares
 * no code with src/accounting/cdni.ts): lines end in CRLF; directive lines are
 * "#" NAMEFORMAT ":" HTAB value (§3.3; names case-insensitive); `version` comes first with
 * CDNI/1.0; `UUID` once, a urn:uuid URN; `claimed-origin` at most once, a host; `record-type`
 * precedes its `fields`, which precede the records; `integrity-hash`, if present, is the last line,
 * 32 HEXDIG, the MD5 of the file before that line (established-origin lines left out); records
 * are HTAB-separated values, as many as the fields directive names (§3.4).
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';

export interface ParsedCdniFile {
  version: string;
  uuid: string;
  claimedOrigin: string | null;
  integrityHash: string | null;
  groups: Array<{ recordType: string; fields: string[]; records: Array<Record<string, string>> }>;
}

const NAMEFORMAT = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const HOST = /^([A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})+$/;

export function parseCdniFile(bytes: Buffer): ParsedCdniFile {
  const text = bytes.toString('utf8');
  if (!text.endsWith('\r\n')) throw new Error('the file does not end with CRLF');
  const lines = text.slice(0, -2).split('\r\n');
  lines.forEach((l, i) => {
    if (/[\r\n]/.test(l)) throw new Error(`line ${i + 1}: a bare CR or LF`);
  });
  const out: ParsedCdniFile = { version: '', uuid: '', claimedOrigin: null, integrityHash: null, groups: [] };
  let hashedUpTo = 0;
  const hashed: string[] = [];
  let offset = 0;
  let pendingType: string | null = null;
  let current: ParsedCdniFile['groups'][number] | null = null;
  lines.forEach((line, i) => {
    const where = `line ${i + 1}`;
    const lineStart = offset;
    offset += Buffer.byteLength(line) + 2;
    if (out.integrityHash !== null) throw new Error(`${where}: after the integrity-hash directive, which must be last`);
    if (line.startsWith('#')) {
      const colon = line.indexOf(':');
      const name = line.slice(1, colon);
      if (colon < 0 || !NAMEFORMAT.test(name) || line[colon + 1] !== '\t') throw new Error(`${where}: not "#name:<HTAB>value": ${JSON.stringify(line)}`);
      const value = line.slice(colon + 2);
      const key = name.toLowerCase();
      if (i === 0 && key !== 'version') throw new Error('the first line must be the version directive');
      if (key === 'version') {
        if (i !== 0) throw new Error(`${where}: version must be the first line, and only once`);
        out.version = value;
      } else if (key === 'uuid') {
        if (out.uuid) throw new Error(`${where}: a second UUID directive`);
        if (!/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) throw new Error(`${where}: UUID is not a urn:uuid URN: ${value}`);
        out.uuid = value;
      } else if (key === 'claimed-origin') {
        if (out.claimedOrigin !== null) throw new Error(`${where}: a second claimed-origin`);
        if (!HOST.test(value)) throw new Error(`${where}: claimed-origin is not a host: ${value}`);
        out.claimedOrigin = value;
      } else if (key === 'record-type') {
        if (!NAMEFORMAT.test(value)) throw new Error(`${where}: record-type is not NAMEFORMAT`);
        pendingType = value;
        current = null;
      } else if (key === 'fields') {
        if (pendingType === null && current === null) throw new Error(`${where}: fields before any record-type`);
        const fields = value.split('\t');
        if (fields.some((f) => !/^[A-Za-z0-9][A-Za-z0-9_()-]*$/.test(f))) throw new Error(`${where}: a field name is malformed`);
        current = { recordType: pendingType ?? (current as unknown as { recordType: string }).recordType, fields, records: [] };
        out.groups.push(current);
        pendingType = null;
      } else if (key === 'integrity-hash') {
        if (!/^[0-9A-Fa-f]{32}$/.test(value)) throw new Error(`${where}: integrity-hash is not 32 HEXDIG`);
        hashedUpTo = lineStart;
        out.integrityHash = value.toLowerCase();
        return;
      } else if (key !== 'remark' && key !== 'established-origin') {
        throw new Error(`${where}: unknown directive ${name}`);
      }
      if (key !== 'established-origin') hashed.push(`${line}\r\n`);
      return;
    }
    if (!current) throw new Error(`${where}: a record before any fields directive`);
    const values = line.split('\t');
    const group = current as ParsedCdniFile['groups'][number];
    if (values.length !== group.fields.length) throw new Error(`${where}: ${values.length} values for ${group.fields.length} fields`);
    group.records.push(Object.fromEntries(group.fields.map((f, j) => [f, values[j] as string])));
    hashed.push(`${line}\r\n`);
  });
  if (!out.version) throw new Error('no version directive');
  if (!out.uuid) throw new Error('no UUID directive');
  if (out.groups.length === 0) throw new Error('no record-type and fields');
  if (out.integrityHash !== null) {
    const md5 = createHash('md5').update(hashed.join('')).digest('hex');
    if (md5 !== out.integrityHash) throw new Error(`integrity-hash ${out.integrityHash} does not match the file (${md5})`);
    if (hashedUpTo <= 0) throw new Error('integrity-hash position');
  }
  return out;
}

/** Checks one amt_tunnel_usage_v1 record against the field formats of docs/cdni.md; returns the problems. */
export function amtRecordProblems(r: Record<string, string>): string[] {
  const problems: string[] = [];
  const check = (field: string, ok: (v: string) => boolean): void => {
    const v = r[field];
    if (v === undefined || !ok(v)) problems.push(`${field}=${JSON.stringify(v)}`);
  };
  const dec = (v: string) => /^\d+(\.\d+)?$/.test(v);
  const digits = (v: string) => /^\d+$/.test(v);
  check('date', (v) => /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00Z`)));
  check('time', (v) => /^([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?$/.test(v));
  check('time-taken', dec);
  check('s-ip', (v) => isIP(v) !== 0);
  check('s-hostname', (v) => HOST.test(v));
  check('amt-gw-ip', (v) => isIP(v) !== 0);
  check('amt-gw-port', (v) => digits(v) && Number(v) <= 65535);
  check('amt-group', (v) => v === '-' || isIP(v) !== 0);
  check('amt-bytes', digits);
  check('amt-packets', digits);
  check('amt-sampling', dec);
  check('amt-record-id', (v) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(v));
  return problems;
}
