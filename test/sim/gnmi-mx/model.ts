/**
 * The data a simulated Juniper MX serves, in Junos's shapes (see README.md for the paths), made
 * on demand: no object per tunnel is kept, so 500,000 tunnels cost a few numbers. Tunnel i (a
 * global, ever-growing index) has its gateway, port and interface derived from i; the active
 * tunnels are the indices [first, first + count). Counters are functions of time: each one keeps
 * an accumulated value and a rate, settled whenever the rate changes, so they only ever grow,
 * until reboot() resets them (or a counter passes 2^64 and wraps, with `counterBase`).
 */
import { EventEmitter } from 'node:events';
import type { GnmiPath, GnmiPathElem } from '../../../src/collectors/gnmi/wire/path.ts';

export type YangType = 'uint64' | 'uint32' | 'string';
export type LeafKind = 'counter' | 'state';

export interface Leaf {
  rel: string[]; // element names below the entry
  type: YangType;
  kind: LeafKind;
  value: bigint | number | string;
}

/** One container instance: an interface, a tunnel, the AMT summary, the AMT statistics. */
export interface Entry {
  section: Section;
  elem: GnmiPathElem[]; // the entry's full path
  leaves: Leaf[];
}

export interface Section {
  name: 'interfaces' | 'amt-summary' | 'amt-statistics' | 'amt-tunnels';
  module: string; // YANG module, for JSON_IETF member names
  component: string; // producing daemon, for Juniper's header
  /** The entries' path with `*` for keys; the elements before the first keyed one are shared. */
  template: GnmiPathElem[];
  entries(now: number): Iterable<Entry>;
}

/** What changed, for ON_CHANGE subscriptions: entries with the changed leaves, and deleted entries. */
export interface Change {
  updated: () => Iterable<Entry>;
  deleted: () => Iterable<GnmiPath>;
}

export interface MxModelOptions {
  hostname?: string; // default mx1
  relayAddress?: string; // the AMT relay (anycast) address; default 69.25.95.1
  tunnels?: number; // active tunnels at start; default 100
  tunnelLimit?: number; // default 500000
  relayInterfaces?: string[]; // relay-facing; default xe-0/0/0, xe-0/0/1
  tunnelInterfaces?: string[]; // AMT tunnel PICs; default ud-0/0/0
  tunnelBps?: number; // traffic per tunnel, bits/s; default 4 Mbit/s
  counterBase?: bigint; // interface counters start here (near 2^64 to see them wrap)
  now?: () => number; // clock, ms
}

const U64 = (1n << 64n) - 1n;

/** A counter: acc + rate × elapsed, growing monotonically, wrapping at 2^64 (interfaces only). */
class Counter {
  acc = 0; // units counted up to `since`
  rate = 0; // units per second
  since: number;
  base: bigint;
  constructor(now: number, base = 0n) {
    this.since = now;
    this.base = base;
  }
  value(now: number): bigint {
    const v = this.base + BigInt(Math.floor(this.acc + (this.rate * Math.max(0, now - this.since)) / 1000));
    return v & U64;
  }
  settle(now: number, rate: number): void {
    this.acc += (this.rate * Math.max(0, now - this.since)) / 1000;
    this.since = now;
    this.rate = rate;
  }
  add(units: number): void {
    this.acc += units;
  }
  reset(now: number): void {
    this.acc = 0;
    this.base = 0n;
    this.since = now;
  }
}

export const INTERFACE_COUNTERS = [
  'in-octets',
  'in-pkts',
  'in-unicast-pkts',
  'in-multicast-pkts',
  'in-discards',
  'in-errors',
  'out-octets',
  'out-pkts',
  'out-unicast-pkts',
  'out-multicast-pkts',
  'out-discards',
  'out-errors',
] as const;

/** `show amt statistics` (Juniper's documented fields) under /junos/amt/statistics. */
export const AMT_STATISTICS = [
  'relay-discovery-received',
  'membership-request-received',
  'membership-update-received',
  'relay-advertisement-sent',
  'membership-query-sent',
  'incomplete-packet',
  'invalid-mac',
  'unexpected-type',
  'invalid-relay-discovery-address',
] as const;

