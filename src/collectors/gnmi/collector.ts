/**
 * The gNMI collector: one session per Juniper relay that has a gNMI target, following the
 * inventory (config reloads, Traffic Ops discovery). The sessions run in a worker thread
 * (worker.ts) unless gnmi.worker is false. See README.md.
 */
import { Worker } from 'node:worker_threads';
import type { RelayConfig } from '../../config/types.ts';
import type { Counter } from '../../telemetry/metrics.ts';
import type { Collector, CollectorContext, CollectorStatus } from '../context.ts';
import { quietIpServerNameWarning } from './credentials.ts';
import { SessionPool } from './pool.ts';
import type { GnmiSessionStatus } from './session.ts';
import { usesTls, type GnmiSettings } from './settings.ts';
import type { FromWorker, ToWorker } from './worker.ts';

const WORKER_URL = new URL('./worker.ts', import.meta.url);
const STOP_WAIT_MS = 5000;

interface Pool {
  follow(want: ReadonlyMap<string, string>): void;
  statuses(): GnmiSessionStatus[];
  stop(): Promise<void>;
}

function targets(relays: readonly RelayConfig[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of relays) if (r.kind === 'juniper' && r.gnmiTarget) out.set(r.name, r.gnmiTarget);
  return out;
}

export function startGnmi(ctx: CollectorContext<GnmiSettings>): Collector {
  const s = ctx.config;
  if (s.tlsSkipVerify && usesTls(s)) {
    ctx.log.warn('amtRelay.gnmiTLSSkipVerify is true: the MX certificates are not verified (anyone on the path can pose as the MX)');
  }
  quietIpServerNameWarning();
  const pool: Pool = s.worker ? new WorkerPool(ctx) : new SessionPool({ ...ctx, settings: s });
  pool.follow(targets(ctx.relays.relays()));
  const unsubscribe = ctx.relays.onChange((relays) => pool.follow(targets(relays)));
  registerGauges(ctx, pool);

  return {
    status(): CollectorStatus {
      const sessions = pool.statuses();
      const polling = sessions.filter((x) => x.mode === 'poll');
      const status: CollectorStatus = { collector: 'gnmi', mode: polling.length > 0 && polling.length === sessions.length ? 'poll' : 'stream', sessions };
      if (polling.length > 0) status.modeReason = polling.map((x) => `${x.relay}: ${x.modeReason}`).join('; ');
      return status;
    },
    async stop() {
      unsubscribe();
      await pool.stop();
    },
  };
}

/** The sessions in a worker thread; statuses are the latest the worker reported (at most FLUSH_MS old). */
class WorkerPool implements Pool {
  readonly #ctx: CollectorContext<GnmiSettings>;
  #worker: Worker | undefined;
  #want: ReadonlyMap<string, string> = new Map();
  #statuses: GnmiSessionStatus[] = [];
  #stopping = false;
  #respawns = 0;
  #respawnTimer: NodeJS.Timeout | undefined;
  /** Worker counters as main-thread series; `base` carries a dead worker's totals over. */
  readonly #counters = new Map<string, { counter: Counter; base: number; last: number }>();

  constructor(ctx: CollectorContext<GnmiSettings>) {
    this.#ctx = ctx;
    this.#spawn();
  }

  follow(want: ReadonlyMap<string, string>): void {
    this.#want = want;
    this.#send({ type: 'targets', targets: [...want] });
  }

  statuses(): GnmiSessionStatus[] {
    const wanted = this.#want;
    return this.#statuses.filter((x) => wanted.get(x.relay ?? '') === x.target);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#respawnTimer);
    const worker = this.#worker;
    if (!worker) return;
    const stopped = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STOP_WAIT_MS);
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'stopped') {
          clearTimeout(timer);
          resolve();
        }
      });
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.#send({ type: 'stop' });
    await stopped;
    await worker.terminate();
    this.#worker = undefined;
  }

  #send(m: ToWorker): void {
    this.#worker?.postMessage(m);
  }

  #spawn(): void {
    const ctx = this.#ctx;
    const worker = new Worker(WORKER_URL, { workerData: { settings: ctx.config }, name: 'driad-gnmi' });
    worker.unref();
    this.#worker = worker;
    worker.on('message', (m: FromWorker) => this.#onMessage(m));
    worker.on('error', (err) => ctx.log.error(`gNMI worker failed: ${err.message}`));
    worker.on('exit', (code) => {
      if (this.#stopping || this.#worker !== worker) return;
      this.#worker = undefined;
      this.#statuses = [];
      for (const c of this.#counters.values()) c.base += c.last;
      // Its sessions are gone: their relays' signals expire (unknown) until a new worker reconnects.
      const delay = Math.min(30_000, 1000 * 2 ** Math.min(this.#respawns++, 5));
      ctx.log.error(`gNMI worker exited (code ${code}); starting a new one in ${delay} ms`);
      this.#respawnTimer = setTimeout(() => {
        if (this.#stopping) return;
        this.#spawn();
        this.follow(this.#want);
      }, delay);
      this.#respawnTimer.unref();
    });
  }

  #onMessage(m: FromWorker): void {
    const ctx = this.#ctx;
    switch (m.type) {
      case 'signal':
        ctx.signal(m.signal);
        return;
      case 'log':
        ctx.log[m.level](m.fields, m.msg);
        return;
      case 'report':
        this.#statuses = m.statuses;
        for (const [name, help, labels, value] of m.counters) {
          const key = `${name}${JSON.stringify(labels)}`;
          let c = this.#counters.get(key);
          if (!c) {
            c = { counter: ctx.metrics.counter(name, help, labels), base: 0, last: 0 };
            this.#counters.set(key, c);
          }
          c.last = value;
          c.counter.value = c.base + value;
        }
        for (const [kind, detail, peer, count] of m.bad) {
          ctx.badInput.report('gnmi', kind, detail, peer);
          if (count > 1) ctx.metrics.counter('driad_bad_input_total', 'Malformed or refused input, by component and kind', { component: 'gnmi', kind }).inc(count - 1);
        }
        return;
      case 'stopped':
        return;
    }
  }
}

function registerGauges(ctx: CollectorContext<GnmiSettings>, pool: Pool): void {
  const each = (f: (st: GnmiSessionStatus) => number) => (): Array<[Record<string, string>, number]> =>
    pool.statuses().map((st) => [{ relay: st.relay ?? '' }, f(st)]);
  ctx.metrics.gauge('driad_gnmi_connected', 'gNMI session connected (1) or not (0), per relay', each((st) => (st.connected ? 1 : 0)));
  ctx.metrics.gauge('driad_gnmi_synced', 'gNMI session past its first sync_response (1) or not (0)', each((st) => (st.synced ? 1 : 0)));
  ctx.metrics.gauge('driad_gnmi_polling', 'gNMI session polling (1: the target refused STREAM, or gnmi.mode is poll) or streaming (0)', each((st) => (st.mode === 'poll' ? 1 : 0)));
  ctx.metrics.gauge('driad_gnmi_queue_depth', 'Subscribe responses waiting to be decoded', each((st) => st.queueDepth));
}
