/**
 * gNMI paths: the message form (PathMsg) <-> a normalised form (GnmiPath) <-> the string form of
 * openconfig/reference rpc/gnmi/gnmi-path-strings.md, joining a Notification's prefix with its
 * paths (spec §2.2.2.1, §2.7), and matching paths against subscribed paths with wildcards.
 *
 * String form: `[origin:]/name[key=value][key2=value2]/...`. Keys are written sorted by name. In a
 * key value only `]` and `\` are escaped (with `\`), and newline / carriage return are written
 * `\n` / `\r`; `/`, `[` and `=` stand as they are (`[name=ud-0/0/0]`). In element names `/`, `[`,
 * `]` and `\` are escaped, in key names `=`, `]` and `\`, so any PathElem survives a round trip.
 */
import type { PathElemMsg, PathMsg, Result } from './types.ts';

export interface GnmiPathElem {
  name: string;
  key?: Readonly<Record<string, string>>; // absent when the element has no keys
}

export interface GnmiPath {
  origin?: string; // absent = unspecified (which means "openconfig", spec §2.7)
  target?: string; // only ever set from a prefix
  elem: GnmiPathElem[];
}

export const DEFAULT_ORIGIN = 'openconfig';

function elemFromMsg(e: PathElemMsg): GnmiPathElem {
  const name = typeof e?.name === 'string' ? e.name : '';
  const key = e?.key;
  return key && typeof key === 'object' && Object.keys(key).length > 0 ? { name, key } : { name };
}

/**
 * The normalised form of a Path message (a missing path is the root). Pre-0.4.0 targets send
 * `element` strings instead of `elem`: each is read as one element in string form (`name[k=v]`).
 */
export function pathFromMsg(msg: PathMsg | null | undefined): GnmiPath {
  const path: GnmiPath = { elem: [] };
  if (!msg || typeof msg !== 'object') return path;
  if (typeof msg.origin === 'string' && msg.origin) path.origin = msg.origin;
  if (typeof msg.target === 'string' && msg.target) path.target = msg.target;
  const elems = Array.isArray(msg.elem) ? msg.elem : [];
  if (elems.length > 0) {
    path.elem = elems.map(elemFromMsg);
  } else if (Array.isArray(msg.element) && msg.element.length > 0) {
    path.elem = msg.element.map((s) => {
      const parsed = parseElems(s);
      return parsed.ok && parsed.value.length === 1 ? parsed.value[0]! : { name: s };
    });
  }
  return path;
}

export function pathToMsg(path: GnmiPath): PathMsg {
  const msg: PathMsg = { elem: path.elem.map((e) => (e.key ? { name: e.name, key: { ...e.key } } : { name: e.name })) };
  if (path.origin) msg.origin = path.origin;
  if (path.target) msg.target = path.target;
  return msg;
}

function escapeName(s: string): string {
  return s.replace(/[\\/[\]]/g, (c) => `\\${c}`);
}

function escapeKeyName(s: string): string {
  return s.replace(/[\\=\]]/g, (c) => `\\${c}`);
}

