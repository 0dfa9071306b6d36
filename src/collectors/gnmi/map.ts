/**
 * gNMI leaf updates -> what one MX says about itself: active AMT tunnels, bandwidth from octet
 * counter deltas, the oper-status of its interfaces. One table (RULES) says which path feeds which
 * reading; MxState keeps only what the readings need (a counter pair per interface, one key per
 * active tunnel), so 500,000 tunnels cost one short string each.
 */
import { elemToString, localName, parsePath, pathMatches, type GnmiPath, type GnmiPathElem } from './wire/path.ts';
import { asBigInt, asNumber, type GnmiValue } from './wire/value.ts';

const U64_TOP = 1n << 64n;
/** A counter below its previous value that was this close to 2^64 wrapped; further down, it was reset. */
const WRAP_MARGIN = 1n << 48n;
/** Without a known interface speed, any rate above this is a counter glitch, not traffic. */
const MAX_PLAUSIBLE_BPS = 10e12;

export type ResetKind = 'reset' | 'wrap' | 'implausible';

/** How a leaf was read: 'applied' (fed a reading), 'ignored' (no rule: subscribed but unused), or why it could not be. */
export type ApplyOutcome = 'applied' | 'ignored' | { error: string; undecodable: boolean };

interface Counter {
  value: bigint;
  atMs: number; // when the target sampled it (its timestamp), else when we got it
  bps?: number; // from the last two samples
  bpsSeenAt?: number; // our clock, for freshness
}

interface Interface {
  in?: Counter;
  out?: Counter;
  oper?: string;
  speedMbps?: number;
}

type Read = 'counter' | 'gauge' | 'text';

interface Rule {
  path: string;
  read: Read;
  /** The entry a path (update or delete) is about, or undefined when it names every entry. */
  entry: (elem: readonly GnmiPathElem[]) => string | undefined;
  apply: (s: MxState, entry: string, value: bigint | number | string, atMs: number, seenAt: number) => void;
  clear: (s: MxState, entry: string | undefined) => void;
}

const interfaceName = (elem: readonly GnmiPathElem[]): string | undefined => wanted(elem[1]?.key?.name);
const tunnelKey = (elem: readonly GnmiPathElem[]): string | undefined => {
  const key = elem[3]?.key;
  const gateway = wanted(key?.gateway);
  return gateway === undefined ? undefined : `${gateway} ${key?.port ?? ''}`;
};
const lastName = (elem: readonly GnmiPathElem[]): string | undefined => (elem.length >= 4 ? localName(elem[3]!.name) : undefined);
const none = (): undefined => undefined;

function wanted(v: string | undefined): string | undefined {
  return v === undefined || v === '*' ? undefined : v;
}

function eachInterface(s: MxState, name: string | undefined, f: (i: Interface) => void): void {
  if (name === undefined) for (const i of s.interfaces.values()) f(i);
  else {
    const i = s.interfaces.get(name);
    if (i) f(i);
  }
}

