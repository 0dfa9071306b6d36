import type { Logger } from './log.ts';
import type { Counter, Metrics } from './metrics.ts';

/**
 * Counts every piece of bad input and logs at most one line per kind per interval,
 * with how many were suppressed since the last line, so a flood cannot flood the log.
 */
export class BadInputReporter {
  readonly #log: Logger;
  readonly #metrics: Metrics;
  readonly #intervalMs: number;
  readonly #kinds = new Map<string, { counter: Counter; lastLogAt: number; suppressed: number }>();

  constructor(log: Logger, metrics: Metrics, intervalMs = 10_000) {
    this.#log = log;
    this.#metrics = metrics;
    this.#intervalMs = intervalMs;
  }

  report(component: string, kind: string, detail: string, peer?: string): void {
    const key = `${component}\0${kind}`;
    let entry = this.#kinds.get(key);
    if (!entry) {
      const counter = this.#metrics.counter('driad_bad_input_total', 'Malformed or refused input, by component and kind', {
        component,
        kind,
      });
      entry = { counter, lastLogAt: -Infinity, suppressed: 0 };
      this.#kinds.set(key, entry);
    }
    entry.counter.inc();
    const now = performance.now();
    if (now - entry.lastLogAt < this.#intervalMs) {
      entry.suppressed++;
      return;
    }
    this.#log.warn({ component, kind, peer, suppressed: entry.suppressed }, `${component}: ${kind}: ${detail}`);
    entry.lastLogAt = now;
    entry.suppressed = 0;
  }
}
