import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { Spool, type SpoolOptions } from '../../src/accounting/spool.ts';
import type { SpoolEntry } from '../../src/accounting/consumer.ts';
import { Metrics } from '../../src/telemetry/metrics.ts';

export function tempDir(prefix = 'driad-spool-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A logger whose lines the test can read. */
export function capturingLogger(): { log: Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text) as { level: number; msg: string });
      done();
    },
  });
  return { log: pino({ level: 'info' }, stream), lines };
}

export function openSpool(directory: string, o: Partial<SpoolOptions> = {}): Promise<Spool> {
  return Spool.open({
    directory,
    consumers: ['c1'],
    fsync: 'always',
    fsyncIntervalMs: 50,
    segmentBytes: 1 << 20,
    maxBytes: 1 << 30,
    log: capturingLogger().log,
    metrics: new Metrics(),
    ...o,
  });
}

/** Everything a consumer can read now. */
export async function readAll(spool: Spool, consumer: string): Promise<SpoolEntry[]> {
  const c = spool.consumer(consumer);
  const all: SpoolEntry[] = [];
  for (;;) {
    const batch = await c.read(5000);
    if (batch.length === 0) return all;
    all.push(...batch);
  }
}