/** Which path feeds what. Paths are those of the default subscriptions (docs/gnmi.md). */
const RULES: readonly Rule[] = [
  {
    path: '/interfaces/interface/state/counters/in-octets',
    read: 'counter',
    entry: interfaceName,
    apply: (s, name, v, at, seen) => s.sample(name, 'in', v as bigint, at, seen),
    clear: (s, name) => eachInterface(s, name, (i) => delete i.in),
  },
  {
    path: '/interfaces/interface/state/counters/out-octets',
    read: 'counter',
    entry: interfaceName,
    apply: (s, name, v, at, seen) => s.sample(name, 'out', v as bigint, at, seen),
    clear: (s, name) => eachInterface(s, name, (i) => delete i.out),
  },
  {
    path: '/interfaces/interface/state/oper-status',
    read: 'text',
    entry: interfaceName,
    apply: (s, name, v) => (s.iface(name).oper = enumName(v as string)),
    clear: (s, name) => eachInterface(s, name, (i) => delete i.oper),
  },
  {
    path: '/interfaces/interface/state/high-speed',
    read: 'gauge',
    entry: interfaceName,
    apply: (s, name, v) => (s.iface(name).speedMbps = v as number),
    clear: (s, name) => eachInterface(s, name, (i) => delete i.speedMbps),
  },
  {
    path: '/junos/amt/summary/active-tunnels',
    read: 'gauge',
    entry: none,
    apply: (s, _e, v) => (s.summaryTunnels = v as number),
    clear: (s) => (s.summaryTunnels = undefined),
  },
  {
    path: '/junos/amt/summary/tunnel-limit',
    read: 'gauge',
    entry: none,
    apply: (s, _e, v) => (s.tunnelLimit = v as number),
    clear: (s) => (s.tunnelLimit = undefined),
  },
  {
    path: '/junos/amt/tunnels/tunnel/state',
    read: 'text',
    entry: tunnelKey,
    apply: (s, key, v) => {
      s.tunnelListSeen = true;
      if (ACTIVE_TUNNEL.test(v as string)) s.activeTunnels.add(key);
      else s.activeTunnels.delete(key);
    },
    clear: (s, key) => (key === undefined ? s.activeTunnels.clear() : s.activeTunnels.delete(key)),
  },
  {
    path: '/junos/amt/statistics/*',
    read: 'counter',
    entry: lastName,
    apply: (s, name, v) => s.statistics.set(name, v as bigint),
    clear: (s, name) => (name === undefined ? s.statistics.clear() : s.statistics.delete(name)),
  },
];

/** `show amt tunnel` state of a tunnel that counts as active ([U] the exact Junos words: see docs/gnmi.md). */
const ACTIVE_TUNNEL = /^(active|up|established)$/i;

interface CompiledRule extends Rule {
  pattern: GnmiPath;
}

function compile(rule: Rule): CompiledRule {
  const parsed = parsePath(rule.path);
  if (!parsed.ok) throw new Error(`map.ts: ${parsed.error}`);
  return { ...rule, pattern: parsed.value };
}

const COMPILED = RULES.map(compile);
/** Rules by their last element's name; '*' rules are tried for every leaf. */
const BY_LEAF = new Map<string, CompiledRule[]>();
const ANY_LEAF: CompiledRule[] = [];
for (const r of COMPILED) {
  const last = r.pattern.elem.at(-1)!.name;
  if (last === '*') ANY_LEAF.push(r);
  else BY_LEAF.set(last, [...(BY_LEAF.get(last) ?? []), r]);
}

/** Enumeration text as openconfig sends it, with any module prefix dropped: `openconfig-if:UP` -> `UP`. */
function enumName(v: string): string {
  return localName(v).toUpperCase();
}

function readValue(read: Read, v: GnmiValue): bigint | number | string | undefined {
  switch (read) {
    case 'counter': {
      const n = asBigInt(v);
      return n !== undefined && n >= 0n && n < U64_TOP ? n : undefined;
    }
    case 'gauge': {
      const n = v.type === 'bool' ? undefined : asNumber(v);
      return n !== undefined && Number.isFinite(n) && n >= 0 ? n : undefined;
    }
    case 'text':
      return v.type === 'string' || v.type === 'ascii' ? v.value : undefined;
  }
}

/** Globs (`xe-*`) of the relay-facing interfaces; none given: every interface but tunnel, loopback and management ones. */
export function interfaceMatcher(globs: readonly string[]): (name: string) => boolean {
  if (globs.length === 0) return (name) => !/^(ud-|lo|fxp|em|me\d)/.test(name);
  const res = globs.map((g) => new RegExp(`^${g.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`));
  return (name) => res.some((re) => re.test(name));
}

export interface MxReadings {
  /** Active AMT tunnels: the router's summary count, else the number of active tunnel entries. */
  tunnels?: number;
  tunnelLimit?: number;
  /** The busier direction of the relay-facing interfaces, bit/s (in and out given too). */
  bandwidthBps?: number;
  inBps?: number;
  outBps?: number;
  /** From the oper-status of the relay-facing and ud-* interfaces. */
  state?: { value: 'up' | 'degraded' | 'down'; reason: string };
  interfaces: number;
  /** Sum of the relay-facing interfaces' speeds, bit/s, when they report one. */
  linkBps?: number;
}

export interface MxStateOptions {
  relayInterface: (name: string) => boolean;
  /** A rate older than this (our clock) no longer counts toward bandwidth. */
  rateMaxAgeMs: number;
  /** Called for each counter that went backwards or jumped (never turned into a rate). */
  onReset?: (kind: ResetKind, detail: string) => void;
}

