// Per-second rates from the tunnel table's counters: the difference between two samples over the
// time between them. The table's `seen` counters never decrease (a counter that went backwards was
// counted from zero there), so a rate is never negative; a sample no later than the previous one
// gives none rather than a division by zero.
import { KINDS, type Counters } from './tunnel-table.ts';

export interface Rates {
  /** Every AMT message's octets (UDP payload), in bits per second: the bandwidthBps signal. */
  bandwidthBps: number;
  /** AMT messages of every type, both directions. */
  packetsPerSecond: number;
  /** Relay Discovery messages. */
  discoveriesPerSecond: number;
  /** Request messages. */
  requestsPerSecond: number;
}

interface Sample {
  at: number;
  packets: number;
  bytes: number;
  discoveries: number;
  requests: number;
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export class RateMeter {
  #last: Sample | null = null;

  /** Forgets the previous sample (a new mode counts on another clock). */
  reset(): void {
    this.#last = null;
  }

  /** Takes the counters as of `at` (epoch ms); returns the rates since the previous sample, or null for the first. */
  sample(seen: Counters, at: number): Rates | null {
    let packets = 0;
    let bytes = 0;
    for (const k of KINDS) {
      packets += seen[k].packets;
      bytes += seen[k].bytes;
    }
    const next: Sample = { at, packets, bytes, discoveries: seen.discovery.packets, requests: seen.request.packets };
    const last = this.#last;
    if (last && at <= last.at) return null;
    this.#last = next;
    if (!last) return null;
    const seconds = (at - last.at) / 1000;
    const per = (a: number, b: number) => Math.max(0, a - b) / seconds;
    return {
      bandwidthBps: Math.round(8 * per(bytes, last.bytes)),
      packetsPerSecond: round3(per(packets, last.packets)),
      discoveriesPerSecond: round3(per(next.discoveries, last.discoveries)),
      requestsPerSecond: round3(per(next.requests, last.requests)),
    };
  }
}
