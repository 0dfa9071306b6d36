// The spool on a real file system: append, read, acknowledge, resume after a restart, delete
// acknowledged segments, refuse when full, skip a torn tail with one log line.

import test from 'ava';
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeFrame } from '../../src/accounting/frame.ts';
import { SpoolRefused } from '../../src/accounting/spool.ts';
import { Metrics } from '../../src/telemetry/metrics.ts';
import { capturingLogger, openSpool, readAll, tempDir } from './helpers.ts';

const record = (i: number, extra: Record<string, unknown> = {}) => ({ id: `r-${i}`, type: 'test', i, ...extra });
const segmentsIn = (dir: string) => readdirSync(dir).filter((n) => n.endsWith('.seg')).sort();

test('records come back in order with their seq; a restart resumes after the acknowledged position', async (t) => {
  const dir = tempDir();
  let spool = await openSpool(dir);
  const seqs = await Promise.all(Array.from({ length: 100 }, (_, i) => spool.append(record(i))));
  t.deepEqual(seqs, Array.from({ length: 100 }, (_, i) => i + 1));
  const c1 = spool.consumer('c1');
  const first = await c1.read(30);
  t.deepEqual(first.map((e) => e.record.id), Array.from({ length: 30 }, (_, i) => `r-${i}`));
  await c1.ack(20);
  const more = await c1.read(5);
  t.is(more[0]?.seq, 31, 'the read cursor runs ahead of the acknowledged position');
  await spool.close();

  spool = await openSpool(dir);
  t.is(spool.lastSeq, 100);
  const again = await readAll(spool, 'c1');
  t.is(again[0]?.seq, 21, 'read but unacknowledged records come again after a restart');
  t.is(again.length, 80);
  t.is(again[0]?.record.id, 'r-20', 'with the same id');
  t.is(await spool.append(record(100)), 101, 'seqs go on from the last one');
  await spool.close();
});

test('a segment is deleted only once every consumer has acknowledged all of it', async (t) => {
  const dir = tempDir();
  const spool = await openSpool(dir, { consumers: ['a', 'b'], segmentBytes: 2000 });
  for (let i = 0; i < 60; i++) await spool.append(record(i, { pad: 'x'.repeat(100) }));
  const before = segmentsIn(dir).length;
  t.true(before >= 4, `${before} segments`);
  const a = await readAll(spool, 'a');
  await spool.consumer('a').ack(a[a.length - 1]!.seq);
  t.is(segmentsIn(dir).length, before, 'b has acknowledged nothing: every segment stays');
  const b = spool.consumer('b');
  await b.read(30);
  await b.ack(30);
  await new Promise((r) => setTimeout(r, 50));
  const left = segmentsIn(dir);
  t.true(left.length < before && left.length > 1);
  t.true(Number(left[0]?.slice(0, 20)) <= 31, 'the segment holding seq 31 is kept');
  t.is(spool.consumer('b').acked, 30);
  await spool.close();
});

test('the spool refuses new records loudly when it holds accounting.maxBytes, and keeps what it has', async (t) => {
  const dir = tempDir();
  const { log, lines } = capturingLogger();
  const metrics = new Metrics();
  const spool = await openSpool(dir, { maxBytes: 3000, log, metrics });
  let accepted = 0;
  let refused = 0;
  for (let i = 0; i < 60; i++) {
    try {
      await spool.append(record(i, { pad: 'x'.repeat(50) }));
      accepted++;
    } catch (err) {
      t.true(err instanceof SpoolRefused);
      t.is((err as SpoolRefused).reason, 'full');
      refused++;
    }
  }
  t.true(accepted > 10 && refused > 10, `${accepted} accepted, ${refused} refused`);
  t.is(metrics.get('driad_accounting_refused_total', { reason: 'full' }), refused);
  t.is(lines.filter((l) => l.msg.includes('maxBytes')).length, 1, 'one log line per interval');
  t.is((await readAll(spool, 'c1')).length, accepted, 'every accepted record is kept');
  await spool.close();
});

