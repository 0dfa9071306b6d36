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

  constructor(o: TableOptions = {}) {
    this.idleMs = o.idleMs ?? DEFAULT_IDLE_MS;
    this.maxEntries = o.maxEntries ?? 100_000;
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

  /** A message from a capture: counted, and its lifecycle applied. */
  observe(o: Observation): void {
    const e = this.#entry(o.gateway, o.at);
    e.counters[o.kind].packets++;
    e.counters[o.kind].bytes += o.bytes;
    if (o.kind === 'query' && o.kernelShaped) e.deviations.kernelShapedQueries++;
    this.#lifecycle(e, o);
  }

  /** A lifecycle event from the loader (its counters come with the snapshots). */
  event(o: Observation): void {
    this.#lifecycle(this.#entry(o.gateway, o.at), o);
  }

  #lifecycle(e: TunnelEntry, o: Observation): void {
    switch (o.kind) {
      case 'request':
        e.requestNonce = o.nonce ?? null;
        e.tornDown = false;
        e.activeUntil = Math.max(e.activeUntil, o.at + this.idleMs);
        if (o.kernelShaped) e.deviations.kernelShapedRequests++;
        break;
      case 'update':
        if (o.nonce !== undefined && e.requestNonce !== null && o.nonce !== e.requestNonce) e.deviations.nonceMismatches++;
        e.tornDown = false;
        e.activeUntil = Math.max(e.activeUntil, o.at + UPDATE_REFRESH_FACTOR * this.idleMs);
        for (const c of o.changes ?? []) {
          if (c.change === 'join') {
            e.groups.add(c.group);
            e.joins++;
          } else {
            e.groups.delete(c.group);
            e.leaves++;
          }
        }
        break;
      case 'teardown': {
        const target = o.tunnel ? this.#entries.get(key(o.tunnel)) : e;
        const t = target ?? e;
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
    for (const k of KINDS) if (counters[k]) e.counters[k] = { ...counters[k] };
    Object.assign(e.deviations, deviations);
  }

  /** The loader's `gone` line: the BPF map evicted the entry. */
  remove(g: Gateway): void {
    if (this.#entries.delete(key(g))) this.evicted++;
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

  clear(): void {
    this.#entries.clear();
  }
}
