/**
 * One consumer of the spool: a read cursor in memory and an acknowledged position on disk
 * (`consumers/<name>.json`, replaced atomically). Reading gives records after the cursor in seq
 * order; `ack(seq)` says every record up to seq is safely delivered. After a restart reading
 * starts again after the acknowledged position, so whatever was read but not acknowledged comes
 * again, with the same seq and id (at-least-once).
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../telemetry/log.ts';
import { writeFileAtomic } from './files.ts';
import { PEEK_BYTES, peekFrame, readFrame, SEGMENT_MAGIC } from './frame.ts';
import type { Segment, Spool, SpoolRecord } from './spool.ts';

export interface SpoolEntry {
  seq: number;
  /** Epoch ms at which the spool accepted it. */
  at: number;
  record: SpoolRecord;
}

const CHUNK = 256 * 1024;

export class SpoolConsumer {
  readonly name: string;
  readonly #spool: Spool;
  readonly #log: Logger;
  readonly #path: string;
  #acked: number;
  /** Next seq to hand out, and where its frame starts. */
  #nextSeq: number;
  #segment: Segment | undefined;
  #offset = SEGMENT_MAGIC.length;
  #fh: FileHandle | null = null;
  #fhPath = '';
  /** Append times of records read but not acknowledged, oldest first. */
  #unacked: Array<{ seq: number; at: number }> = [];
  #saving: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(spool: Spool, name: string, acked: number, log: Logger) {
    this.name = name;
    this.#spool = spool;
    this.#log = log;
    this.#path = positionPath(spool.directory, name);
    this.#acked = acked;
    this.#nextSeq = acked + 1;
  }

  /** The position stored for a consumer (0 when it has none yet). */
  static async storedPosition(directory: string, name: string): Promise<number> {
    let text: string;
    try {
      text = await readFile(positionPath(directory, name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    const parsed = JSON.parse(text) as { acked?: unknown };
    if (typeof parsed.acked !== 'number' || !Number.isSafeInteger(parsed.acked) || parsed.acked < 0) {
      throw new Error(`accounting: ${positionPath(directory, name)} holds no valid position`);
    }
    return parsed.acked;
  }

  static async load(spool: Spool, name: string, log: Logger): Promise<SpoolConsumer> {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new Error(`accounting: consumer name ${JSON.stringify(name)} must be letters, digits, _ or -`);
    let acked = await SpoolConsumer.storedPosition(spool.directory, name);
    const oldest = spool.segments[0]?.firstSeq ?? 1;
    if (acked < oldest - 1) {
      log.warn(`accounting: consumer ${name} acknowledged up to ${acked}, but the spool starts at ${oldest}: records ${acked + 1} to ${oldest - 1} were deleted before it saw them`);
      acked = oldest - 1;
    }
    if (acked > spool.lastSeq) acked = spool.lastSeq;
    const c = new SpoolConsumer(spool, name, acked, log);
    await c.rewind();
    return c;
  }

  /** Highest acknowledged seq. */
  get acked(): number {
    return this.#acked;
  }

  /** Seq of the next record read() gives. */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** Records after the cursor, at most `max`, in order; none when there are no more yet. */
  async read(max = 1000): Promise<SpoolEntry[]> {
    const out: SpoolEntry[] = [];
    if (this.#closed) return out;
    while (out.length < max && this.#nextSeq <= this.#spool.lastSeq) {
      const segment = this.#segment;
      if (!segment) break;
      if (this.#offset >= segment.size) {
        if (!this.#moveToNextSegment()) break;
        continue;
      }
      const fh = await this.#handle(segment.path);
      const want = Math.min(segment.size - this.#offset, CHUNK);
      let chunk: Buffer = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(chunk, 0, want, this.#offset);
      chunk = chunk.subarray(0, bytesRead);
      let p = 0;
      while (p < chunk.length && out.length < max) {
        const r = readFrame(chunk, p);
        if (!r.ok && r.incomplete && this.#offset + chunk.length < segment.size) {
          // A frame that runs past this chunk: read on from its start.
          if (p > 0) break;
          chunk = await this.#readRange(fh, this.#offset, segment.size);
          continue;
        }
        if (!r.ok) {
          // Below the committed size a bad frame is damage on disk: the rest of this segment is lost.
          this.#log.error({ segment: segment.path, offset: this.#offset + p }, `accounting: ${this.name}: corrupt record in ${segment.path} at offset ${this.#offset + p} (${r.reason}); skipping to the next segment`);
          this.#offset = segment.size;
          const next = this.#spool.nextSegment(segment);
          if (next) this.#nextSeq = Math.max(this.#nextSeq, next.firstSeq);
          break;
        }
        p += r.frame.size;
        if (r.frame.seq < this.#nextSeq) continue;
        let record: SpoolRecord;
        try {
          record = JSON.parse(r.frame.json) as SpoolRecord;
        } catch {
          this.#log.error(`accounting: ${this.name}: record ${r.frame.seq} is not JSON; skipped`);
          this.#nextSeq = r.frame.seq + 1;
          continue;
        }
        out.push({ seq: r.frame.seq, at: r.frame.at, record });
        this.#unacked.push({ seq: r.frame.seq, at: r.frame.at });
        this.#nextSeq = r.frame.seq + 1;
      }
      this.#offset += p;
    }
    return out;
  }

  /** Resolves when there is something to read, or after `ms`. */
  waitForData(ms: number): Promise<void> {
    return this.#spool.waitFor(this.#nextSeq - 1, ms);
  }

  /** Every record up to `seq` is delivered: the position is written to disk before this resolves. */
  async ack(seq: number): Promise<void> {
    if (seq <= this.#acked) return;
    if (seq >= this.#nextSeq) throw new Error(`accounting: ${this.name} acknowledged ${seq}, beyond what it read (${this.#nextSeq - 1})`);
    this.#acked = seq;
    while (this.#unacked.length > 0 && (this.#unacked[0] as { seq: number }).seq <= seq) this.#unacked.shift();
    const text = `${JSON.stringify({ consumer: this.name, acked: seq, at: new Date().toISOString() })}\n`;
    this.#saving = this.#saving.then(() => writeFileAtomic(this.#path, text));
    await this.#saving;
    this.#spool.collect();
  }

  /** Reading starts again after the acknowledged position (after a delivery failed). */
  async rewind(): Promise<void> {
    this.#unacked = [];
    this.#nextSeq = this.#acked + 1;
    this.#segment = this.#spool.segmentFor(this.#nextSeq) ?? this.#spool.segments[0];
    this.#offset = SEGMENT_MAGIC.length;
    // Find where the next record starts, so gauges and the next read begin there.
    const segment = this.#segment;
    if (!segment || this.#nextSeq > segment.lastSeq) return;
    const fh = await this.#handle(segment.path);
    const b = await this.#readRange(fh, 0, segment.size);
    let p = SEGMENT_MAGIC.length;
    while (p < b.length) {
      const r = readFrame(b, p);
      if (!r.ok || r.frame.seq >= this.#nextSeq) break;
      p += r.frame.size;
    }
    this.#offset = p;
  }

  /** Append time of the oldest record not yet acknowledged, or null when it has all. */
  oldestUnackedAt(): number | null {
    const first = this.#unacked[0];
    if (first) return first.at;
    if (this.#nextSeq > this.#spool.lastSeq) return null;
    let segment = this.#segment;
    let offset = this.#offset;
    if (segment && offset >= segment.size) {
      segment = this.#spool.nextSegment(segment);
      offset = SEGMENT_MAGIC.length;
    }
    if (!segment) return null;
    if (offset === SEGMENT_MAGIC.length && segment.firstAt !== null) return segment.firstAt;
    const head = Buffer.alloc(PEEK_BYTES);
    let fd: number | null = null;
    try {
      fd = openSync(segment.path, 'r');
      readSync(fd, head, 0, PEEK_BYTES, offset);
      return peekFrame(head)?.at ?? null;
    } catch {
      return null;
    } finally {
      if (fd !== null) closeSync(fd);
    }
  }

  /** The spool was closed: nothing more to read. */
  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#saving.catch(() => {});
    await this.#fh?.close();
    this.#fh = null;
  }

  #moveToNextSegment(): boolean {
    const next = this.#segment && this.#spool.nextSegment(this.#segment);
    if (!next) return false;
    this.#segment = next;
    this.#offset = SEGMENT_MAGIC.length;
    return true;
  }

  async #handle(path: string): Promise<FileHandle> {
    if (this.#fh && this.#fhPath === path) return this.#fh;
    await this.#fh?.close();
    this.#fh = await open(path, 'r');
    this.#fhPath = path;
    return this.#fh;
  }

  async #readRange(fh: FileHandle, start: number, end: number): Promise<Buffer> {
    const b = Buffer.allocUnsafe(Math.max(0, end - start));
    const { bytesRead } = await fh.read(b, 0, b.length, start);
    return b.subarray(0, bytesRead);
  }
}

function positionPath(directory: string, name: string): string {
  return join(directory, 'consumers', `${name}.json`);
}