interface Interface {
  name: string;
  role: 'relay' | 'tunnel';
  speedMbps: number;
  operStatus: 'UP' | 'DOWN';
  counters: Map<string, Counter>;
}

const PACKET = 1400; // bytes per data packet, for the packet counters
const MULTICAST_INGEST_BPS = 200e6; // multicast from the source, per relay-facing interface
const QUERY_INTERVAL_S = 125; // AMT/IGMP query interval: one update and one query per tunnel per interval

export class MxModel extends EventEmitter<{ change: [Change] }> {
  readonly hostname: string;
  readonly relayAddress: string;
  readonly tunnelLimit: number;
  readonly sections: Section[];
  readonly interfaces: Interface[];
  private readonly tunnelPics: string[];
  private readonly now: () => number;
  private readonly tunnelBps: number;
  private readonly stats = new Map<string, Counter>();
  private first = 0; // index of the oldest active tunnel
  private count: number;
  bootedAt: number;

  constructor(options: MxModelOptions = {}) {
    super();
    this.now = options.now ?? Date.now;
    const now = this.now();
    this.bootedAt = now;
    this.hostname = options.hostname ?? 'mx1';
    this.relayAddress = options.relayAddress ?? '69.25.95.1';
    this.tunnelLimit = options.tunnelLimit ?? 500_000;
    this.tunnelBps = options.tunnelBps ?? 4e6;
    this.count = Math.min(options.tunnels ?? 100, this.tunnelLimit);
    const counters = () => new Map(INTERFACE_COUNTERS.map((c) => [c, new Counter(now, options.counterBase ?? 0n)]));
    this.interfaces = [
      ...(options.relayInterfaces ?? ['xe-0/0/0', 'xe-0/0/1']).map((name): Interface => ({ name, role: 'relay', speedMbps: 10000, operStatus: 'UP', counters: counters() })),
      ...(options.tunnelInterfaces ?? ['ud-0/0/0']).map((name): Interface => ({ name, role: 'tunnel', speedMbps: 10000, operStatus: 'UP', counters: counters() })),
    ];
    this.tunnelPics = this.interfaces.filter((f) => f.role === 'tunnel').map((f) => f.name);
    if (this.tunnelPics.length === 0) this.tunnelPics.push('ud-0/0/0');
    for (const s of AMT_STATISTICS) this.stats.set(s, new Counter(now));
    this.stats.get('relay-discovery-received')!.add(this.count);
    this.stats.get('relay-advertisement-sent')!.add(this.count);
    this.stats.get('membership-request-received')!.add(this.count);
    this.retime(now);
    this.sections = [this.interfaceSection(), this.summarySection(), this.statisticsSection(), this.tunnelSection()];
  }

  get tunnelCount(): number {
    return this.count;
  }

  /** The gateway address, UDP port and tunnel interface of tunnel i (10.0.0.0/8, by index). */
  tunnel(i: number): { gateway: string; port: number; interface: string; groups: number } {
    const a = i & 0xffffff;
    return {
      gateway: `10.${a >>> 16}.${(a >>> 8) & 255}.${a & 255}`,
      port: 1024 + ((i * 7919) % 64000),
      interface: `${this.tunnelPics[i % this.tunnelPics.length]}.${32768 + (i % 32768)}`,
      groups: 1 + (i % 3),
    };
  }

  /** The path of tunnel i's entry. */
  tunnelPath(i: number): GnmiPath {
    const t = this.tunnel(i);
    return { elem: [{ name: 'junos' }, { name: 'amt' }, { name: 'tunnels' }, { name: 'tunnel', key: { gateway: t.gateway, port: String(t.port) } }] };
  }

