/**
 * Data Sets that arrived before their template (RFC 7011 §9.3: a Collecting Process MAY store
 * them for a short time and decode them when the template arrives). Bounded three ways: age,
 * total bytes and number of sets; whatever falls out is counted as dropped, never kept.
 */

export interface PendingLimits {
  /** How long a set waits for its template. */
  maxAgeMs: number;
  /** Bytes of set bodies held at once, over all exporters; 0 holds nothing. */
  maxBytes: number;
  /** Sets held at once, over all exporters. */
  maxSets: number;
}

export interface PendingSet {
  key: string;
  templateId: number;
  domain: number;
  exportTime: number;
  receivedAt: number;
  /** A copy of the set's body (after the set header). */
  body: Buffer;
  done: boolean;
}

export interface PendingCounts {
  pendingHeld: number;
  pendingDropped: number;
  pendingDroppedBytes: number;
}

export class PendingSets {
  readonly #limits: PendingLimits;
  readonly #byKey = new Map<string, PendingSet[]>();
  /** Arrival order, for eviction; entries already released are skipped. */
  #queue: PendingSet[] = [];
  #head = 0;
  #bytes = 0;
  #count = 0;

  constructor(limits: PendingLimits) {
    this.#limits = limits;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get sets(): number {
    return this.#count;
  }

  /** Holds a copy of b[start, end) for `key`; returns false (and counts a drop) if it cannot. */
  hold(key: string, templateId: number, domain: number, exportTime: number, b: Buffer, start: number, end: number, now: number, counts: PendingCounts): boolean {
    const size = end - start;
    if (size > this.#limits.maxBytes || this.#limits.maxSets <= 0) {
      counts.pendingDropped++;
      counts.pendingDroppedBytes += size;
      return false;
    }
    while (this.#count > 0 && (this.#bytes + size > this.#limits.maxBytes || this.#count >= this.#limits.maxSets)) this.#evictOldest(counts);
    const entry: PendingSet = { key, templateId, domain, exportTime, receivedAt: now, body: Buffer.from(b.subarray(start, end)), done: false };
    let list = this.#byKey.get(key);
    if (!list) {
      list = [];
      this.#byKey.set(key, list);
    }
    list.push(entry);
    this.#queue.push(entry);
    this.#bytes += size;
    this.#count++;
    counts.pendingHeld++;
    return true;
  }

  /** Takes every set held for `key` (oldest first) that is still within its age. */
  release(key: string, now: number, counts: PendingCounts): PendingSet[] {
    const list = this.#byKey.get(key);
    if (!list) return [];
    this.#byKey.delete(key);
    const out: PendingSet[] = [];
    for (const e of list) {
      this.#forget(e);
      if (now - e.receivedAt > this.#limits.maxAgeMs) {
        counts.pendingDropped++;
        counts.pendingDroppedBytes += e.body.length;
      } else {
        out.push(e);
      }
    }
    this.#compact();
    return out;
  }

  /** Drops every set held for keys starting with `prefix` (an exporter going away). */
  dropPrefix(prefix: string, counts: PendingCounts): void {
    for (const [key, list] of this.#byKey) {
      if (!key.startsWith(prefix)) continue;
      this.#byKey.delete(key);
      for (const e of list) {
        this.#forget(e);
        counts.pendingDropped++;
        counts.pendingDroppedBytes += e.body.length;
      }
    }
    this.#compact();
  }

  /** Drops sets older than maxAgeMs. */
  expire(now: number, counts: PendingCounts): void {
    while (this.#head < this.#queue.length) {
      const e = this.#queue[this.#head];
      if (!e.done && now - e.receivedAt <= this.#limits.maxAgeMs) break;
      if (!e.done) this.#drop(e, counts);
      this.#head++;
    }
    this.#compact();
  }

  #evictOldest(counts: PendingCounts): void {
    while (this.#head < this.#queue.length) {
      const e = this.#queue[this.#head++];
      if (e.done) continue;
      this.#drop(e, counts);
      break;
    }
    this.#compact();
  }

  #drop(e: PendingSet, counts: PendingCounts): void {
    const list = this.#byKey.get(e.key);
    if (list) {
      const i = list.indexOf(e);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#byKey.delete(e.key);
    }
    this.#forget(e);
    counts.pendingDropped++;
    counts.pendingDroppedBytes += e.body.length;
  }

  #forget(e: PendingSet): void {
    if (e.done) return;
    e.done = true;
    this.#bytes -= e.body.length;
    this.#count--;
  }

  /** Keeps the queue from growing without bound: released entries at its head are cut off. */
  #compact(): void {
    while (this.#head < this.#queue.length && this.#queue[this.#head].done) this.#head++;
    if ((this.#head > 1024 && this.#head * 2 > this.#queue.length) || this.#queue.length > 2 * this.#limits.maxSets + 1024) {
      this.#queue = this.#queue.slice(this.#head).filter((e) => !e.done);
      this.#head = 0;
    }
    if (this.#count === 0) {
      this.#queue = [];
      this.#head = 0;
    }
  }
}
