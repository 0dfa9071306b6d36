/**
 * The accounting spool: an append-only log of segment files. A record counts as received (the
 * promise of `append` resolves) only once it is written and flushed per the fsync policy; each
 * consumer keeps its own acknowledged position on disk, so delivery is at-least-once and resumes
 * after any restart; a segment is deleted only when every consumer has acknowledged all of it.
 * See README.md for the file layout, the fsync policies and what survives which crash.
 */
import { mkdir, open, readdir, readFile, stat, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../telemetry/log.ts';
import type { Counter, Metrics } from '../telemetry/metrics.ts';
import { SpoolConsumer } from './consumer.ts';
import { fsyncDirectory, LogLimiter } from './files.ts';
import { encodeFrame, MAX_BODY, PEEK_BYTES, peekFrame, readFrame, SEGMENT_MAGIC } from './frame.ts';

export type FsyncPolicy = 'always' | 'interval';

export interface SpoolOptions {
  directory: string;
  /** Every consumer that must see each record; a segment waits for all of them. */
  consumers: string[];
  /** 'always': fdatasync before a record counts as received; 'interval': written to the OS, synced every fsyncIntervalMs. */
  fsync: FsyncPolicy;
  fsyncIntervalMs: number;
  /** A segment is closed and a new one begun once it holds this many octets. */
  segmentBytes: number;
  /** New records are refused (loudly) while the segments hold this many octets. */
  maxBytes: number;
  log: Logger;
  metrics: Metrics;
  /** Epoch ms. */
  now?: () => number;
  logIntervalMs?: number;
}

/** Any JSON object with a stable id and a type; the spool does not look further inside. */
export interface SpoolRecord {
  id: string;
  type: string;
  [field: string]: unknown;
}

export type RefusalReason = 'full' | 'disk-full' | 'io' | 'too-large' | 'closed' | 'disabled';

/** A record the spool did not take: the caller still holds it, and nothing of it is on disk. */
export class SpoolRefused extends Error {
  readonly reason: RefusalReason;
  constructor(reason: RefusalReason, message: string) {
    super(message);
    this.name = 'SpoolRefused';
    this.reason = reason;
  }
}

export interface Segment {
  firstSeq: number;
  /** firstSeq - 1 while empty. */
  lastSeq: number;
  path: string;
  /** Committed octets: everything below is written (and flushed as the policy says). */
  size: number;
  /** Append time of its first record. */
  firstAt: number | null;
}

interface Pending {
  json: string;
  type: string;
  resolve: (seq: number) => void;
  reject: (err: SpoolRefused) => void;
}

const SEGMENT_NAME = /^(\d{20})\.seg$/;
const MAX_BATCH = 4096;

export class Spool {
  readonly directory: string;
  readonly #o: SpoolOptions;
  readonly #now: () => number;
  readonly #segments: Segment[] = [];
  readonly #consumers = new Map<string, SpoolConsumer>();
  readonly #waiters = new Set<() => void>();
  readonly #limiter: LogLimiter;
  #fh: FileHandle | null = null;
  #nextSeq = 1;
  #pending: Pending[] = [];
  #writing = false;
  #scheduled = false;
  #dirty = false;
  #closed = false;
  #syncTimer: NodeJS.Timeout | null = null;
  #idle: Promise<void> = Promise.resolve();
  #idleResolve: (() => void) | null = null;
  readonly #counters: { appended: Map<string, Counter>; refused: Map<string, Counter>; torn: Counter; fsyncs: Counter };

  private constructor(o: SpoolOptions) {
    this.#o = o;
    this.directory = o.directory;
    this.#now = o.now ?? Date.now;
    this.#limiter = new LogLimiter(o.logIntervalMs ?? 10_000);
    this.#counters = {
      appended: new Map(),
      refused: new Map(),
      torn: o.metrics.counter('driad_accounting_torn_records_total', 'Torn or corrupt records found in the spool and skipped'),
      fsyncs: o.metrics.counter('driad_accounting_fsyncs_total', 'fdatasync calls on spool segments'),
    };
  }

  /** Opens (or creates) the spool in `directory`: recovers the last segment, loads each consumer's position. */
  static async open(o: SpoolOptions): Promise<Spool> {
    if (o.consumers.length === 0) throw new Error('accounting spool: at least one consumer is needed');
    const spool = new Spool(o);
    await spool.#recover();
    for (const name of o.consumers) spool.#consumers.set(name, await SpoolConsumer.load(spool, name, o.log));
    spool.#collect();
    if (o.fsync === 'interval') {
      spool.#syncTimer = setInterval(() => void spool.#syncIfDirty(), Math.max(1, o.fsyncIntervalMs));
      spool.#syncTimer.unref();
    }
    spool.#registerMetrics();
    return spool;
  }

  /** Seq of the newest committed record (0 when none ever was). */
  get lastSeq(): number {
    return this.#nextSeq - 1;
  }

  /** Octets in the segment files. */
  get bytes(): number {
    return this.#segments.reduce((n, s) => n + s.size, 0);
  }

  get segments(): readonly Segment[] {
    return this.#segments;
  }

  consumer(name: string): SpoolConsumer {
    const c = this.#consumers.get(name);
    if (!c) throw new Error(`accounting spool: no consumer ${JSON.stringify(name)} (configured: ${[...this.#consumers.keys()].join(', ')})`);
    return c;
  }

  consumers(): SpoolConsumer[] {
    return [...this.#consumers.values()];
  }

  /**
   * Appends a record; resolves with its seq once it is written and flushed as the fsync policy
   * says, and only then does it count as received. Rejects with SpoolRefused (nothing kept) when
   * the spool is full, the disk is, or the write fails.
   */
  append(record: SpoolRecord): Promise<number> {
    if (this.#closed) return Promise.reject(new SpoolRefused('closed', 'the accounting spool is closed'));
    let json: string;
    try {
      json = JSON.stringify(record);
    } catch (err) {
      return Promise.reject(this.#refuse([], 'too-large', `record ${record.id} cannot be written: ${(err as Error).message}`));
    }
    if (Buffer.byteLength(json) > MAX_BODY - 16) return Promise.reject(this.#refuse([], 'too-large', `record ${record.id} is over ${MAX_BODY} octets`));
    return new Promise<number>((resolve, reject) => {
      this.#pending.push({ json, type: record.type, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => void this.#drain());
      }
    });
  }

  /** Resolves when there is a record after `seq`, or after `ms`, or at close. */
  waitFor(seq: number, ms: number): Promise<void> {
    if (this.lastSeq > seq || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.#waiters.add(done);
    });
  }

  /** Stops taking records, writes and syncs what was accepted, closes the files. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#syncTimer) clearInterval(this.#syncTimer);
    // Records already accepted by append() are written before the files close.
    if (!this.#writing && this.#pending.length > 0) await this.#drain();
    await this.#idle;
    await this.#syncIfDirty();
    for (const c of this.#consumers.values()) await c.close();
    await this.#fh?.close();
    this.#fh = null;
    for (const wake of [...this.#waiters]) wake();
  }

  /** The segment holding `seq` (the last one whose first seq is not above it). */
  segmentFor(seq: number): Segment | undefined {
    let found: Segment | undefined;
    for (const s of this.#segments) {
      if (s.firstSeq <= seq) found = s;
      else break;
    }
    return found;
  }

  /** The segment after `segment`, if any. */
  nextSegment(segment: Segment): Segment | undefined {
    const i = this.#segments.indexOf(segment);
    return i >= 0 ? this.#segments[i + 1] : this.#segments.find((s) => s.firstSeq > segment.firstSeq);
  }

  /** Deletes every segment (but the one being written) that all consumers have acknowledged. */
  collect(): void {
    this.#collect();
  }

  #collect(): void {
    if (this.#consumers.size < this.#o.consumers.length) return;
    const acked = Math.min(...[...this.#consumers.values()].map((c) => c.acked));
    while (this.#segments.length > 1 && (this.#segments[0] as Segment).lastSeq <= acked) {
      const seg = this.#segments.shift() as Segment;
      unlink(seg.path).then(
        () => fsyncDirectory(this.directory),
        (err: NodeJS.ErrnoException) => this.#o.log.warn(`accounting: could not delete ${seg.path}: ${err.message}`),
      ).catch(() => {});
    }
  }

  async #drain(): Promise<void> {
    this.#scheduled = false;
    if (this.#writing) return;
    this.#writing = true;
    this.#idle = new Promise((resolve) => (this.#idleResolve = resolve));
    try {
      while (this.#pending.length > 0) await this.#writeBatch(this.#pending.splice(0, MAX_BATCH));
    } finally {
      this.#writing = false;
      this.#idleResolve?.();
    }
  }

  async #writeBatch(batch: Pending[]): Promise<void> {
    const segment = this.#segments[this.#segments.length - 1] as Segment;
    const fh = this.#fh;
    if (!fh) {
      this.#refuse(batch, 'closed', 'the accounting spool is closed');
      return;
    }
    const at = this.#now();
    const first = this.#nextSeq;
    const frames = batch.map((p, i) => encodeFrame(first + i, at, p.json));
    const octets = frames.reduce((n, f) => n + f.length, 0);
    if (this.bytes + octets > this.#o.maxBytes) {
      this.#refuse(batch, 'full', `spool holds ${this.bytes} octets, the limit is ${this.#o.maxBytes} (accounting.maxBytes): consumers are not keeping up`);
      return;
    }
    const position = segment.size;
    try {
      const { bytesWritten } = await fh.writev(frames, position);
      if (bytesWritten < octets) throw Object.assign(new Error(`short write (${bytesWritten} of ${octets} octets)`), { code: 'ENOSPC' });
      if (this.#o.fsync === 'always') {
        await fh.datasync();
        this.#counters.fsyncs.inc();
      } else {
        this.#dirty = true;
      }
    } catch (err) {
      // Nothing of a failed batch stays: cut the segment back to where the batch began.
      await fh.truncate(position).catch(() => {});
      const e = err as NodeJS.ErrnoException;
      this.#refuse(batch, e.code === 'ENOSPC' || e.code === 'EDQUOT' ? 'disk-full' : 'io', `writing ${segment.path}: ${e.message}`);
      return;
    }
    this.#nextSeq = first + batch.length;
    segment.size += octets;
    segment.lastSeq = this.#nextSeq - 1;
    segment.firstAt ??= at;
    batch.forEach((p, i) => {
      this.#appendedCounter(p.type).inc();
      p.resolve(first + i);
    });
    for (const wake of [...this.#waiters]) wake();
    if (segment.size >= this.#o.segmentBytes) {
      try {
        await this.#rotate();
      } catch (err) {
        this.#o.log.error(`accounting: could not start a new segment: ${(err as Error).message}; writing on in ${segment.path}`);
      }
    }
  }

  /** Rejects a batch (or, with none, returns the error for one record): counted, one log line per reason per interval. */
  #refuse(batch: Pending[], reason: RefusalReason, message: string): SpoolRefused {
    const error = new SpoolRefused(reason, `accounting spool refused a record: ${message}`);
    this.#refusedCounter(reason).inc(Math.max(1, batch.length));
    this.#limiter.once(reason, (suppressed) => this.#o.log.error({ reason, suppressed }, error.message));
    for (const p of batch) p.reject(error);
    return error;
  }

  async #syncIfDirty(): Promise<void> {
    if (!this.#dirty || !this.#fh) return;
    this.#dirty = false;
    try {
      await this.#fh.datasync();
      this.#counters.fsyncs.inc();
    } catch (err) {
      this.#dirty = true;
      this.#limiter.once('fsync', () => this.#o.log.error(`accounting: fdatasync failed: ${(err as Error).message}`));
    }
  }

  async #rotate(): Promise<void> {
    if (this.#o.fsync === 'interval') await this.#syncIfDirty();
    await this.#fh?.close();
    this.#fh = null;
    await this.#createSegment(this.#nextSeq);
  }

  async #createSegment(firstSeq: number): Promise<void> {
    const path = join(this.directory, segmentName(firstSeq));
    const fh = await open(path, 'w+');
    await fh.write(SEGMENT_MAGIC, 0, SEGMENT_MAGIC.length, 0);
    await fh.datasync();
    await fsyncDirectory(this.directory);
    this.#segments.push({ firstSeq, lastSeq: firstSeq - 1, path, size: SEGMENT_MAGIC.length, firstAt: null });
    this.#fh = fh;
  }

  /** Finds the segments; checks the last one frame by frame and cuts a torn tail off (one log line). */
  async #recover(): Promise<void> {
    await mkdir(join(this.directory, 'consumers'), { recursive: true });
    const names = (await readdir(this.directory)).filter((n) => SEGMENT_NAME.test(n)).sort();
    for (const [i, name] of names.entries()) {
      const path = join(this.directory, name);
      const firstSeq = Number(SEGMENT_NAME.exec(name)?.[1]);
      const next = names[i + 1];
      if (next !== undefined) {
        const size = (await stat(path)).size;
        this.#segments.push({ firstSeq, lastSeq: Number(SEGMENT_NAME.exec(next)?.[1]) - 1, path, size, firstAt: await firstAppendTime(path, size) });
        continue;
      }
      this.#segments.push(await this.#recoverLast(path, firstSeq));
    }
    const last = this.#segments[this.#segments.length - 1];
    // Positions may be ahead of the segments (the directory was emptied): seqs never go back.
    let acked = 0;
    for (const name of this.#o.consumers) acked = Math.max(acked, await SpoolConsumer.storedPosition(this.directory, name));
    this.#nextSeq = Math.max(last ? last.lastSeq + 1 : 1, acked + 1);
    if (last && last.lastSeq + 1 === this.#nextSeq) this.#fh = await open(last.path, 'r+');
    else await this.#createSegment(this.#nextSeq);
  }

  async #recoverLast(path: string, firstSeq: number): Promise<Segment> {
    const b = await readFile(path);
    if (b.length < SEGMENT_MAGIC.length && SEGMENT_MAGIC.subarray(0, b.length).equals(b)) {
      // Created but not yet written when the process died.
      const fh = await open(path, 'r+');
      await fh.write(SEGMENT_MAGIC, 0, SEGMENT_MAGIC.length, 0);
      await fh.datasync();
      await fh.close();
      return { firstSeq, lastSeq: firstSeq - 1, path, size: SEGMENT_MAGIC.length, firstAt: null };
    }
    if (!b.subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC)) throw new Error(`accounting: ${path} is not a spool segment (bad magic); move it out of ${this.directory}`);
    let offset = SEGMENT_MAGIC.length;
    let expected = firstSeq;
    let firstAt: number | null = null;
    while (offset < b.length) {
      const r = readFrame(b, offset);
      const reason = !r.ok ? r.reason : r.frame.seq !== expected ? `seq ${r.frame.seq} where ${expected} was due` : null;
      if (reason !== null) {
        this.#counters.torn.inc();
        this.#o.log.warn({ segment: path, offset, octets: b.length - offset }, `accounting: torn record at the end of ${path} (offset ${offset}, ${b.length - offset} octets: ${reason}) skipped`);
        await truncate(path, offset);
        break;
      }
      if (!r.ok) break;
      firstAt ??= r.frame.at;
      offset += r.frame.size;
      expected++;
    }
    return { firstSeq, lastSeq: expected - 1, path, size: offset, firstAt };
  }

  #appendedCounter(type: string): Counter {
    let c = this.#counters.appended.get(type);
    if (!c) {
      c = this.#o.metrics.counter('driad_accounting_records_total', 'Records accepted into the spool (written and flushed), by type', { type });
      this.#counters.appended.set(type, c);
    }
    return c;
  }

  #refusedCounter(reason: string): Counter {
    let c = this.#counters.refused.get(reason);
    if (!c) {
      c = this.#o.metrics.counter('driad_accounting_refused_total', 'Records the spool refused, by reason', { reason });
      this.#counters.refused.set(reason, c);
    }
    return c;
  }

  #registerMetrics(): void {
    const m = this.#o.metrics;
    m.gauge('driad_accounting_bytes', 'Octets in the spool segment files', () => [[{}, this.bytes]]);
    m.gauge('driad_accounting_segments', 'Spool segment files', () => [[{}, this.#segments.length]]);
    m.gauge('driad_accounting_depth', 'Records not yet acknowledged, by consumer', () => this.consumers().map((c) => [{ consumer: c.name }, this.lastSeq - c.acked]));
    m.gauge('driad_accounting_oldest_age_seconds', 'Age of the oldest record a consumer has not acknowledged (0 when none)', () =>
      this.consumers().map((c) => {
        const at = c.oldestUnackedAt();
        return [{ consumer: c.name }, at === null ? 0 : Math.max(0, (this.#now() - at) / 1000)];
      }),
    );
  }
}

export function segmentName(firstSeq: number): string {
  return `${String(firstSeq).padStart(20, '0')}.seg`;
}

async function firstAppendTime(path: string, size: number): Promise<number | null> {
  if (size < SEGMENT_MAGIC.length + PEEK_BYTES) return null;
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(PEEK_BYTES);
    await fh.read(head, 0, PEEK_BYTES, SEGMENT_MAGIC.length);
    return peekFrame(head)?.at ?? null;
  } finally {
    await fh.close();
  }
}
