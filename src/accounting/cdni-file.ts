/**
 * The rotating CDNI file consumer: reads AMT tunnel usage records from the spool and writes them
 * into CDNI Logging Files (cdni.ts). A file is written as `<name>.partial`, and at rotation (every
 * `rotateMs`, or at `maxRecords`) closed with its integrity hash, synced and renamed to its final
 * name; only then are its records acknowledged to the spool. A crash before that leaves a
 * `.partial` file, which the next start deletes: its records were never acknowledged, so they come
 * again from the spool into the next file, with the same record ids. A crash between the rename
 * and the acknowledgement repeats those records in the next file, again with the same ids.
 */
import { mkdir, open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../telemetry/log.ts';
import type { Counter, Metrics } from '../telemetry/metrics.ts';
import { fileHeader, IntegrityHash, usageLine } from './cdni.ts';
import type { SpoolConsumer } from './consumer.ts';
import { fsyncDirectory, LogLimiter } from './files.ts';
import { lifecycleAsUsage, type AmtTunnelLifecycle, type AmtTunnelUsage } from './records.ts';

export interface CdniFileOptions {
  directory: string;
  rotateMs: number;
  maxRecords: number;
  /** `#claimed-origin`: who produced the files. Default the host name. */
  claimedOrigin?: string;
  consumer: SpoolConsumer;
  log: Logger;
  metrics: Metrics;
  now?: () => number;
}

export interface CdniFileStatus {
  directory: string;
  /** Records in the file being written. */
  pending: number;
  files: number;
  lastFile: string | null;
  lastError: string | null;
}

interface OpenFile {
  fh: FileHandle;
  partial: string;
  final: string;
  hash: IntegrityHash;
  records: number;
  openedAt: number;
}

const SUFFIX = '.partial';
const READ_BATCH = 2000;

export class CdniFileWriter {
  readonly #o: CdniFileOptions;
  readonly #now: () => number;
  readonly #limiter = new LogLimiter(10_000);
  readonly #files: Counter;
  readonly #records: Counter;
  readonly #errors: Counter;
  #file: OpenFile | null = null;
  /** Highest seq read into the open file (or skipped), to acknowledge at rotation. */
  #readTo = 0;
  #stopping = false;
  #wake: (() => void) | null = null;
  #loop: Promise<void> = Promise.resolve();
  #status: CdniFileStatus;

  constructor(o: CdniFileOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.#files = o.metrics.counter('driad_cdni_files_total', 'CDNI Logging Files completed');
    this.#records = o.metrics.counter('driad_cdni_records_total', 'AMT tunnel usage records written into completed CDNI Logging Files');
    this.#errors = o.metrics.counter('driad_cdni_errors_total', 'Failures writing CDNI Logging Files (records stay in the spool and are written again)');
    this.#status = { directory: o.directory, pending: 0, files: 0, lastFile: null, lastError: null };
  }

  /** Deletes `.partial` files left by a crash (their records come again) and starts the loop. */
  async start(): Promise<void> {
    await mkdir(this.#o.directory, { recursive: true });
    for (const name of await readdir(this.#o.directory)) {
      if (!name.endsWith(SUFFIX)) continue;
      await unlink(join(this.#o.directory, name));
      this.#o.log.warn(`cdni: deleted ${name}, left by a crash; its records were not acknowledged and are written again`);
    }
    this.#loop = this.#run();
  }

  status(): CdniFileStatus {
    return { ...this.#status, pending: this.#file?.records ?? 0 };
  }

  /** Writes what the spool holds for it, completes the open file (its records are acknowledged) and stops. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#loop;
    try {
      while (!this.#o.consumer.closed && (await this.#take()) > 0);
      await this.#complete();
    } catch (err) {
      this.#failed(err as Error);
    }
  }

  async #run(): Promise<void> {
    const consumer = this.#o.consumer;
    while (!this.#stopping && !consumer.closed) {
      try {
        if ((await this.#take()) > 0) continue;
        if (this.#file && this.#now() - this.#file.openedAt >= this.#o.rotateMs) {
          await this.#complete();
          continue;
        }
        const wait = this.#file ? this.#file.openedAt + this.#o.rotateMs - this.#now() : this.#o.rotateMs;
        await Promise.race([consumer.waitForData(Math.max(1, wait)), new Promise<void>((resolve) => (this.#wake = resolve))]);
      } catch (err) {
        this.#failed(err as Error);
        await this.#discard();
        await consumer.rewind().catch(() => {});
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 1000);
          this.#wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    }
  }

  /** Reads a batch from the spool into files (completing each at maxRecords); returns how many entries it read. */
  async #take(): Promise<number> {
    const consumer = this.#o.consumer;
    const entries = await consumer.read(READ_BATCH);
    if (entries.length === 0) return 0;
    let lines: string[] = [];
    for (const e of entries) {
      if (e.record.type === 'amt-tunnel-usage') lines.push(usageLine(e.record as unknown as AmtTunnelUsage));
      else if (e.record.type === 'amt-tunnel-lifecycle') lines.push(usageLine(lifecycleAsUsage(e.record as unknown as AmtTunnelLifecycle)));
      this.#readTo = e.seq;
      if ((this.#file?.records ?? 0) + lines.length >= this.#o.maxRecords) {
        await this.#write(lines);
        lines = [];
        await this.#complete();
      }
    }
    if (lines.length > 0) await this.#write(lines);
    else if (!this.#file) await consumer.ack(this.#readTo);
    return entries.length;
  }

  async #write(lines: string[]): Promise<void> {
    if (!this.#file) {
      const openedAt = this.#now();
      const name = `amt-usage-${new Date(openedAt).toISOString().replace(/[-:]/g, '').replace('.', '')}-${randomUUID().slice(0, 8)}.cdni`;
      const partial = join(this.#o.directory, name + SUFFIX);
      const fh = await open(partial, 'wx');
      const hash = new IntegrityHash();
      const header = fileHeader({ claimedOrigin: this.#o.claimedOrigin ?? hostname() });
      await fh.write(header);
      hash.update(header);
      this.#file = { fh, partial, final: join(this.#o.directory, name), hash, records: 0, openedAt };
    }
    const text = lines.join('');
    await this.#file.fh.write(text);
    this.#file.hash.update(text);
    this.#file.records += lines.length;
  }

  /** Closes the file with its integrity hash, syncs and renames it, then acknowledges its records. */
  async #complete(): Promise<void> {
    const file = this.#file;
    if (!file) return;
    await file.fh.write(file.hash.line());
    await file.fh.sync();
    await file.fh.close();
    await rename(file.partial, file.final);
    await fsyncDirectory(this.#o.directory);
    this.#file = null;
    await this.#o.consumer.ack(this.#readTo);
    this.#files.inc();
    this.#records.inc(file.records);
    this.#status.files++;
    this.#status.lastFile = file.final;
  }

  async #discard(): Promise<void> {
    const file = this.#file;
    this.#file = null;
    if (!file) return;
    await file.fh.close().catch(() => {});
    await unlink(file.partial).catch(() => {});
  }

  #failed(err: Error): void {
    this.#errors.inc();
    this.#status.lastError = err.message;
    this.#limiter.once('write', (suppressed) => this.#o.log.error({ suppressed }, `cdni: ${err.message}; the records stay in the spool and are written again`));
  }
}
