import cron, { type ScheduledTask } from 'node-cron';
import type { BadInputReporter } from '../telemetry/bad-input.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Counter, Metrics } from '../telemetry/metrics.ts';
import { InventoryError } from './inventory-error.ts';
import { loadState, saveState } from './state-file.ts';
import { TrafficOpsClient } from './traffic-ops-client.ts';
import { relaysFromServers } from './traffic-ops-servers.ts';

export interface TrafficOpsOptions {
  url: string; // e.g. https://trafficops.example.net
  username: string;
  password: string;
  cachegroup: string; // our own cachegroup's name
  profile: string; // default 'AMT_RELAY_MX_PROFILE'
  schedule: string; // node-cron expression (v4: optional seconds field), e.g. '*/30 * * * * *'
  timeoutMs: number; // per request
  stateFile: string; // JSON file holding the last good inventory
  tlsSkipVerify: boolean;
}

export interface DiscoveredRelay {
  hostName: string;
  ipv4?: string;
  ipv6?: string;
  status: string;
  cachegroup: string;
  profile: string;
}

export interface InventoryStatus {
  source: 'traffic-ops';
  relays: DiscoveredRelay[];
  /** True from loading the state file until the first successful poll replaced that copy. */
  fromDisk: boolean;
  lastSuccessAt: number | null; // epoch ms
  lastAttemptAt: number | null;
  /** One line, e.g. "GET /api/4.0/servers: HTTP 500", "login: 401 Unauthorized: ...". Kept after a later success (compare the times). */
  lastError: string | null;
  lastErrorAt: number | null;
  consecutiveFailures: number;
}

export interface TrafficOpsDeps {
  log: Logger;
  metrics: Metrics;
  badInput: BadInputReporter;
  now?: () => number;
}

const SOURCE = 'traffic-ops';

/**
 * The MX relays of our cachegroup, from Traffic Ops auto-discovery: the last good list from the
 * state file at start, then one poll, then a poll on the cron schedule (a tick is skipped while a
 * poll is still running). A failed poll keeps the last good list, records the error and counts it;
 * nothing here throws because Traffic Ops is down or wrong. See README.md in this folder.
 */
export class TrafficOpsInventory {
  readonly #opts: TrafficOpsOptions;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  readonly #badInput: BadInputReporter;
  readonly #now: () => number;
  readonly #client: TrafficOpsClient;
  readonly #polls: Record<'success' | 'failure' | 'skipped', Counter>;

  #relays: DiscoveredRelay[] = [];
  #key = '[]';
  #savedKey: string | null = null;
  #fromDisk = false;
  #lastSuccessAt: number | null = null;
  #lastAttemptAt: number | null = null;
  #lastError: string | null = null;
  #lastErrorAt: number | null = null;
  #consecutiveFailures = 0;
  #succeededOnce = false;

  #onChange: ((relays: DiscoveredRelay[]) => void) | null = null;
  #running: Promise<void> | null = null;
  #task: ScheduledTask | null = null;
  #started = false;
  #stopped = false;

