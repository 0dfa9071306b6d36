/**
 * TypedValue (spec §2.2.3) <-> a JS value with its type. Every member of the oneof has a variant;
 * 64-bit integers are bigint (no precision lost), json_val / json_ietf_val are parsed (json.ts),
 * and anything that cannot be read becomes `{ type: 'error', error }`: decoding never throws.
 */
import { parseJson, type JsonValue } from './json.ts';
import type { EncodingName, TypedValueMsg, ValueMsg } from './types.ts';

export type GnmiValue =
  | { type: 'string'; value: string }
  | { type: 'ascii'; value: string }
  | { type: 'int'; value: bigint }
  | { type: 'uint'; value: bigint }
  | { type: 'bool'; value: boolean }
  | { type: 'bytes'; value: Uint8Array }
  | { type: 'proto_bytes'; value: Uint8Array }
  | { type: 'float'; value: number }
  | { type: 'double'; value: number }
  | { type: 'decimal'; digits: bigint; precision: number; value: number; text: string }
  | { type: 'leaflist'; value: GnmiValue[] }
  | { type: 'any'; typeUrl: string; value: Uint8Array }
  | { type: 'json'; value: JsonValue } // a parsed json_val (before flattening)
  | { type: 'json_ietf'; value: JsonValue } // a parsed json_ietf_val (before flattening)
  | { type: 'empty' } // YANG `empty` / JSON null
  | { type: 'error'; error: string };

export type GnmiValueType = GnmiValue['type'];

const INT_RE = /^-?\d+$/;

function toBigInt(v: unknown, field: string): bigint | string {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && INT_RE.test(v)) return BigInt(v);
  return `${field}: not an integer (${typeof v})`;
}

function bytesOf(v: unknown): Uint8Array | undefined {
  return v instanceof Uint8Array ? v : undefined;
}

function err(error: string): GnmiValue {
  return { type: 'error', error };
}

/** `digits` × 10^-precision as exact decimal text: (-12345, 2) -> "-123.45". */
export function decimalText(digits: bigint, precision: number): string {
  if (precision <= 0) return digits.toString();
  const neg = digits < 0n;
  const s = (neg ? -digits : digits).toString().padStart(precision + 1, '0');
  return `${neg ? '-' : ''}${s.slice(0, -precision)}.${s.slice(-precision)}`;
}

function decodeJsonBlob(type: 'json' | 'json_ietf', bytes: unknown): GnmiValue {
  const b = bytesOf(bytes);
  if (!b) return err(`${type}_val: not bytes`);
  const parsed = parseJson(b);
  return parsed.ok ? { type, value: parsed.value } : err(`${type}_val: ${parsed.error}`);
}

/** Decodes one TypedValue message (as load.ts gives it). */
export function decodeTypedValue(tv: TypedValueMsg | null | undefined, nested = false): GnmiValue {
  if (tv === null || tv === undefined || typeof tv !== 'object') return err('no value (TypedValue missing)');
  const which = tv.value ?? (Object.keys(tv).find((k) => k.endsWith('_val') || k === 'proto_bytes') as TypedValueMsg['value']);
  switch (which) {
    case 'string_val':
      return typeof tv.string_val === 'string' ? { type: 'string', value: tv.string_val } : err('string_val: not a string');
    case 'ascii_val':
      return typeof tv.ascii_val === 'string' ? { type: 'ascii', value: tv.ascii_val } : err('ascii_val: not a string');
    case 'int_val': {
      const v = toBigInt(tv.int_val, 'int_val');
      return typeof v === 'bigint' ? { type: 'int', value: v } : err(v);
    }
    case 'uint_val': {
      const v = toBigInt(tv.uint_val, 'uint_val');
      return typeof v === 'bigint' && v >= 0n ? { type: 'uint', value: v } : err(typeof v === 'string' ? v : 'uint_val: negative');
    }
    case 'bool_val':
      return typeof tv.bool_val === 'boolean' ? { type: 'bool', value: tv.bool_val } : err('bool_val: not a boolean');
    case 'bytes_val': {
      const b = bytesOf(tv.bytes_val);
      return b ? { type: 'bytes', value: b } : err('bytes_val: not bytes');
    }
    case 'proto_bytes': {
      const b = bytesOf(tv.proto_bytes);
      return b ? { type: 'proto_bytes', value: b } : err('proto_bytes: not bytes');
    }
    case 'float_val':
      return typeof tv.float_val === 'number' ? { type: 'float', value: tv.float_val } : err('float_val: not a number');
    case 'double_val':
      return typeof tv.double_val === 'number' ? { type: 'double', value: tv.double_val } : err('double_val: not a number');
    case 'decimal_val': {
      const d = tv.decimal_val;
      const digits = toBigInt(d?.digits ?? '0', 'decimal_val.digits');
      if (typeof digits === 'string') return err(digits);
      const precision = d?.precision ?? 0;
      if (!Number.isInteger(precision) || precision < 0 || precision > 40) return err(`decimal_val: bad precision ${precision}`);
      const text = decimalText(digits, precision);
      return { type: 'decimal', digits, precision, value: Number(text), text };
    }
    case 'leaflist_val': {
      if (nested) return err('leaflist_val inside a leaf-list');
      const elements = tv.leaflist_val?.element ?? [];
      if (!Array.isArray(elements)) return err('leaflist_val: element is not a list');
      return { type: 'leaflist', value: elements.map((e) => decodeTypedValue(e, true)) };
    }
    case 'any_val': {
      const a = tv.any_val;
      return { type: 'any', typeUrl: a?.type_url ?? '', value: bytesOf(a?.value) ?? new Uint8Array(0) };
    }
    case 'json_val':
      return nested ? err('json_val inside a leaf-list') : decodeJsonBlob('json', tv.json_val);
    case 'json_ietf_val':
      return nested ? err('json_ietf_val inside a leaf-list') : decodeJsonBlob('json_ietf', tv.json_ietf_val);
    case undefined:
      return err('no value (TypedValue with no member set)');
    default:
      return err(`unknown TypedValue member ${String(which)}`);
  }
}

