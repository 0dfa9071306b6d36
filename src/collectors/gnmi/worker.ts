/**
 * The worker thread the gNMI sessions run in (gnmi.worker, the default): gRPC's own reading and
 * parsing of HTTP/2 frames, protobuf decoding and the mapping all happen here, so a 500,000-tunnel
 * sync never holds up the main event loop, where DNS answers. Signals go to the main thread as
 * they happen; statuses, counters and bad input every FLUSH_MS (bad input coalesced per kind).
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { CollectorSignal } from '../context.ts';
import { Counter, type Labels } from '../../telemetry/metrics.ts';
import { quietIpServerNameWarning } from './credentials.ts';
import { SessionPool } from './pool.ts';
import type { GnmiSessionStatus } from './session.ts';
import type { GnmiSettings } from './settings.ts';

export const FLUSH_MS = 200;

export type ToWorker = { type: 'targets'; targets: [string, string][] } | { type: 'stop' };

export type FromWorker =
  | { type: 'signal'; signal: CollectorSignal }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; fields: object; msg: string }
  | { type: 'report'; statuses: GnmiSessionStatus[]; counters: [string, string, Labels, number][]; bad: [string, string, string | undefined, number][] }
  | { type: 'stopped' };

/**
 * A full stream (500,000 tunnels per MX, rounds back to back) keeps this thread busy; where it shares
 * a core with the main thread, equal shares halved DNS's qps in bench/gnmi. A higher nice value for
 * this thread only (Linux keeps nice per thread; setPriority(0) is the calling thread) gives DNS the
 * larger share, and this thread still gets every cycle DNS leaves. Lowering needs no privilege;
 * where it fails (other systems), the thread runs at normal priority.
 */
function lowerPriority(nice: number): void {
  if (nice === 0) return;
  try {
    setPriority(0, nice);
  } catch {
    // normal priority, as without the setting
  }
}

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('worker.ts runs as a worker thread');
  quietIpServerNameWarning();
  const settings = (workerData as { settings: GnmiSettings }).settings;
  lowerPriority(settings.workerNice);
  const post = (m: FromWorker): void => port.postMessage(m);
  const counters = new Map<string, { name: string; help: string; counter: Counter }>();
  const bad = new Map<string, { detail: string; peer: string | undefined; count: number }>();

  const pool = new SessionPool({
    settings,
    signal: (signal) => post({ type: 'signal', signal }),
    log: {
      info: (fields, msg) => post({ type: 'log', level: 'info', fields, msg }),
      warn: (fields, msg) => post({ type: 'log', level: 'warn', fields, msg }),
      error: (fields, msg) => post({ type: 'log', level: 'error', fields, msg }),
    },
    badInput: {
      report(_component, kind, detail, peer) {
        const seen = bad.get(kind);
        if (seen) seen.count++;
        else bad.set(kind, { detail, peer, count: 1 });
      },
    },
    metrics: {
      counter(name, help, labels) {
        const key = `${name}${JSON.stringify(labels)}`;
        let c = counters.get(key);
        if (!c) {
          c = { name, help, counter: new Counter(labels) };
          counters.set(key, c);
        }
        return c.counter;
      },
    },
    clock: { now: Date.now },
  });

  const flush = (): void => {
    post({
      type: 'report',
      statuses: pool.statuses(),
      counters: [...counters.values()].map((c) => [c.name, c.help, c.counter.labels, c.counter.value]),
      bad: [...bad].map(([kind, b]) => [kind, b.detail, b.peer, b.count]),
    });
    bad.clear();
  };
  const timer = setInterval(flush, FLUSH_MS);

  port.on('message', (m: ToWorker) => {
    if (m.type === 'targets') pool.follow(new Map(m.targets));
    else if (m.type === 'stop') {
      clearInterval(timer);
      void pool.stop().then(() => {
        flush();
        post({ type: 'stopped' });
        port.close();
      });
    }
  });
}

main();
