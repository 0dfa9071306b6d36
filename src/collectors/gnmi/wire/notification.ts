/**
 * One Notification -> a flat list of leaf updates `{path, value, timestampNs}` plus deletes, with
 * every path joined to the prefix (spec §2.2.2.1) and JSON / JSON_IETF blobs for a container
 * expanded into one update per leaf (json.ts), so that whatever encoding the target chose, the
 * caller sees the same leaves. A value that cannot be read stays in the list as an
 * `{ type: 'error' }` value with its path, and is counted in `errors`.
 */
import { decodeExtensions, type Extensions } from './extension.ts';
import { DEFAULT_LIST_KEYS, jsonLeaves, type ListKeys } from './json.ts';
import { joinPath, pathFromMsg, type GnmiPath } from './path.ts';
import type { NotificationMsg, SubscribeResponseMsg, UpdateMsg } from './types.ts';
import { decodeLegacyValue, decodeTypedValue, valueFromJson, type GnmiValue } from './value.ts';

export interface LeafUpdate {
  path: GnmiPath;
  value: GnmiValue;
  timestampNs: bigint;
  duplicates?: number;
}

export interface FlatNotification {
  timestampNs: bigint;
  prefix: GnmiPath;
  updates: LeafUpdate[];
  deletes: GnmiPath[];
  atomic: boolean;
  errors: number; // updates whose value is an error
}

export interface FlattenOptions {
  expandJson?: boolean; // default true
  listKeys?: ListKeys;
}

function timestampOf(ts: string | number | undefined): bigint {
  if (ts === undefined) return 0n;
  try {
    return BigInt(ts);
  } catch {
    return 0n;
  }
}

function valueOf(u: UpdateMsg): GnmiValue {
  if (u.val) return decodeTypedValue(u.val);
  if (u.value) return decodeLegacyValue(u.value);
  return { type: 'error', error: 'update without a value' };
}

export function flattenNotification(n: NotificationMsg, options: FlattenOptions = {}): FlatNotification {
  const expandJson = options.expandJson ?? true;
  const listKeys = options.listKeys ?? DEFAULT_LIST_KEYS;
  const timestampNs = timestampOf(n.timestamp);
  const prefix = pathFromMsg(n.prefix);
  const out: FlatNotification = { timestampNs, prefix, updates: [], deletes: [], atomic: n.atomic ?? false, errors: 0 };

  const push = (path: GnmiPath, value: GnmiValue, duplicates: number | undefined): void => {
    const update: LeafUpdate = { path, value, timestampNs };
    if (duplicates) update.duplicates = duplicates;
    if (value.type === 'error') out.errors++;
    out.updates.push(update);
  };

  for (const u of Array.isArray(n.update) ? n.update : []) {
    if (!u || typeof u !== 'object') {
      push(prefix, { type: 'error', error: 'update is not a message' }, undefined);
      continue;
    }
    const own = pathFromMsg(u.path);
    const joined = joinPath(prefix, own);
    if (!joined.ok) {
      push(own, { type: 'error', error: joined.error }, u.duplicates);
      continue;
    }
    const path = joined.value;
    const value = valueOf(u);
    if (!expandJson || (value.type !== 'json' && value.type !== 'json_ietf')) {
      push(path, value, u.duplicates);
      continue;
    }
    const last = path.elem[path.elem.length - 1];
    const { leaves, replacesLast } = jsonLeaves(value.value, last?.name, listKeys);
    const base = replacesLast ? path.elem.slice(0, -1) : path.elem;
    for (const leaf of leaves) push({ ...path, elem: leaf.rel.length === 0 ? base : [...base, ...leaf.rel] }, valueFromJson(leaf.value), u.duplicates);
  }

  for (const d of Array.isArray(n.delete) ? n.delete : []) {
    const joined = joinPath(prefix, pathFromMsg(d));
    if (joined.ok) out.deletes.push(joined.value);
    else out.errors++;
  }
  return out;
}

/** What one SubscribeResponse says, read with its extensions. */
export type SubscribeEvent =
  | { kind: 'update'; notification: FlatNotification; extensions: Extensions }
  | { kind: 'sync'; extensions: Extensions }
  | { kind: 'error'; error: string; extensions: Extensions };

export function readSubscribeResponse(r: SubscribeResponseMsg, options: FlattenOptions = {}): SubscribeEvent {
  try {
    return readResponse(r, options);
  } catch (err) {
    // only a hand-made object of the wrong shape gets here: the decoder's output always has the right types
    return { kind: 'error', error: `unreadable SubscribeResponse: ${(err as Error).message}`, extensions: { unknown: [], errors: [] } };
  }
}

function readResponse(r: SubscribeResponseMsg, options: FlattenOptions): SubscribeEvent {
  const extensions = decodeExtensions(Array.isArray(r.extension) ? r.extension : []);
  const which = r.response ?? (r.update ? 'update' : r.sync_response !== undefined ? 'sync_response' : r.error ? 'error' : undefined);
  switch (which) {
    case 'update':
      return { kind: 'update', notification: flattenNotification(r.update ?? {}, options), extensions };
    case 'sync_response':
      // sync_response = false carries no meaning; treated as an empty response
      return r.sync_response ? { kind: 'sync', extensions } : { kind: 'error', error: 'sync_response set to false', extensions };
    case 'error':
      return { kind: 'error', error: `target error ${r.error?.code ?? 0}: ${r.error?.message ?? ''}`, extensions };
    default:
      return { kind: 'error', error: 'empty SubscribeResponse (no update, sync_response or error)', extensions };
  }
}