export class MxState {
  readonly interfaces = new Map<string, Interface>();
  readonly activeTunnels = new Set<string>();
  readonly statistics = new Map<string, bigint>();
  summaryTunnels: number | undefined;
  tunnelLimit: number | undefined;
  /** Whether any per-tunnel entry was seen (so an empty set means zero tunnels, not "not subscribed"). */
  tunnelListSeen = false;
  readonly #options: MxStateOptions;

  constructor(options: MxStateOptions) {
    this.#options = options;
  }

  /** Applies one leaf; `atMs` is the target's timestamp (0 when it gave none), `seenAt` our clock. */
  apply(path: GnmiPath, value: GnmiValue, atMs: number, seenAt: number): ApplyOutcome {
    if (value.type === 'error') {
      // An unreadable JSON blob sits at a container: it counts if any rule reads below it.
      const read = COMPILED.some((r) => covers(path, r.pattern) || pathMatches(r.pattern, { elem: path.elem }, false));
      return read ? { error: `${pathText(path)}: ${value.error}`, undecodable: true } : 'ignored';
    }
    const last = path.elem.at(-1);
    if (!last) return 'ignored';
    const candidates = BY_LEAF.get(localName(last.name));
    const rule = find(candidates, path) ?? find(ANY_LEAF, path);
    if (!rule) return 'ignored';
    const v = readValue(rule.read, value);
    if (v === undefined) return { error: `${pathText(path)}: expected ${rule.read === 'text' ? 'a string' : `a ${rule.read} (unsigned number)`}, got ${describe(value)}`, undecodable: false };
    const entry = rule.entry(path.elem);
    if (entry === undefined && rule.entry !== none) return { error: `${pathText(path)}: no key for the entry`, undecodable: false };
    rule.apply(this, entry ?? '', v, atMs > 0 ? atMs : seenAt, seenAt);
    return 'applied';
  }

  /** A `delete` path: clears whatever it covers (an entry, a container, or everything below it). */
  delete(path: GnmiPath): number {
    let cleared = 0;
    for (const rule of COMPILED) {
      if (!covers(path, rule.pattern)) continue;
      rule.clear(this, rule.entry(path.elem));
      cleared++;
    }
    if (path.elem.length <= 2 && localName(path.elem[0]?.name ?? '') === 'interfaces') {
      const name = interfaceName(path.elem);
      if (name === undefined) this.interfaces.clear();
      else this.interfaces.delete(name);
    }
    return cleared;
  }

  /** Forgets everything (a new subscription starts from its own sync). */
  clear(): void {
    this.interfaces.clear();
    this.activeTunnels.clear();
    this.statistics.clear();
    this.summaryTunnels = undefined;
    this.tunnelLimit = undefined;
    this.tunnelListSeen = false;
  }

  iface(name: string): Interface {
    let i = this.interfaces.get(name);
    if (!i) {
      i = {};
      this.interfaces.set(name, i);
    }
    return i;
  }

  /** One octet counter sample: a rate from the previous one unless the counter went back (reset, wrap) or jumped. */
  sample(name: string, dir: 'in' | 'out', value: bigint, atMs: number, seenAt: number): void {
    const i = this.iface(name);
    const prev = i[dir];
    if (!prev) {
      i[dir] = { value, atMs };
      return;
    }
    if (atMs <= prev.atMs) {
      if (atMs === prev.atMs && value === prev.value) return; // a duplicate (heartbeat, resend)
      if (atMs < prev.atMs) return; // older than what we have: updates are not ordered by timestamp
    }
    const next: Counter = { value, atMs };
    if (value < prev.value) {
      const kind: ResetKind = prev.value >= U64_TOP - WRAP_MARGIN && value < WRAP_MARGIN ? 'wrap' : 'reset';
      this.#options.onReset?.(kind, `${name} ${dir}-octets went from ${prev.value} to ${value}`);
    } else {
      const bps = (Number(value - prev.value) * 8 * 1000) / (atMs - prev.atMs);
      const cap = i.speedMbps ? i.speedMbps * 1e6 * 1.25 : MAX_PLAUSIBLE_BPS;
      if (bps > cap) {
        this.#options.onReset?.('implausible', `${name} ${dir}-octets grew ${value - prev.value} in ${atMs - prev.atMs} ms (${bps.toExponential(2)} bit/s)`);
      } else {
        next.bps = bps;
        next.bpsSeenAt = seenAt;
      }
    }
    i[dir] = next;
  }