  /** Sets the rates from the current tunnel count and interface states. */
  private retime(now: number): void {
    const relay = this.interfaces.filter((f) => f.role === 'relay' && f.operStatus === 'UP');
    const ud = this.interfaces.filter((f) => f.role === 'tunnel' && f.operStatus === 'UP');
    const tunnelBytes = (this.count * this.tunnelBps) / 8;
    for (const f of this.interfaces) {
      const up = f.operStatus === 'UP';
      const out = !up ? 0 : f.role === 'relay' ? (relay.length ? tunnelBytes / relay.length : 0) : ud.length ? tunnelBytes / ud.length : 0;
      const inBytes = !up ? 0 : f.role === 'relay' ? MULTICAST_INGEST_BPS / 8 : out;
      const rates: Record<string, number> = {
        'in-octets': inBytes,
        'in-pkts': inBytes / PACKET,
        'in-unicast-pkts': f.role === 'relay' ? 0 : inBytes / PACKET,
        'in-multicast-pkts': f.role === 'relay' ? inBytes / PACKET : 0,
        'in-discards': up ? 0.01 : 0,
        'in-errors': 0,
        'out-octets': out,
        'out-pkts': out / PACKET,
        'out-unicast-pkts': out / PACKET,
        'out-multicast-pkts': 0,
        'out-discards': 0,
        'out-errors': 0,
      };
      for (const [name, c] of f.counters) c.settle(now, rates[name] ?? 0);
    }
    const perInterval = this.count / QUERY_INTERVAL_S;
    const statRates: Record<string, number> = { 'membership-update-received': perInterval, 'membership-query-sent': perInterval, 'invalid-mac': 0.02 };
    for (const [name, c] of this.stats) c.settle(now, statRates[name] ?? 0);
  }

  /** Sets the number of active tunnels: new ones arrive (discovery, request), the newest leave. */
  setTunnels(n: number): void {
    const now = this.now();
    const target = Math.max(0, Math.min(Math.floor(n), this.tunnelLimit));
    const before = this.count;
    if (target === before) return;
    if (target > before) this.countArrivals(target - before);
    this.count = target;
    this.retime(now);
    const first = this.first;
    const added = target > before ? [first + before, first + target] : undefined;
    const removed = target < before ? [first + target, first + before] : undefined;
    this.emitTunnels(added, removed);
  }

  /** k tunnels come and go: the k oldest leave, k new ones arrive (the count stays). */
  churn(k: number): void {
    const now = this.now();
    const n = Math.max(0, Math.min(Math.floor(k), this.count));
    if (n === 0) return;
    this.countArrivals(n);
    const removed: [number, number] = [this.first, this.first + n];
    this.first += n;
    const added: [number, number] = [this.first + this.count - n, this.first + this.count];
    this.retime(now);
    this.emitTunnels(added, removed);
  }

  private countArrivals(n: number): void {
    for (const s of ['relay-discovery-received', 'relay-advertisement-sent', 'membership-request-received']) this.stats.get(s)!.add(n);
  }

  private emitTunnels(added: number[] | undefined, removed: number[] | undefined): void {
    const summary = this.summaryEntry();
    const section = this.sections[3]!;
    this.emit('change', {
      updated: () => {
        const self = this;
        return (function* () {
          yield { ...summary, leaves: summary.leaves.filter((l) => l.rel[0] === 'active-tunnels') };
          if (added) for (let i = added[0]!; i < added[1]!; i++) yield self.tunnelEntry(section, i);
        })();
      },
      deleted: () => {
        const self = this;
        return (function* () {
          if (removed) for (let i = removed[0]!; i < removed[1]!; i++) yield self.tunnelPath(i);
        })();
      },
    });
  }

  /** Reboot: every counter restarts from zero (a counter reset the collector must detect). */
  reboot(): void {
    const now = this.now();
    this.bootedAt = now;
    for (const f of this.interfaces) for (const c of f.counters.values()) c.reset(now);
    for (const c of this.stats.values()) c.reset(now);
    this.retime(now);
  }