  constructor(options: TrafficOpsOptions, deps: TrafficOpsDeps) {
    this.#opts = { ...options };
    this.#log = deps.log;
    this.#metrics = deps.metrics;
    this.#badInput = deps.badInput;
    this.#now = deps.now ?? Date.now;
    this.#client = new TrafficOpsClient(options);
    const polls = (result: string) =>
      deps.metrics.counter('driad_inventory_polls_total', 'Relay inventory polls, by source and result (skipped: a tick came while a poll was still running)', {
        source: SOURCE,
        result,
      });
    this.#polls = { success: polls('success'), failure: polls('failure'), skipped: polls('skipped') };
    const m = deps.metrics;
    m.gauge('driad_inventory_relays', 'Relays in the current inventory, by source', () => [[{ source: SOURCE }, this.#relays.length]]);
    m.gauge('driad_inventory_last_success_timestamp_seconds', 'Time of the last successful inventory poll (Unix seconds), by source', () =>
      this.#lastSuccessAt === null ? [] : [[{ source: SOURCE }, this.#lastSuccessAt / 1000]],
    );
    m.gauge('driad_inventory_consecutive_failures', 'Failed inventory polls since the last success, by source', () => [[{ source: SOURCE }, this.#consecutiveFailures]]);
    m.gauge('driad_inventory_from_disk', '1 while the inventory is the copy loaded from the state file, by source', () => [[{ source: SOURCE }, this.#fromDisk ? 1 : 0]]);
  }

  /**
   * Loads the last good inventory from the state file (if present and valid), then polls once, then
   * on the schedule. Never throws for Traffic Ops being down. onChange is called whenever the relay
   * list changes, including after loading from disk.
   */
  async start(onChange: (relays: DiscoveredRelay[]) => void): Promise<void> {
    if (this.#started) throw new Error('TrafficOpsInventory.start() called twice');
    this.#started = true;
    this.#onChange = onChange;
    await this.#loadState();
    if (this.#stopped) return;
    await this.pollOnce();
    if (this.#stopped) return;
    this.#task = cron.schedule(this.#opts.schedule, () => this.#tick(), { name: 'traffic-ops-inventory', logger: cronLogger(this.#log) });
  }

  /** One poll: log in if needed, list the servers. On failure the last good inventory stays. Joins a poll already running. */
  pollOnce(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    if (!this.#running) this.#running = this.#poll().finally(() => (this.#running = null));
    return this.#running;
  }

  status(): InventoryStatus {
    return {
      source: SOURCE,
      relays: this.#relays.map((r) => ({ ...r })),
      fromDisk: this.#fromDisk,
      lastSuccessAt: this.#lastSuccessAt,
      lastAttemptAt: this.#lastAttemptAt,
      lastError: this.#lastError,
      lastErrorAt: this.#lastErrorAt,
      consecutiveFailures: this.#consecutiveFailures,
    };
  }

  /** Stops the schedule and aborts the request in flight; resolves once nothing of ours runs any more. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const task = this.#task;
    this.#task = null;
    await task?.destroy();
    await this.#client.close();
    await this.#running?.catch(() => {});
  }

  #tick(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#polls.skipped.inc();
      this.#log.debug({ component: SOURCE }, 'traffic-ops: previous poll still running, tick skipped');
      return;
    }
    void this.pollOnce();
  }

  async #poll(): Promise<void> {
    const startedAt = this.#now();
    this.#lastAttemptAt = startedAt;
    let relays: DiscoveredRelay[];
    try {
      const body = await this.#client.getServers({ cachegroupName: this.#opts.cachegroup, profileName: this.#opts.profile });
      relays = relaysFromServers(body, this.#opts);
    } catch (err) {
      if (this.#stopped || (err instanceof InventoryError && err.kind === 'aborted')) return;
      this.#failed(err instanceof InventoryError ? err : new InventoryError('internal', `poll failed: ${(err as Error)?.message ?? String(err)}`));
      return;
    }
    if (this.#stopped) return;
    await this.#succeeded(relays, startedAt);
  }

  #failed(err: InventoryError): void {
    this.#lastError = err.message;
    this.#lastErrorAt = this.#now();
    this.#consecutiveFailures++;
    this.#polls.failure.inc();
    this.#metrics.counter('driad_inventory_errors_total', 'Failed relay inventory polls and state-file problems, by source and kind', { source: SOURCE, kind: err.kind }).inc();
    const kept = `keeping ${this.#relays.length} relay(s) from ${this.#fromDisk ? 'the state file' : this.#succeededOnce ? 'the last good poll' : 'nowhere (no inventory yet)'}`;
    this.#badInput.report(SOURCE, err.kind, `${err.message} (${kept}; ${this.#consecutiveFailures} failed poll(s) in a row)`);
  }

  async #succeeded(relays: DiscoveredRelay[], startedAt: number): Promise<void> {
    const failures = this.#consecutiveFailures;
    const firstSuccess = !this.#succeededOnce;
    this.#polls.success.inc();
    this.#consecutiveFailures = 0;
    this.#lastSuccessAt = startedAt;
    this.#succeededOnce = true;
    this.#fromDisk = false;
    if (failures > 0) this.#log.info({ component: SOURCE, failures }, `traffic-ops: polling works again after ${failures} failed poll(s)`);
    const key = JSON.stringify(relays);
    const changed = key !== this.#key;
    if (relays.length === 0 && (changed || firstSuccess)) {
      this.#log.warn(
        { component: SOURCE, cachegroup: this.#opts.cachegroup, profile: this.#opts.profile },
        `traffic-ops: no ONLINE or REPORTED server with profile ${this.#opts.profile} in cachegroup ${this.#opts.cachegroup}: no MX relay from Traffic Ops`,
      );
    }
    if (changed) this.#set(relays, key, 'Traffic Ops');
    if (key !== this.#savedKey) {
      try {
        await saveState(this.#opts.stateFile, this.#opts, relays, new Date(startedAt));
        this.#savedKey = key;
      } catch (err) {
        this.#metrics.counter('driad_inventory_errors_total', 'Failed relay inventory polls and state-file problems, by source and kind', { source: SOURCE, kind: 'state-file' }).inc();
        this.#badInput.report(SOURCE, 'state-file', `cannot write ${this.#opts.stateFile}: ${(err as Error).message}`);
      }
    }
  }

  async #loadState(): Promise<void> {
    const file = this.#opts.stateFile;
    const state = await loadState(file, this.#opts);
    if (state.kind === 'missing') {
      this.#log.info({ component: SOURCE, stateFile: file }, `traffic-ops: no state file ${file} yet: the inventory starts empty until the first successful poll`);
      return;
    }
    if (state.kind === 'invalid') {
      this.#metrics.counter('driad_inventory_errors_total', 'Failed relay inventory polls and state-file problems, by source and kind', { source: SOURCE, kind: 'state-file' }).inc();
      this.#log.warn({ component: SOURCE, stateFile: file, reason: state.reason }, `traffic-ops: ignoring the state file ${file}: ${state.reason}`);
      return;
    }
    const key = JSON.stringify(state.relays);
    this.#savedKey = key;
    this.#fromDisk = true;
    this.#log.info(
      { component: SOURCE, stateFile: file, savedAt: state.savedAt, relays: state.relays.map((r) => r.hostName) },
      `traffic-ops: loaded ${state.relays.length} MX relay(s) from ${file} (saved ${state.savedAt})`,
    );
    if (key !== this.#key) this.#set(state.relays, key, 'the state file');
  }

  #set(relays: DiscoveredRelay[], key: string, from: string): void {
    this.#relays = relays;
    this.#key = key;
    this.#log.info({ component: SOURCE, relays: relays.map((r) => r.hostName) }, `traffic-ops: MX relay list changed (from ${from}): ${relays.map((r) => r.hostName).join(', ') || 'none'}`);
    try {
      this.#onChange?.(relays.map((r) => ({ ...r })));
    } catch (err) {
      this.#log.error({ component: SOURCE, err }, 'traffic-ops: the inventory change handler threw');
    }
  }
}

/** node-cron's own messages (missed executions, ...) into our log instead of the console. */
function cronLogger(log: Logger) {
  return {
    info: (m: string) => log.debug({ component: SOURCE }, `node-cron: ${m}`),
    warn: (m: string) => log.warn({ component: SOURCE }, `node-cron: ${m}`),
    error: (m: string | Error, err?: Error) => log.error({ component: SOURCE, err: err ?? (m instanceof Error ? m : undefined) }, `node-cron: ${String(m)}`),
    debug: (m: string | Error) => log.debug({ component: SOURCE }, `node-cron: ${String(m)}`),
  };
}
