/**
 * Event-loop delay of the main thread (where DNS is answered), as gauges over the last complete
 * window: p50, p99 and max of how late the loop ran a 5 ms timer (perf_hooks' monitorEventLoopDelay).
 * A window, not a histogram since start: a delay that hurt DNS a minute ago should not hide today's.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Metrics } from './metrics.ts';

export const EVENT_LOOP_WINDOW_MS = 5000;
const RESOLUTION_MS = 5;
/** The histogram records the time between timer runs, the 5 ms included: the delay is what lies beyond. */
const late = (ns: number) => Math.max(0, ns - RESOLUTION_MS * 1e6) / 1e9;

export interface EventLoopWatch {
  stop(): void;
}

export function watchEventLoop(metrics: Metrics, windowMs = EVENT_LOOP_WINDOW_MS): EventLoopWatch {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let last = { p50: 0, p99: 0, max: 0 }; // nanoseconds
  const roll = () => {
    // No sample yet (count 0): the histogram reports min/max sentinels; keep zeros.
    last = histogram.count === 0 ? { p50: 0, p99: 0, max: 0 } : { p50: histogram.percentile(50), p99: histogram.percentile(99), max: histogram.max };
    histogram.reset();
  };
  const timer = setInterval(roll, windowMs);
  timer.unref();
  metrics.gauge('driad_event_loop_delay_seconds', `Main event-loop delay over the last ${windowMs / 1000} s window, by quantile (1: max)`, () => [
    [{ quantile: '0.5' }, late(last.p50)],
    [{ quantile: '0.99' }, late(last.p99)],
    [{ quantile: '1' }, late(last.max)],
  ]);
  return {
    stop() {
      clearInterval(timer);
      histogram.disable();
    },
  };
}
