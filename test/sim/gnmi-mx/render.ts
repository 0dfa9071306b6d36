/**
 * Entries of the model -> gNMI Notifications, the way a Junos target encodes them:
 *
 *   PROTO      one Notification per entry, prefix = the entry's path, one Update per leaf with a
 *              scalar TypedValue (uint64/uint32 -> uint_val, strings -> string_val)
 *   JSON_IETF  one Update per entry whose path is the deepest container holding all the selected
 *              leaves and whose json_ietf_val is that container (RFC 7951: top-level members
 *              module-qualified, 64-bit integers as strings)
 *   JSON       the same as json_val, without module names, every integer a JSON number
 *
 * With `bundle` > 1, up to that many entries of a section share one Notification whose prefix is
 * the section's shared path (`/junos/amt/tunnels`), their keyed elements moving into the updates'
 * paths. `corrupt` makes the values undecodable on purpose (fault modes of the simulator).
 */
import type { GnmiPathElem } from '../../../src/collectors/gnmi/wire/path.ts';
import { pathToMsg } from '../../../src/collectors/gnmi/wire/path.ts';
import type { NotificationMsg, PathMsg, TypedValueMsg, UpdateMsg } from '../../../src/collectors/gnmi/wire/types.ts';
import { stringifyJson } from '../../../src/collectors/gnmi/wire/value.ts';
import type { JsonValue } from '../../../src/collectors/gnmi/wire/json.ts';
import type { Entry, Leaf, Section } from './model.ts';

export type SimEncoding = 'PROTO' | 'JSON' | 'JSON_IETF';
export type Corruption = 'wrong-type' | 'bad-json';

export interface RenderOptions {
  encoding: SimEncoding;
  target?: string; // echoed in every prefix when the request's prefix had one
  bundle?: number;
  corrupt?: Corruption;
}

export interface Selected {
  entry: Entry;
  leaves: Leaf[];
}

function protoValue(leaf: Leaf, corrupt: Corruption | undefined): TypedValueMsg {
  if (corrupt === 'wrong-type') {
    // counters as text, speeds as text, state as numbers: all readable protobuf, all the wrong type
    if (leaf.type === 'string') return { int_val: '42' };
    return { string_val: leaf.type === 'uint64' ? 'n/a' : 'fast' };
  }
  if (corrupt === 'bad-json') return { json_ietf_val: Buffer.from(`{"${leaf.rel.at(-1)}": ${String(leaf.value).slice(0, 3)}`) };
  if (leaf.type === 'string') return { string_val: String(leaf.value) };
  return { uint_val: String(leaf.value) };
}

function jsonLeaf(leaf: Leaf, ietf: boolean, corrupt: Corruption | undefined): JsonValue {
  if (corrupt === 'wrong-type') return leaf.type === 'string' ? 42 : 'n/a';
  if (leaf.type === 'string') return String(leaf.value);
  if (leaf.type === 'uint64') return ietf ? String(leaf.value) : BigInt(leaf.value);
  return Number(leaf.value);
}

function commonRoot(leaves: Leaf[]): string[] {
  let root = leaves[0]!.rel;
  for (const l of leaves) {
    let n = 0;
    while (n < root.length && n < l.rel.length && root[n] === l.rel[n]) n++;
    root = root.slice(0, n);
  }
  // two or more leaves: the root is a container above them (a leaf path is never its own root)
  if (leaves.length > 1 && leaves.some((l) => l.rel.length === root.length)) root = root.slice(0, -1);
  return root;
}

function jsonUpdate(s: Selected, section: Section, ietf: boolean, corrupt: Corruption | undefined, head: GnmiPathElem[]): UpdateMsg {
  const root = commonRoot(s.leaves);
  const path = [...head, ...root.map((name) => ({ name }))];
  let blob: JsonValue;
  if (s.leaves.length === 1 && s.leaves[0]!.rel.length === root.length) {
    blob = jsonLeaf(s.leaves[0]!, ietf, corrupt);
  } else {
    const obj: { [k: string]: JsonValue } = {};
    for (const leaf of s.leaves) {
      let node = obj;
      const rel = leaf.rel.slice(root.length);
      rel.forEach((name, depth) => {
        const member = ietf && depth === 0 ? `${section.module}:${name}` : name;
        if (depth === rel.length - 1) node[member] = jsonLeaf(leaf, ietf, corrupt);
        else node = (node[member] ??= {}) as { [k: string]: JsonValue };
      });
    }
    blob = obj;
  }
  let text = stringifyJson(blob);
  if (corrupt === 'bad-json') text = text.slice(0, Math.max(1, text.length - 3));
  const val: TypedValueMsg = ietf ? { json_ietf_val: Buffer.from(text) } : { json_val: Buffer.from(text) };
  return { path: pathToMsg({ elem: path }), val };
}

/** The number of leading template elements all entries of a section share (those before any key). */
function sharedLength(section: Section): number {
  const i = section.template.findIndex((e) => e.key);
  return i < 0 ? section.template.length : i;
}

const relPaths = new Map<string, PathMsg>();

/** The path of a leaf below its notification's prefix (shared objects when there is no head: they are only read). */
function leafPathMsg(head: GnmiPathElem[], rel: string[]): PathMsg {
  if (head.length > 0) return pathToMsg({ elem: [...head, ...rel.map((name) => ({ name }))] });
  const key = rel.join('/');
  let msg = relPaths.get(key);
  if (!msg) relPaths.set(key, (msg = pathToMsg({ elem: rel.map((name) => ({ name })) })));
  return msg;
}

function updatesOf(s: Selected, opts: RenderOptions, head: GnmiPathElem[]): UpdateMsg[] {
  if (opts.encoding === 'PROTO') return s.leaves.map((leaf) => ({ path: leafPathMsg(head, leaf.rel), val: protoValue(leaf, opts.corrupt) }));
  return [jsonUpdate(s, s.entry.section, opts.encoding === 'JSON_IETF', opts.corrupt, head)];
}

/** Notifications for the selected leaves, lazily (a sample of 500,000 tunnels is never held). */
export function* render(selected: Iterable<Selected>, opts: RenderOptions, nowNs: () => bigint): Generator<NotificationMsg> {
  const bundle = Math.max(1, opts.bundle ?? 1);
  let batch: Selected[] = [];
  const flush = (): NotificationMsg => {
    const section = batch[0]!.entry.section;
    const shared = batch.length > 1 ? sharedLength(section) : batch[0]!.entry.elem.length;
    const prefix = pathToMsg({ elem: batch[0]!.entry.elem.slice(0, shared), ...(opts.target ? { target: opts.target } : {}) });
    const update = batch.flatMap((s) => updatesOf(s, opts, s.entry.elem.slice(shared)));
    batch = [];
    return { timestamp: nowNs().toString(), prefix, update };
  };
  for (const s of selected) {
    if (s.leaves.length === 0) continue;
    if (batch.length > 0 && (batch.length >= bundle || batch[0]!.entry.section !== s.entry.section)) yield flush();
    batch.push(s);
  }
  if (batch.length > 0) yield flush();
}
