// Newline-delimited JSON from a child's stdout, arriving in chunks, handed on in batches that
// yield to the event loop between them, so a flood of lines never holds up DNS answers.

export interface LineBatcherOptions {
  onLine(value: Record<string, unknown>): void;
  /** A line that is not a JSON object (counted by the caller). */
  onBad(detail: string): void;
  /** Lines per turn of the event loop. */
  batch?: number;
  /** Longest line kept; a longer one is dropped as bad (a runaway child cannot grow memory). */
  maxLineBytes?: number;
}

export class LineBatcher {
  readonly #o: Required<LineBatcherOptions>;
  #partial = '';
  #queue: string[] = [];
  #head = 0;
  #scheduled = false;
  #closed = false;

  constructor(o: LineBatcherOptions) {
    this.#o = { batch: 500, maxLineBytes: 1 << 20, ...o };
  }

  get pending(): number {
    return this.#queue.length - this.#head;
  }

  push(chunk: string): void {
    if (this.#closed) return;
    const text = this.#partial + chunk;
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf('\n', start)) >= 0) {
      this.#queue.push(text.slice(start, nl));
      start = nl + 1;
    }
    this.#partial = text.slice(start);
    if (this.#partial.length > this.#o.maxLineBytes) {
      this.#o.onBad(`line longer than ${this.#o.maxLineBytes} bytes`);
      this.#partial = '';
    }
    this.#schedule();
  }

  /** Processes what is queued now (used at the child's exit); later pushes are ignored. */
  close(): void {
    this.#drain(Infinity);
    this.#closed = true;
  }

  #schedule(): void {
    if (this.#scheduled || this.pending === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#drain(this.#o.batch);
      this.#schedule();
    });
  }

  #drain(max: number): void {
    let n = 0;
    while (this.#head < this.#queue.length && n++ < max) {
      const line = this.#queue[this.#head++]!;
      if (line === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        this.#o.onBad(`not JSON: ${line.slice(0, 80)}`);
        continue;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        this.#o.onBad(`not a JSON object: ${line.slice(0, 80)}`);
        continue;
      }
      this.#o.onLine(value as Record<string, unknown>);
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
  }
}