function escapeKeyValue(s: string): string {
  return s.replace(/[\\\]\n\r]/g, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\${c}`));
}

export function elemToString(e: GnmiPathElem): string {
  let s = escapeName(e.name);
  if (e.key) {
    for (const k of Object.keys(e.key).sort()) s += `[${escapeKeyName(k)}=${escapeKeyValue(e.key[k]!)}]`;
  }
  return s;
}

/** The string form, absolute (`/` for the root); the target is not part of it. */
export function pathToString(path: GnmiPath): string {
  const body = `/${path.elem.map(elemToString).join('/')}`;
  return path.origin ? `${path.origin}:${body}` : body;
}

const ORIGIN_RE = /^([^/[\]\\]+):\//;

/**
 * Parses the string form. A leading `origin:` is read as the origin only when a `/` follows the
 * colon (`openconfig:/interfaces`), so a module-prefixed first element of a relative path
 * (`openconfig-interfaces:interfaces/...`) is an element name. The leading `/` is optional and a
 * trailing `/` is ignored; `/` alone is the root.
 */
export function parsePath(text: string): Result<GnmiPath> {
  let s = text.trim();
  if (s === '') return { ok: false, error: 'empty path' };
  const path: GnmiPath = { elem: [] };
  const m = ORIGIN_RE.exec(s);
  if (m) {
    path.origin = m[1]!;
    s = s.slice(m[1]!.length + 1);
  }
  if (s.startsWith('/')) s = s.slice(1);
  if (s === '') return { ok: true, value: path };
  const elems = parseElems(s);
  if (!elems.ok) return { ok: false, error: `${elems.error} in path ${JSON.stringify(text)}` };
  path.elem = elems.value;
  return { ok: true, value: path };
}

function unescapeChar(c: string): string {
  return c === 'n' ? '\n' : c === 'r' ? '\r' : c;
}

/** Parses `a/b[k=v]/c` (no origin, no leading slash) into elements. */
function parseElems(s: string): Result<GnmiPathElem[]> {
  const elems: GnmiPathElem[] = [];
  let i = 0;
  const n = s.length;
  while (i < n) {
    let name = '';
    while (i < n && s[i] !== '/' && s[i] !== '[') {
      if (s[i] === '\\') {
        if (i + 1 >= n) return { ok: false, error: 'trailing backslash' };
        name += s[i + 1];
        i += 2;
      } else if (s[i] === ']') {
        return { ok: false, error: `unexpected "]" at ${i}` };
      } else {
        name += s[i++];
      }
    }
    if (name === '') return { ok: false, error: `empty element name at ${i}` };
    let key: Record<string, string> | undefined;
    while (i < n && s[i] === '[') {
      i++;
      let k = '';
      while (i < n && s[i] !== '=') {
        if (s[i] === ']') return { ok: false, error: `key without "=" at ${i}` };
        if (s[i] === '\\' && i + 1 < n) {
          k += unescapeChar(s[i + 1]!);
          i += 2;
        } else {
          k += s[i++];
        }
      }
      if (i >= n) return { ok: false, error: 'unterminated key' };
      if (k === '') return { ok: false, error: `empty key name at ${i}` };
      i++; // '='
      let v = '';
      while (i < n && s[i] !== ']') {
        if (s[i] === '\\' && i + 1 < n) {
          v += unescapeChar(s[i + 1]!);
          i += 2;
        } else {
          v += s[i++];
        }
      }
      if (i >= n) return { ok: false, error: `unterminated key value for "${k}"` };
      i++; // ']'
      key ??= {};
      if (Object.hasOwn(key, k)) return { ok: false, error: `duplicate key "${k}"` };
      key[k] = v;
    }
    elems.push(key ? { name, key } : { name });
    if (i < n) {
      if (s[i] !== '/') return { ok: false, error: `unexpected "${s[i]}" at ${i}` };
      i++;
      if (i === n) break; // trailing slash
    }
  }
  return { ok: true, value: elems };
}

/**
 * The full path of an update or delete: prefix + path (spec §2.2.2.1). The origin comes from
 * whichever side has it; the spec forbids setting it on both, which is accepted only when both
 * agree. The target comes from the prefix.
 */
export function joinPath(prefix: GnmiPath, path: GnmiPath): Result<GnmiPath> {
  if (prefix.origin && path.origin && prefix.origin !== path.origin) {
    return { ok: false, error: `origin set in both prefix (${prefix.origin}) and path (${path.origin})` };
  }
  const joined: GnmiPath = { elem: prefix.elem.length === 0 ? path.elem : path.elem.length === 0 ? prefix.elem : [...prefix.elem, ...path.elem] };
  const origin = prefix.origin || path.origin;
  if (origin) joined.origin = origin;
  const target = prefix.target || path.target;
  if (target) joined.target = target;
  return { ok: true, value: joined };
}

/** A path with `elems` appended (origin and target kept). */
export function childPath(path: GnmiPath, ...elems: GnmiPathElem[]): GnmiPath {
  return { ...path, elem: [...path.elem, ...elems] };
}

/** The name without a YANG module prefix: `openconfig-interfaces:in-octets` -> `in-octets`. */
export function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

export function sameOrigin(a: string | undefined, b: string | undefined): boolean {
  return (a || DEFAULT_ORIGIN) === (b || DEFAULT_ORIGIN);
}

function elemMatches(pattern: GnmiPathElem, elem: GnmiPathElem): boolean {
  if (pattern.name !== '*' && localName(pattern.name) !== localName(elem.name)) return false;
  if (!pattern.key) return true; // no keys in the pattern: any entry of the list
  for (const k of Object.keys(pattern.key)) {
    const want = pattern.key[k]!;
    if (want === '*') continue;
    if (elem.key?.[k] !== want) return false;
  }
  return true;
}

function matchFrom(pattern: GnmiPathElem[], pi: number, path: GnmiPathElem[], i: number, descendants: boolean): boolean {
  while (pi < pattern.length) {
    const p = pattern[pi]!;
    if (p.name === '...') {
      // any number of elements, including none
      for (let j = i; j <= path.length; j++) if (matchFrom(pattern, pi + 1, path, j, descendants)) return true;
      return false;
    }
    if (i >= path.length || !elemMatches(p, path[i]!)) return false;
    pi++;
    i++;
  }
  return descendants || i === path.length;
}

/**
 * Whether `path` is selected by the subscribed `pattern`: element by element, where a pattern
 * element named `*` matches any one element, `...` any number of them, a key value `*` any value
 * (or none), and a pattern element without keys any entry. Names are compared without module
 * prefixes. With `descendants` (the default), everything below a matched path matches too, as a
 * subscription to a container covers its leaves. Origins must agree (unset = openconfig); the
 * target is not compared.
 */
export function pathMatches(pattern: GnmiPath, path: GnmiPath, descendants = true): boolean {
  if (!sameOrigin(pattern.origin, path.origin)) return false;
  return matchFrom(pattern.elem, 0, path.elem, 0, descendants);
}

/** Whether two paths are equal as gNMI compares them (origin default applied, keys as a set). */
export function pathEquals(a: GnmiPath, b: GnmiPath): boolean {
  if (!sameOrigin(a.origin, b.origin) || a.elem.length !== b.elem.length) return false;
  return a.elem.every((e, i) => elemToString(e) === elemToString(b.elem[i]!));
}
