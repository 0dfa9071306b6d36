import type { AccountingRecord } from '../accounting/records.ts';
import type { Config } from '../config/types.ts';
import type { Signal } from '../health/signals.ts';
import type { RelaySource } from '../inventory/inventory.ts';
import type { BadInputReporter } from '../telemetry/bad-input.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';

/** A signal as a collector gives it: the source is the collector's name; a periodic one states its interval. */
export type CollectorSignal = Omit<Signal, 'source' | 'maxAgeMs' | 'intervalMs'> & ({ maxAgeMs: number } | { intervalMs: number });

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/** All a collector gets from the server (see README.md): it imports nothing from dns/, driad/ or api/. */
export interface CollectorContext<C> {
  /** 'gnmi', 'ipfix', 'ebpf', 'prober': also the `source` of its signals and the `component` of its bad input. */
  name: string;
  /** Its own config section, validated. */
  config: C;
  /** The relays to collect from, and their changes (config reloads, Traffic Ops discovery). */
  relays: RelaySource;
  /** Into health: the one way a collector changes answers. */
  signal(signal: CollectorSignal): void;
  /**
   * Into the accounting spool: resolves once the record is on disk (per accounting.fsync), the only
   * point at which it counts as received; rejects with SpoolRefused (disabled, full, disk full).
   */
  account(record: AccountingRecord): Promise<void>;
  /** A logger whose lines carry `collector: name`. */
  log: Logger;
  metrics: Metrics;
  /** Counts bad input and logs at most one line per kind per interval. */
  badInput: BadInputReporter;
  clock: Clock;
}

/** One connection or capture a collector keeps, usually one per relay. */
export interface SessionStatus {
  /** The relay it feeds, null when it feeds none (yet). */
  relay: string | null;
  /** What it talks to or watches: HOST:PORT, an interface, a file. */
  target: string;
  /** How this session collects now, e.g. 'stream', 'poll'. */
  mode: string;
  connected: boolean;
  /** Epoch ms of the last change of `connected`. */
  since: number | null;
  lastMessageAt: number | null;
  /** For protocols with an initial sync (gNMI sync_response): whether it came. */
  synced?: boolean;
  errors: number;
  reconnects: number;
  /** One line, secrets left out. */
  lastError: string | null;
  lastErrorAt: number | null;
  /** Measuring collectors (the prober): smoothed RTT in ms, and the share of recent probes lost (0-1). */
  rttMs?: number | null;
  lossRate?: number | null;
}

export interface CollectorStatus {
  collector: string;
  /** How it collects, e.g. 'stream' or 'poll' (gNMI), 'xdp', 'kernel', 'capture' or 'off' (eBPF). */
  mode: string;
  /** Why it runs in that mode when that is not the first choice. */
  modeReason?: string;
  sessions: SessionStatus[];
}

/** What a started collector hands back. */
export interface Collector {
  status(): CollectorStatus;
  /** Closes every session and timer; resolves when nothing of it runs. */
  stop(): Promise<void>;
}

/** How the server knows a collector: its config section (null: not configured) and how to start it. */
export interface CollectorDefinition<C> {
  name: string;
  configOf(config: Config): C | null;
  start(ctx: CollectorContext<C>): Promise<Collector>;
}