test('a torn last record is detected by length and checksum, cut off, and logged once', async (t) => {
  for (const damage of ['short-header', 'short-body', 'bad-checksum', 'garbage-length']) {
    const dir = tempDir();
    let spool = await openSpool(dir);
    for (let i = 0; i < 10; i++) await spool.append(record(i));
    await spool.close();
    const [segment] = segmentsIn(dir);
    const path = join(dir, segment!);
    const size = statSync(path).size;
    const frame = encodeFrame(11, Date.now(), JSON.stringify(record(10)));
    if (damage === 'short-header') appendFileSync(path, frame.subarray(0, 5));
    if (damage === 'short-body') appendFileSync(path, frame.subarray(0, frame.length - 3));
    if (damage === 'bad-checksum') {
      frame[frame.length - 2] ^= 0xff;
      appendFileSync(path, frame);
    }
    if (damage === 'garbage-length') appendFileSync(path, Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8]));
    const { log, lines } = capturingLogger();
    const metrics = new Metrics();
    spool = await openSpool(dir, { log, metrics });
    t.is(lines.filter((l) => l.msg.includes('torn record')).length, 1, damage);
    t.is(statSync(path).size, size, `${damage}: the tail is cut off`);
    t.is(spool.lastSeq, 10);
    t.is(metrics.get('driad_accounting_torn_records_total'), 1);
    t.is(await spool.append(record(10)), 11, 'the next record takes the torn one\'s place');
    t.deepEqual((await readAll(spool, 'c1')).map((e) => e.seq), Array.from({ length: 11 }, (_, i) => i + 1));
    await spool.close();
  }
});

test('a write that fails leaves nothing of the batch behind', async (t) => {
  const dir = tempDir();
  const spool = await openSpool(dir);
  await spool.append(record(0));
  // A record that JSON cannot carry is refused at append, before any write.
  const cyclic: Record<string, unknown> = { id: 'x', type: 'test' };
  cyclic.self = cyclic;
  await t.throwsAsync(spool.append(cyclic as never), { instanceOf: SpoolRefused });
  await t.throwsAsync(spool.append(record(1, { pad: 'x'.repeat(2 << 20) })), { instanceOf: SpoolRefused, message: /octets/ });
  t.is(await spool.append(record(2)), 2);
  await spool.close();
  await t.throwsAsync(spool.append(record(3)), { instanceOf: SpoolRefused, message: /closed/ });
});

test('depth, age and bytes as metrics', async (t) => {
  const dir = tempDir();
  const metrics = new Metrics();
  let now = 1_000_000;
  const spool = await openSpool(dir, { metrics, now: () => now });
  for (let i = 0; i < 5; i++) await spool.append(record(i));
  now += 7000;
  t.is(metrics.get('driad_accounting_depth', { consumer: 'c1' }), 5);
  t.is(metrics.get('driad_accounting_oldest_age_seconds', { consumer: 'c1' }), 7);
  t.is(metrics.get('driad_accounting_bytes'), statSync(join(dir, segmentsIn(dir)[0]!)).size);
  t.is(metrics.get('driad_accounting_records_total', { type: 'test' }), 5);
  const c1 = spool.consumer('c1');
  await c1.read(5);
  await c1.ack(5);
  t.is(metrics.get('driad_accounting_depth', { consumer: 'c1' }), 0);
  t.is(metrics.get('driad_accounting_oldest_age_seconds', { consumer: 'c1' }), 0);
  t.regex(readFileSync(join(dir, 'consumers', 'c1.json'), 'utf8'), /"acked":5/);
  await spool.close();
});

test('a segment that is not the spool\'s is refused with its name', async (t) => {
  const dir = tempDir();
  writeFileSync(join(dir, '00000000000000000001.seg'), 'not a spool segment at all');
  await t.throwsAsync(openSpool(dir), { message: /00000000000000000001\.seg is not a spool segment/ });
});