/** Decodes the deprecated Update.value (bytes + encoding) that targets before gNMI 0.3.0 send. */
export function decodeLegacyValue(v: ValueMsg): GnmiValue {
  const bytes = bytesOf(v.value) ?? new Uint8Array(0);
  const enc = (v.type ?? 'JSON') as EncodingName | number;
  switch (enc) {
    case 'JSON':
    case 0:
      return decodeJsonBlob('json', bytes);
    case 'JSON_IETF':
    case 4:
      return decodeJsonBlob('json_ietf', bytes);
    case 'BYTES':
    case 1:
      return { type: 'bytes', value: bytes };
    case 'PROTO':
    case 2:
      return { type: 'proto_bytes', value: bytes };
    case 'ASCII':
    case 3:
      return { type: 'ascii', value: Buffer.from(bytes).toString('latin1') };
    default:
      return err(`value: unknown encoding ${String(enc)}`);
  }
}

/** A JSON leaf (from a flattened blob) as a typed value: integers become bigint, null empty. */
export function valueFromJson(v: JsonValue): GnmiValue {
  if (v === null) return { type: 'empty' };
  switch (typeof v) {
    case 'string':
      return { type: 'string', value: v };
    case 'boolean':
      return { type: 'bool', value: v };
    case 'bigint':
      return v < 0n ? { type: 'int', value: v } : { type: 'uint', value: v };
    case 'number':
      if (Number.isSafeInteger(v)) return v < 0 ? { type: 'int', value: BigInt(v) } : { type: 'uint', value: BigInt(v) };
      return { type: 'double', value: v };
  }
  if (Array.isArray(v)) {
    if (v.length === 1 && v[0] === null) return { type: 'empty' }; // RFC 7951 §6.9
    return { type: 'leaflist', value: v.map((e) => (e !== null && typeof e === 'object' ? err('object inside a leaf-list') : valueFromJson(e))) };
  }
  return err('a JSON object is not a leaf value');
}

/**
 * The value as an integer: int/uint, a decimal string (JSON_IETF sends 64-bit integers as strings,
 * RFC 7951 §6.1), an integral double, a decimal with no fraction. Anything else: undefined.
 */
export function asBigInt(v: GnmiValue): bigint | undefined {
  switch (v.type) {
    case 'int':
    case 'uint':
      return v.value;
    case 'string':
    case 'ascii':
      return INT_RE.test(v.value) ? BigInt(v.value) : undefined;
    case 'float':
    case 'double':
      return Number.isInteger(v.value) ? BigInt(v.value) : undefined;
    case 'decimal':
      return INT_RE.test(v.text) ? v.digits : undefined;
    default:
      return undefined;
  }
}

/** The value as a JS number (may round above 2^53): numeric types and numeric strings. */
export function asNumber(v: GnmiValue): number | undefined {
  switch (v.type) {
    case 'int':
    case 'uint':
      return Number(v.value);
    case 'float':
    case 'double':
    case 'decimal':
      return v.value;
    case 'string':
    case 'ascii': {
      if (v.value.trim() === '') return undefined;
      const n = Number(v.value);
      return Number.isFinite(n) ? n : undefined;
    }
    default:
      return undefined;
  }
}

/** The value as text: strings as they are, numbers and booleans printed, others undefined. */
export function asString(v: GnmiValue): string | undefined {
  switch (v.type) {
    case 'string':
    case 'ascii':
      return v.value;
    case 'int':
    case 'uint':
    case 'bool':
    case 'float':
    case 'double':
      return String(v.value);
    case 'decimal':
      return v.text;
    default:
      return undefined;
  }
}

function utf8(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

/**
 * The TypedValue message for a value (the simulator and tests send with it). `json`/`json_ietf`
 * values are serialised with bigint kept exact; an error value cannot be encoded and gives an
 * empty TypedValue (no member set), which is what a broken target would send.
 */
export function typedValueMsg(v: GnmiValue): TypedValueMsg {
  switch (v.type) {
    case 'string':
      return { string_val: v.value };
    case 'ascii':
      return { ascii_val: v.value };
    case 'int':
      return { int_val: v.value.toString() };
    case 'uint':
      return { uint_val: v.value.toString() };
    case 'bool':
      return { bool_val: v.value };
    case 'bytes':
      return { bytes_val: v.value };
    case 'proto_bytes':
      return { proto_bytes: v.value };
    case 'float':
      return { float_val: v.value };
    case 'double':
      return { double_val: v.value };
    case 'decimal':
      return { decimal_val: { digits: v.digits.toString(), precision: v.precision } };
    case 'leaflist':
      return { leaflist_val: { element: v.value.map(typedValueMsg) } };
    case 'any':
      return { any_val: { type_url: v.typeUrl, value: v.value } };
    case 'json':
      return { json_val: utf8(stringifyJson(v.value)) };
    case 'json_ietf':
      return { json_ietf_val: utf8(stringifyJson(v.value)) };
    case 'empty':
      return { json_ietf_val: utf8('[null]') };
    case 'error':
      return {};
  }
}

/** JSON.stringify that writes bigint as plain digits (so 2^64-1 stays exact). */
export function stringifyJson(v: JsonValue): string {
  if (typeof v === 'bigint') return v.toString();
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(stringifyJson).join(',')}]`;
  return `{${Object.entries(v)
    .map(([k, x]) => `${JSON.stringify(k)}:${stringifyJson(x)}`)
    .join(',')}}`;
}