  readings(now: number): MxReadings {
    const { relayInterface, rateMaxAgeMs } = this.#options;
    const out: MxReadings = { interfaces: this.interfaces.size };
    const tunnels = this.summaryTunnels ?? (this.tunnelListSeen ? this.activeTunnels.size : undefined);
    if (tunnels !== undefined) out.tunnels = tunnels;
    if (this.tunnelLimit !== undefined) out.tunnelLimit = this.tunnelLimit;

    let inBps = 0;
    let outBps = 0;
    let rates = 0;
    let linkBps = 0;
    const down: string[] = [];
    const up: string[] = [];
    const udDown: string[] = [];
    let ud = 0;
    for (const [name, i] of this.interfaces) {
      if (name.startsWith('ud-') && i.oper !== undefined) {
        ud++;
        if (i.oper !== 'UP') udDown.push(name);
      }
      if (!relayInterface(name)) continue;
      const fresh = (c: Counter | undefined): c is Counter & { bps: number } => c?.bps !== undefined && now - (c.bpsSeenAt ?? 0) <= rateMaxAgeMs;
      if (fresh(i.in)) {
        inBps += i.in.bps;
        rates++;
      }
      if (fresh(i.out)) {
        outBps += i.out.bps;
        rates++;
      }
      if (i.speedMbps) linkBps += i.speedMbps * 1e6;
      if (i.oper !== undefined) (i.oper === 'UP' ? up : down).push(name);
    }
    if (rates > 0) {
      out.inBps = Math.round(inBps);
      out.outBps = Math.round(outBps);
      out.bandwidthBps = Math.max(out.inBps, out.outBps);
    }
    if (linkBps > 0) out.linkBps = linkBps;
    if (down.length > 0 && up.length === 0) out.state = { value: 'down', reason: `relay-facing interface${down.length > 1 ? 's' : ''} down: ${list(down)}` };
    else if (ud > 0 && udDown.length === ud) out.state = { value: 'down', reason: `AMT tunnel interface${ud > 1 ? 's' : ''} down: ${list(udDown)}` };
    else if (down.length > 0) out.state = { value: 'degraded', reason: `relay-facing interface${down.length > 1 ? 's' : ''} down: ${list(down)}` };
    else if (up.length > 0 || ud > 0) out.state = { value: 'up', reason: `${up.length} relay-facing interface${up.length === 1 ? '' : 's'} up` };
    return out;
  }
}

function find(rules: CompiledRule[] | undefined, path: GnmiPath): CompiledRule | undefined {
  if (!rules) return undefined;
  const bare = { elem: path.elem }; // Junos may or may not set an origin: rules match on elements
  return rules.find((r) => pathMatches(r.pattern, bare, false));
}

/** Whether a deleted path is the rule's path or above it (so deleting it removes what the rule read). */
function covers(deleted: GnmiPath, pattern: GnmiPath): boolean {
  if (deleted.elem.length > pattern.elem.length) return false;
  return deleted.elem.every((e, i) => {
    const p = pattern.elem[i]!;
    return p.name === '*' || e.name === '*' || localName(e.name) === p.name;
  });
}

function pathText(path: GnmiPath): string {
  return `/${path.elem.map(elemToString).join('/')}`;
}

function describe(v: GnmiValue): string {
  if (v.type === 'string' || v.type === 'ascii') return `${v.type} ${JSON.stringify(v.value.length > 20 ? `${v.value.slice(0, 20)}...` : v.value)}`;
  if ('value' in v && (typeof v.value === 'bigint' || typeof v.value === 'number' || typeof v.value === 'boolean')) return `${v.type} ${String(v.value)}`;
  return v.type;
}

function list(names: string[]): string {
  return names.length > 4 ? `${names.slice(0, 4).join(', ')} and ${names.length - 4} more` : names.join(', ');
}
