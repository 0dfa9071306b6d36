/** Smoothed RTT (an exponentially weighted mean, RFC 6298's SRTT) and loss over the last probes of one relay. */
export class ProbeStats {
  readonly #alpha: number;
  readonly #window: boolean[] = [];
  readonly #size: number;
  srttMs: number | null = null;
  lastRttMs: number | null = null;
  /** Lost probes since the last answer. */
  consecutiveLosses = 0;

  constructor(alpha: number, windowSize: number) {
    this.#alpha = alpha;
    this.#size = windowSize;
  }

  answered(rttMs: number): void {
    this.lastRttMs = rttMs;
    this.srttMs = this.srttMs === null ? rttMs : (1 - this.#alpha) * this.srttMs + this.#alpha * rttMs;
    this.consecutiveLosses = 0;
    this.#push(true);
  }

  lost(): void {
    this.consecutiveLosses++;
    this.#push(false);
  }

  /** Share of the last probes (at most the window) that got no answer; null before the first probe. */
  get lossRate(): number | null {
    if (this.#window.length === 0) return null;
    return this.#window.filter((ok) => !ok).length / this.#window.length;
  }

  #push(ok: boolean): void {
    this.#window.push(ok);
    if (this.#window.length > this.#size) this.#window.shift();
  }
}
