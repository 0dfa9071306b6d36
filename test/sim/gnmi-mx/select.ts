/**
 * Which leaves of the model a subscribed path selects, without visiting 500,000 tunnels when the
 * answer is "all of them" or "none": each (path, section) pair is classified once.
 */
import { pathMatches, sameOrigin, type GnmiPath, type GnmiPathElem } from '../../../src/collectors/gnmi/wire/path.ts';
import type { Entry, Leaf, LeafKind, Section } from './model.ts';
import type { Selected } from './render.ts';

export interface Selector {
  path: GnmiPath;
  kinds: ReadonlySet<LeafKind>; // which leaves it takes (TARGET_DEFINED splits counters from state)
}

type Coverage = 'none' | 'all' | 'check';

function isWild(e: GnmiPathElem): boolean {
  return !e.key || Object.values(e.key).every((v) => v === '*');
}

/** Could an element of a path and an element of a template (keys `*`) be the same node? */
function compatible(a: GnmiPathElem, b: GnmiPathElem): boolean {
  if (a.name !== '*' && b.name !== '*' && a.name.replace(/^[^:]*:/, '') !== b.name.replace(/^[^:]*:/, '')) return false;
  if (!a.key || !b.key) return true;
  for (const k of Object.keys(a.key)) {
    const x = a.key[k]!;
    const y = b.key[k];
    if (y !== undefined && x !== '*' && y !== '*' && x !== y) return false;
  }
  return true;
}

function coverage(path: GnmiPath, section: Section): Coverage {
  if (!sameOrigin(path.origin, undefined)) return 'none';
  const p = path.elem;
  if (p.some((e) => e.name === '...')) return 'check';
  const t = section.template;
  for (let i = 0; i < Math.min(p.length, t.length); i++) if (!compatible(p[i]!, t[i]!)) return 'none';
  if (p.length <= t.length && p.every((e, i) => (e.name === '*' || e.name.replace(/^[^:]*:/, '') === t[i]!.name) && isWild(e))) return 'all';
  return 'check';
}

/** Whether a path and another (a deleted entry) lie on one branch: one is at or below the other. */
export function overlaps(a: GnmiPath, b: GnmiPath): boolean {
  if (!sameOrigin(a.origin, b.origin)) return false;
  const n = Math.min(a.elem.length, b.elem.length);
  for (let i = 0; i < n; i++) if (!compatible(a.elem[i]!, b.elem[i]!)) return false;
  return true;
}

function leafPath(entry: Entry, leaf: Leaf): GnmiPath {
  return { elem: [...entry.elem, ...leaf.rel.map((name) => ({ name }))] };
}

/** The selected leaves of one entry (empty when none). */
export function selectLeaves(entry: Entry, selectors: readonly Selector[]): Leaf[] {
  return entry.leaves.filter((leaf) => selectors.some((s) => s.kinds.has(leaf.kind) && pathMatches(s.path, leafPath(entry, leaf))));
}

/** Every selected leaf of the model, entry by entry, lazily. */
export function* select(sections: readonly Section[], selectors: readonly Selector[], now: number): Generator<Selected> {
  for (const section of sections) {
    const classified = selectors.map((s) => ({ s, c: coverage(s.path, section) })).filter((x) => x.c !== 'none');
    if (classified.length === 0) continue;
    const allKinds = new Set<LeafKind>();
    for (const x of classified) if (x.c === 'all') for (const k of x.s.kinds) allKinds.add(k);
    const checked = classified.filter((x) => x.c === 'check').map((x) => x.s);
    for (const entry of section.entries(now)) {
      const leaves = checked.length === 0 ? entry.leaves.filter((l) => allKinds.has(l.kind)) : entry.leaves.filter((l) => allKinds.has(l.kind) || selectLeaves({ ...entry, leaves: [l] }, checked).length > 0);
      if (leaves.length > 0) yield { entry, leaves };
    }
  }
}

/** Whether a path could select anything this target implements (else: UNIMPLEMENTED). */
export function implemented(path: GnmiPath, sections: readonly Section[]): boolean {
  return sections.some((s) => coverage(path, s) !== 'none');
}
