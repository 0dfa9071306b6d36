// A real full disk: the spool on a 256 KiB tmpfs. New records are refused loudly as disk-full
// (counted, one log line), nothing half-written stays, and every record accepted before is kept
// and readable after a restart. Needs root for the mount (CI runs as root).

import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SpoolRefused } from '../../src/accounting/spool.ts';
import { Metrics } from '../../src/telemetry/metrics.ts';
import { capturingLogger, openSpool, readAll, tempDir } from './helpers.ts';

const root = process.getuid?.() === 0;

(root ? test : test.skip)('on a full disk new records are refused as disk-full and the spooled ones are kept', async (t) => {
  const mountPoint = tempDir('driad-full-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mountPoint]);
  t.teardown(() => execFileSync('umount', ['-l', mountPoint]));
  const dir = join(mountPoint, 'spool');
  mkdirSync(dir);
  const { log, lines } = capturingLogger();
  const metrics = new Metrics();
  let spool = await openSpool(dir, { log, metrics, segmentBytes: 64 * 1024 });
  const accepted: string[] = [];
  let refused = 0;
  for (let i = 0; i < 400 && refused < 20; i++) {
    const id = `r-${i}`;
    try {
      await spool.append({ id, type: 'test', pad: 'x'.repeat(1000) });
      accepted.push(id);
    } catch (err) {
      t.true(err instanceof SpoolRefused);
      t.is((err as SpoolRefused).reason, 'disk-full', (err as Error).message);
      refused++;
    }
  }
  t.true(accepted.length > 100, `${accepted.length} accepted before the disk filled`);
  t.is(refused, 20);
  t.is(metrics.get('driad_accounting_refused_total', { reason: 'disk-full' }), 20);
  t.is(lines.filter((l) => l.msg.includes('refused')).length, 1, 'refusals are logged once per interval');
  await spool.close();

  spool = await openSpool(dir, { log, metrics, segmentBytes: 64 * 1024 });
  t.is(lines.filter((l) => l.msg.includes('torn record')).length, 0, 'a failed write left no partial frame');
  t.deepEqual((await readAll(spool, 'c1')).map((e) => e.record.id), accepted);
  await spool.close();
});
