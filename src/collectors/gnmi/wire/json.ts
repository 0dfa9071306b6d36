/**
 * JSON and JSON_IETF values (spec §2.3.1, RFC 7951): parsing with exact big integers, and
 * expanding a container's blob into one leaf per value, the way the target would have sent them
 * with PROTO encoding.
 */
import type { GnmiPathElem } from './path.ts';
import { localName } from './path.ts';
import type { Result } from './types.ts';

export type JsonValue = string | number | bigint | boolean | null | JsonValue[] | { [member: string]: JsonValue };

const utf8 = new TextDecoder('utf-8', { fatal: true });
const INT_RE = /^-?\d+$/;

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

/** Integers beyond 2^53 keep every digit as bigint (JSON.parse source access, Node 21+). */
const exactIntegers: Reviver = (_key, value, context) => {
  if (typeof value === 'number' && !Number.isSafeInteger(value) && context?.source && INT_RE.test(context.source)) {
    return BigInt(context.source);
  }
  return value;
};

/** Parses UTF-8 JSON text; invalid UTF-8 or JSON gives an error value with the reason. */
export function parseJson(bytes: Uint8Array): Result<JsonValue> {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, error: 'not UTF-8' };
  }
  try {
    return { ok: true, value: JSON.parse(text, exactIntegers as (k: string, v: unknown) => unknown) as JsonValue };
  } catch (err) {
    const snippet = text.length > 40 ? `${text.slice(0, 40)}...` : text;
    return { ok: false, error: `invalid JSON (${(err as Error).message}): ${JSON.stringify(snippet)}` };
  }
}

/**
 * Which members are the keys of a YANG list, by the list's name: a JSON array of objects carries
 * no schema, so the expansion must be told. Lists not named here are keyed by `name` when the
 * entry has one, else by the entry's position under the synthetic key `@index`.
 */
export type ListKeys = Readonly<Record<string, readonly string[]>>;

export const DEFAULT_LIST_KEYS: ListKeys = {
  interface: ['name'], // openconfig-interfaces
  subinterface: ['index'],
  tunnel: ['gateway', 'port'], // deploy/junos xmlproxyd_amt-tunnel
};

export interface JsonLeaf {
  rel: GnmiPathElem[]; // below the blob's path
  value: JsonValue; // never an object; arrays only of scalars (leaf-lists)
}

function keyText(v: JsonValue | undefined): string | undefined {
  if (v === undefined || v === null || typeof v === 'object') return undefined;
  return String(v);
}

function isObject(v: JsonValue): v is { [member: string]: JsonValue } {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function isListOfObjects(v: JsonValue): v is { [member: string]: JsonValue }[] {
  return Array.isArray(v) && v.length > 0 && v.every(isObject);
}

export interface JsonExpansion {
  leaves: JsonLeaf[];
  /** The blob was a whole list: each leaf's first element is a keyed entry replacing the path's last element. */
  replacesLast: boolean;
}

/**
 * The leaves of a JSON value at a path whose last element is named `lastName`. Member names lose
 * their module prefix (`openconfig-interfaces:in-octets` -> `in-octets`); an array of objects is
 * a list whose entries become keyed elements; an empty object yields no leaf.
 */
export function jsonLeaves(value: JsonValue, lastName: string | undefined, listKeys: ListKeys = DEFAULT_LIST_KEYS): JsonExpansion {
  const leaves: JsonLeaf[] = [];
  if (lastName !== undefined && isListOfObjects(value)) {
    // The blob is the whole list (a Get or subscription of /interfaces/interface)
    listEntries(value, localName(lastName), [], leaves, listKeys);
    return { leaves, replacesLast: true };
  }
  walk(value, [], leaves, listKeys);
  return { leaves, replacesLast: false };
}

function walk(value: JsonValue, rel: GnmiPathElem[], out: JsonLeaf[], listKeys: ListKeys): void {
  if (isObject(value)) {
    for (const member of Object.keys(value)) {
      const name = localName(member);
      const v = value[member]!;
      if (isListOfObjects(v)) listEntries(v, name, rel, out, listKeys);
      else walk(v, [...rel, { name }], out, listKeys);
    }
    return;
  }
  out.push({ rel, value });
}

function listEntries(entries: { [member: string]: JsonValue }[], name: string, rel: GnmiPathElem[], out: JsonLeaf[], listKeys: ListKeys): void {
  const keyNames = listKeys[name];
  entries.forEach((entry, index) => {
    const key: Record<string, string> = {};
    const names = keyNames ?? (keyText(entry.name) !== undefined ? ['name'] : []);
    for (const k of names) {
      const member = Object.keys(entry).find((m) => localName(m) === k);
      const text = member === undefined ? undefined : keyText(entry[member]);
      if (text !== undefined) key[k] = text;
    }
    if (Object.keys(key).length === 0) key['@index'] = String(index);
    walk(entry, [...rel, { name, key }], out, listKeys);
  });
}
