// The tunnels of the Linux AMT relay as driad sees them, one entry per gateway address and port.
// Fed by both paths: the loader's XDP events and snapshots, and AMT messages decoded from a
// packet capture (live tcpdump or a pcap file) through src/amt.

/** The AMT message kinds, short names as the loader prints them. */
export const KINDS = ['discovery', 'advertisement', 'request', 'query', 'update', 'data', 'teardown'] as const;
export type Kind = (typeof KINDS)[number];

export type Counters = Record<Kind, { packets: number; bytes: number }>;

/**
 * The kernel relay's tunnel expiry (protocol-facts §6): GMI = (qrv×qi + qri) s = (2×125 + 10) s
 * = 260 s after a Request, refreshed to 3×GMI by each valid Membership Update.
 */
export const DEFAULT_IDLE_MS = 260_000;
const UPDATE_REFRESH_FACTOR = 3;

export interface Gateway {
  address: string;
  port: number;
}

/** Why a tunnel ended: a Teardown naming it, no Request or Update within the keepalive window, its entry evicted, or tracking stopped. */
export type TunnelEndReason = 'teardown' | 'expired' | 'evicted' | 'stopped';

/** Packets and bytes of the message kinds that belong to a tunnel (not Discovery and Advertisement, which come before it). */
export interface TunnelTraffic {
  /** Membership Queries and Multicast Data sent to the gateway. */
  toGateway: { packets: number; bytes: number };
  /** Requests, Membership Updates and the Teardown sent by the gateway. */
  fromGateway: { packets: number; bytes: number };
}

/** One tunnel from the message that opened it (normally its Request) to its end: what the sink gets. */
export interface TunnelLife extends TunnelTraffic {
  gateway: Gateway;
  start: number;
  end: number;
  reason: TunnelEndReason;
  /** Every group joined while it was open, in the order first joined (at most MAX_LIFE_GROUPS). */
  groups: string[];
  /** Groups joined beyond MAX_LIFE_GROUPS, not listed. */
  groupsOmitted: number;
}

/** Where ended tunnels go (the collector's accounting sink, see README.md "Tunnel records"). */
export type TunnelEndSink = (life: TunnelLife) => void;

export const MAX_LIFE_GROUPS = 64;

interface OpenLife extends TunnelTraffic {
  start: number;
  groups: Set<string>;
  groupsOmitted: number;
  /** Set once ended; with deferred ends it waits here for the counters of the next snapshot. */
  ended: { at: number; reason: TunnelEndReason } | null;
}

const TO_GATEWAY = new Set<Kind>(['query', 'data']);
const FROM_GATEWAY = new Set<Kind>(['request', 'update', 'teardown']);

export interface TunnelEntry extends Gateway {
  firstSeen: number;
  lastSeen: number;
  /** Until when the tunnel counts as active (its last Request or Update plus the idle time); 0: never opened. */
  activeUntil: number;
  /** A Teardown ended it (a later Request opens it again). */
  tornDown: boolean;
  requestNonce: number | null;
  groups: Set<string>;
  joins: number;
  leaves: number;
  counters: Counters;
  deviations: { kernelShapedRequests: number; kernelShapedQueries: number; nonceMismatches: number };
  /** The tunnel now open (or ended and not yet handed to the sink), with its traffic. */
  life?: OpenLife | null;
}

/** One message a tunnel sent or received, as either path sees it. */
export interface Observation {
  at: number;
  gateway: Gateway;
  kind: Kind;
  /** The AMT message length (the UDP payload). */
  bytes: number;
  /** Request and Update nonces. */
  nonce?: number;
  /** A kernel-shaped Request or Query (src/amt's deviations). */
  kernelShaped?: boolean;
  /** Update: what its report joins and leaves. */
  changes?: ReadonlyArray<{ group: string; change: 'join' | 'leave' }>;
  /** Teardown: the tunnel it names (after a NAT rebinding not the sender). */
  tunnel?: Gateway;
}

export interface TableOptions {
  idleMs?: number;
  /** Entries kept at most; the least recently seen goes first. */
  maxEntries?: number;
  /** Gets every tunnel that ended (teardown, expiry, eviction, stop). */
  onEnd?: TunnelEndSink;
}

const key = (g: Gateway): string => `${g.address}|${g.port}`;

function zeroCounters(): Counters {
  return Object.fromEntries(KINDS.map((k) => [k, { packets: 0, bytes: 0 }])) as Counters;
}

