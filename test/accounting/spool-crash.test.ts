// kill -9 at random moments: a child process appends and acknowledges as fast as it can; after
// each kill the spool reopens and must hold every record the child was told was spooled, with
// its seq, and the consumer must resume at or after every position the child was told was saved.
// Repeated with several random kill points, both fsync policies, over one spool directory that
// grows across restarts; some rounds also tear the last record as a power cut would.

import test from 'ava';
import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { encodeFrame } from '../../src/accounting/frame.ts';
import { capturingLogger, openSpool, readAll, tempDir } from './helpers.ts';

const CHILD = new URL('./fixtures/spool-writer.ts', import.meta.url).pathname;

interface Told {
  spooled: Map<string, number>;
  acked: number;
}

/** Runs the child until it has spooled at least `minRecords`, then waits `extraMs` and kills it. */
function runAndKill(dir: string, fsync: string, seed: number, prefix: string, minRecords: number, extraMs: number): Promise<Told> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, fsync, String(seed), prefix], { stdio: ['ignore', 'pipe', 'pipe'] });
    const told: Told = { spooled: new Map(), acked: 0 };
    let buffered = '';
    let stderr = '';
    let killing = false;
    const deadline = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [what, a, b] = line.split(' ');
        if (what === 'spooled') told.spooled.set(a as string, Number(b));
        if (what === 'acked') told.acked = Math.max(told.acked, Number(a));
      }
      if (!killing && told.spooled.size >= minRecords) {
        killing = true;
        setTimeout(() => child.kill('SIGKILL'), extraMs);
      }
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (_code, signal) => {
      clearTimeout(deadline);
      if (signal !== 'SIGKILL' || !killing) reject(new Error(`child ended without being killed (${signal}): ${stderr}`));
      else resolve(told);
    });
  });
}

for (const fsync of ['always', 'interval']) {
  test(`kill -9 at random points (fsync ${fsync}) loses nothing acknowledged as spooled`, async (t) => {
    const dir = tempDir();
    let seed = fsync === 'always' ? 7 : 11;
    const random = (): number => {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    const everSpooled = new Map<string, number>();
    let everAcked = 0;
    for (let round = 0; round < 5; round++) {
      const told = await runAndKill(dir, fsync, round + 1, `k${round}`, 200 + Math.floor(random() * 800), Math.floor(random() * 150));
      for (const [id, seq] of told.spooled) everSpooled.set(id, seq);
      everAcked = Math.max(everAcked, told.acked);
      const tear = round % 2 === 1;
      if (tear) {
        // A power cut in the middle of a write: part of a frame after the last complete one.
        const last = readdirSync(dir).filter((n) => n.endsWith('.seg')).sort().pop() as string;
        const frame = encodeFrame(10 ** 9, Date.now(), JSON.stringify({ id: 'torn', type: 'test' }));
        appendFileSync(join(dir, last), frame.subarray(0, 1 + Math.floor(random() * (frame.length - 2))));
      }

      const { log, lines } = capturingLogger();
      const spool = await openSpool(dir, { consumers: ['c1', 'audit'], segmentBytes: 4096, log });
      const tornLines = lines.filter((l) => l.msg.includes('torn record')).length;
      if (tear) t.is(tornLines, 1, 'one log line for the torn tail');
      else t.true(tornLines <= 1);
      const audit = await readAll(spool, 'audit');
      const bySeq = new Map(audit.map((e) => [e.seq, e.record.id]));
      t.deepEqual(audit.map((e) => e.seq), Array.from({ length: audit.length }, (_, i) => i + 1), 'seqs have no gaps and no repeats');
      t.is(new Set(audit.map((e) => e.record.id)).size, audit.length, 'ids are unique');
      const missing = [...everSpooled].filter(([id, seq]) => bySeq.get(seq) !== id);
      t.deepEqual(missing, [], `round ${round}: every record told as spooled is there under its seq`);
      const c1 = spool.consumer('c1');
      t.true(c1.acked >= everAcked, `round ${round}: position ${c1.acked} is at or after the last saved one (${everAcked})`);
      const resumed = await c1.read(1);
      if (resumed.length) t.is(resumed[0]!.seq, c1.acked + 1, 'c1 resumes right after its position');
      await spool.close();
    }
    t.true(everSpooled.size > 1000, `${everSpooled.size} records over 5 kills`);
  });
}
