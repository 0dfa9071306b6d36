/**
 * Raw Subscribe responses waiting to be decoded. Bounded: when full, the oldest message goes,
 * since the newest says more about the MX now. A sync_response is never lost that way: one that
 * would be dropped is reported to the caller (it marks the end of the initial sync all the same).
 */
export class ResponseQueue {
  #items: Buffer[] = [];
  #head = 0;
  readonly #limit: number;
  dropped = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Adds a message; returns the dropped one when the queue was full, else undefined. */
  push(buf: Buffer): Buffer | undefined {
    let dropped: Buffer | undefined;
    if (this.length >= this.#limit) {
      dropped = this.shift();
      this.dropped++;
    }
    this.#items.push(buf);
    return dropped;
  }

  shift(): Buffer | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const buf = this.#items[this.#head]!;
    this.#items[this.#head++] = EMPTY;
    if (this.#head > 4096 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return buf;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}

const EMPTY = Buffer.alloc(0);

/** Whether raw SubscribeResponse bytes are a sync_response (field 3, varint, true): encoders write it first. */
export function isSyncResponse(buf: Buffer): boolean {
  return buf.length >= 2 && buf[0] === 0x18 && buf[1] === 0x01;
}