export class TunnelTable {
  readonly idleMs: number;
  readonly maxEntries: number;
  readonly #entries = new Map<string, TunnelEntry>();
  evicted = 0;
  /** Packets seen but not AMT (capture path), by reason. */
  readonly malformed = new Map<string, number>();
  /**
   * Every message counted since the table was made, never decreasing: rates are its differences.
   * A loader snapshot that shows an entry's counter lower than before (a new loader, or the BPF
   * map evicted and re-created the entry between snapshots) adds its new value: counted from zero.
   */
  readonly seen: Counters = zeroCounters();
  /**
   * Hold ended tunnels until settle() (the loader's next snapshot), so the counters of their last
   * messages, which come with the snapshot, are theirs. Off for a capture: counted as they come.
   */
  deferEnds = false;
  readonly #onEnd: TunnelEndSink | undefined;
  readonly #pending = new Set<TunnelEntry>();

  constructor(o: TableOptions = {}) {
    this.idleMs = o.idleMs ?? DEFAULT_IDLE_MS;
    this.maxEntries = o.maxEntries ?? 100_000;
    this.#onEnd = o.onEnd;
  }

  get size(): number {
    return this.#entries.size;
  }

  #entry(g: Gateway, at: number): TunnelEntry {
    const k = key(g);
    let e = this.#entries.get(k);
    if (e) {
      // Map order is recency order: the first entry is the least recently seen.
      this.#entries.delete(k);
    } else {
      if (this.#entries.size >= this.maxEntries) {
        const oldest = this.#entries.keys().next().value as string;
        this.#endEvicted(this.#entries.get(oldest)!, at);
        this.#entries.delete(oldest);
        this.evicted++;
      }
      e = {
        address: g.address,
        port: g.port,
        firstSeen: at,
        lastSeen: at,
        activeUntil: 0,
        tornDown: false,
        requestNonce: null,
        groups: new Set(),
        joins: 0,
        leaves: 0,
        counters: zeroCounters(),
        deviations: { kernelShapedRequests: 0, kernelShapedQueries: 0, nonceMismatches: 0 },
      };
    }
    this.#entries.set(k, e);
    if (at < e.firstSeen) e.firstSeen = at;
    if (at > e.lastSeen) e.lastSeen = at;
    return e;
  }

  /** A message from a capture: counted, and its lifecycle applied (a Request counts in the tunnel it opens, a Teardown in the one it ends). */
  observe(o: Observation): void {
    const e = this.#entry(o.gateway, o.at);
    if (o.kind === 'query' && o.kernelShaped) e.deviations.kernelShapedQueries++;
    if (o.kind !== 'teardown') this.#lifecycle(e, o);
    e.counters[o.kind].packets++;
    e.counters[o.kind].bytes += o.bytes;
    this.#count(e, o.kind, 1, o.bytes);
    if (o.kind === 'teardown') this.#lifecycle(e, o);
  }

  #count(e: TunnelEntry, kind: Kind, packets: number, bytes: number): void {
    this.seen[kind].packets += packets;
    this.seen[kind].bytes += bytes;
    const life = e.life;
    if (!life) return;
    const into = TO_GATEWAY.has(kind) ? life.toGateway : FROM_GATEWAY.has(kind) ? life.fromGateway : null;
    if (!into) return;
    into.packets += packets;
    into.bytes += bytes;
  }

  /** Opens a tunnel on the entry, first ending one that expired unnoticed or waits for its counters. */
  #open(e: TunnelEntry, at: number): void {
    if (e.life && !e.life.ended && !this.isActive(e, at)) this.#end(e, e.activeUntil, 'expired');
    if (e.life?.ended) this.#emit(e);
    if (e.life) return;
    e.life = { start: at, groups: new Set(), groupsOmitted: 0, ended: null, toGateway: { packets: 0, bytes: 0 }, fromGateway: { packets: 0, bytes: 0 } };
  }

  #end(e: TunnelEntry, at: number, reason: TunnelEndReason): void {
    const life = e.life;
    if (!life || life.ended) return;
    life.ended = { at: Math.max(at, life.start), reason };
    if (this.deferEnds) this.#pending.add(e);
    else this.#emit(e);
  }

  #emit(e: TunnelEntry): void {
    const life = e.life;
    e.life = null;
    this.#pending.delete(e);
    if (!life?.ended) return;
    this.#onEnd?.({
      gateway: { address: e.address, port: e.port },
      start: life.start,
      end: life.ended.at,
      reason: life.ended.reason,
      groups: [...life.groups],
      groupsOmitted: life.groupsOmitted,
      toGateway: { ...life.toGateway },
      fromGateway: { ...life.fromGateway },
    });
  }

  #endEvicted(e: TunnelEntry, at: number): void {
    if (e.life && !e.life.ended) this.#end(e, this.isActive(e, at) ? at : e.activeUntil, this.isActive(e, at) ? 'evicted' : 'expired');
    if (e.life) this.#emit(e);
  }

  /** Ends the tunnels whose keepalive window has passed, at the moment it passed. */
  expire(now: number): void {
    for (const e of this.#entries.values()) {
      if (e.life && !e.life.ended && !this.isActive(e, now)) this.#end(e, e.activeUntil, 'expired');
    }
  }

  /** Hands the ended tunnels held for their counters to the sink (after a loader snapshot). */
  settle(): void {
    for (const e of [...this.#pending]) this.#emit(e);
  }

  /** Ends every open tunnel (tracking stops or changes mode) and hands them all to the sink. */
  endAll(now: number, reason: TunnelEndReason = 'stopped'): void {
    for (const e of this.#entries.values()) {
      if (e.life && !e.life.ended) this.#end(e, this.isActive(e, now) ? now : e.activeUntil, this.isActive(e, now) ? reason : 'expired');
    }
    this.settle();
  }

  /** A lifecycle event from the loader (its counters come with the snapshots). */
  event(o: Observation): void {
    this.#lifecycle(this.#entry(o.gateway, o.at), o);
  }

  #lifecycle(e: TunnelEntry, o: Observation): void {
    switch (o.kind) {
      case 'request':
        this.#open(e, o.at);
        e.requestNonce = o.nonce ?? null;
        e.tornDown = false;
        e.activeUntil = Math.max(e.activeUntil, o.at + this.idleMs);
        if (o.kernelShaped) e.deviations.kernelShapedRequests++;
        break;
      case 'update':
        if (o.nonce !== undefined && e.requestNonce !== null && o.nonce !== e.requestNonce) e.deviations.nonceMismatches++;
        this.#open(e, o.at);
        e.tornDown = false;
        e.activeUntil = Math.max(e.activeUntil, o.at + UPDATE_REFRESH_FACTOR * this.idleMs);
        for (const c of o.changes ?? []) {
          if (c.change === 'join') {
            e.groups.add(c.group);
            e.joins++;
            const life = e.life!;
            if (life.groups.has(c.group)) continue;
            if (life.groups.size < MAX_LIFE_GROUPS) life.groups.add(c.group);
            else life.groupsOmitted++;
          } else {
            e.groups.delete(c.group);
            e.leaves++;
          }
        }
        break;
      case 'teardown': {
        const target = o.tunnel ? this.#entries.get(key(o.tunnel)) : e;
        const t = target ?? e;
        this.#end(t, o.at, 'teardown');
        t.tornDown = true;
        t.activeUntil = 0;
        t.groups.clear();
        break;
      }
      default:
        break;
    }
  }

  /** A snapshot line of the loader: its counters are the loader's totals since it started. */
  setCounters(g: Gateway, at: number, counters: Partial<Counters>, deviations: Partial<TunnelEntry['deviations']>): void {
    const e = this.#entry(g, at);
    for (const k of KINDS) {
      const next = counters[k];
      if (!next) continue;
      const was = e.counters[k];
      // Lower than before: the counter started again from zero, so all of it is new.
      const packets = next.packets >= was.packets ? next.packets - was.packets : next.packets;
      const bytes = next.bytes >= was.bytes && next.packets >= was.packets ? next.bytes - was.bytes : next.bytes;
      e.counters[k] = { ...next };
      if (packets > 0 || bytes > 0) this.#count(e, k, packets, bytes);
    }
    Object.assign(e.deviations, deviations);
  }

  /** A new loader counts from zero: the next snapshot's counters are all new. */
  countersRestarted(): void {
    for (const e of this.#entries.values()) e.counters = zeroCounters();
  }

  /** The loader's `gone` line: the BPF map evicted the entry (its open tunnel ends as evicted, at `at`). */
  remove(g: Gateway, at?: number): void {
    const e = this.#entries.get(key(g));
    if (!e) return;
    this.#endEvicted(e, at ?? e.lastSeen);
    this.#entries.delete(key(g));
    this.evicted++;
  }

  countMalformed(reason: string): void {
    this.malformed.set(reason, (this.malformed.get(reason) ?? 0) + 1);
  }

  isActive(e: TunnelEntry, now: number): boolean {
    return !e.tornDown && e.activeUntil > now;
  }

  /** Tunnels per gateway address and port, and per address alone (the kernel's key: gateways behind one NAT share one). */
  active(now: number): { tunnels: number; addresses: number } {
    let tunnels = 0;
    const addresses = new Set<string>();
    for (const e of this.#entries.values()) {
      if (!this.isActive(e, now)) continue;
      tunnels++;
      addresses.add(e.address);
    }
    return { tunnels, addresses: addresses.size };
  }

  entries(): TunnelEntry[] {
    return [...this.#entries.values()];
  }

  get(g: Gateway): TunnelEntry | undefined {
    return this.#entries.get(key(g));
  }

  /** Sum of every entry's counters. */
  totals(): Counters {
    const t = zeroCounters();
    for (const e of this.#entries.values()) {
      for (const k of KINDS) {
        t[k].packets += e.counters[k].packets;
        t[k].bytes += e.counters[k].bytes;
      }
    }
    return t;
  }

  /** Forgets every entry (their open tunnels are not ended: call endAll first to account them). */
  clear(): void {
    this.#entries.clear();
    this.#pending.clear();
  }
}