  setOperStatus(name: string, status: 'UP' | 'DOWN'): void {
    const f = this.interfaces.find((i) => i.name === name);
    if (!f) throw new Error(`no interface ${name}`);
    if (f.operStatus === status) return;
    this.retime(this.now()); // settle at the old rates first
    f.operStatus = status;
    this.retime(this.now());
    const entry = this.interfaceEntry(this.sections[0]!, f, this.now());
    this.emit('change', { updated: () => [{ ...entry, leaves: entry.leaves.filter((l) => l.rel[1] === 'oper-status') }], deleted: () => [] });
  }

  private interfaceEntry(section: Section, f: Interface, now: number): Entry {
    const leaves: Leaf[] = [
      { rel: ['state', 'oper-status'], type: 'string', kind: 'state', value: f.operStatus },
      { rel: ['state', 'admin-status'], type: 'string', kind: 'state', value: 'UP' },
      { rel: ['state', 'high-speed'], type: 'uint32', kind: 'state', value: f.speedMbps },
    ];
    for (const [name, c] of f.counters) leaves.push({ rel: ['state', 'counters', name], type: 'uint64', kind: 'counter', value: c.value(now) });
    return { section, elem: [{ name: 'interfaces' }, { name: 'interface', key: { name: f.name } }], leaves };
  }

  private interfaceSection(): Section {
    const self = this;
    const section: Section = {
      name: 'interfaces',
      module: 'openconfig-interfaces',
      component: 'mib2d',
      template: [{ name: 'interfaces' }, { name: 'interface', key: { name: '*' } }],
      *entries(now) {
        for (const f of self.interfaces) yield self.interfaceEntry(section, f, now);
      },
    };
    return section;
  }

  private summaryEntry(): Entry {
    return {
      section: this.sections?.[1] ?? this.summarySection(),
      elem: [{ name: 'junos' }, { name: 'amt' }, { name: 'summary' }],
      leaves: [
        { rel: ['active-tunnels'], type: 'uint32', kind: 'state', value: this.count },
        { rel: ['tunnel-limit'], type: 'uint32', kind: 'state', value: this.tunnelLimit },
      ],
    };
  }

  private summarySection(): Section {
    const self = this;
    return {
      name: 'amt-summary',
      module: 'xmlproxyd_amt-summary',
      component: 'xmlproxyd',
      template: [{ name: 'junos' }, { name: 'amt' }, { name: 'summary' }],
      *entries() {
        yield self.summaryEntry();
      },
    };
  }

  private statisticsSection(): Section {
    const self = this;
    const section: Section = {
      name: 'amt-statistics',
      module: 'xmlproxyd_amt-statistics',
      component: 'xmlproxyd',
      template: [{ name: 'junos' }, { name: 'amt' }, { name: 'statistics' }],
      *entries(now) {
        yield {
          section,
          elem: section.template,
          leaves: [...self.stats].map(([name, c]): Leaf => ({ rel: [name], type: 'uint64', kind: 'counter', value: c.value(now) })),
        };
      },
    };
    return section;
  }

  private tunnelEntry(section: Section, i: number): Entry {
    const t = this.tunnel(i);
    return {
      section,
      elem: [{ name: 'junos' }, { name: 'amt' }, { name: 'tunnels' }, { name: 'tunnel', key: { gateway: t.gateway, port: String(t.port) } }],
      leaves: [
        { rel: ['local-address'], type: 'string', kind: 'state', value: this.relayAddress },
        { rel: ['interface'], type: 'string', kind: 'state', value: t.interface },
        { rel: ['state'], type: 'string', kind: 'state', value: 'Active' },
        { rel: ['group-count'], type: 'uint32', kind: 'state', value: t.groups },
      ],
    };
  }

  private tunnelSection(): Section {
    const self = this;
    const section: Section = {
      name: 'amt-tunnels',
      module: 'xmlproxyd_amt-tunnel',
      component: 'xmlproxyd',
      template: [{ name: 'junos' }, { name: 'amt' }, { name: 'tunnels' }, { name: 'tunnel', key: { gateway: '*', port: '*' } }],
      *entries() {
        const end = self.first + self.count;
        for (let i = self.first; i < end; i++) yield self.tunnelEntry(section, i);
      },
    };
    return section;
  }
}
