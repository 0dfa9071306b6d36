// Sequence Numbers (RFC 7011 §3.1, §10.3.2): they count Data Records, per (exporter, domain);
// loss, late (reordered) messages, duplicates, exporter restarts and wrap-around at 2^32.

import test from 'ava';
import { encodeDataSet, encodeMessage, encodeTemplateSet, type TemplateDef } from '../../src/ipfix/encoder.ts';
import { SequenceTracker, type SequenceCounts } from '../../src/ipfix/sequence.ts';
import { decoder, MX, ok } from './helpers.ts';

const T: TemplateDef = { id: 256, fields: [{ id: 8 }, { id: 1 }] };
const OPTS: TemplateDef = { id: 512, fields: [{ id: 144 }, { id: 34 }], scopeCount: 1 };

function totals(): SequenceCounts {
  return { lost: 0, reordered: 0, duplicate: 0, resets: 0, resyncs: 0 };
}

/** A message of `n` data records with the given Sequence Number. */
function data(sequence: number, n: number, domain = 1, exportTime = 100): Buffer {
  return encodeMessage({ exportTime, sequence, domain, sets: [encodeDataSet(T, Array.from({ length: n }, (_, i) => ['10.0.0.1', i]))] });
}

test('in-order messages lose nothing; templates do not count, options records do', (t) => {
  const d = decoder();
  ok(t, d.decode(encodeMessage({ exportTime: 100, sequence: 0, domain: 1, sets: [encodeTemplateSet([T]), encodeTemplateSet([OPTS]), encodeDataSet(OPTS, [[1, 1000]])] }), MX));
  ok(t, d.decode(data(1, 10), MX));
  ok(t, d.decode(data(11, 3), MX));
  ok(t, d.decode(encodeMessage({ exportTime: 100, sequence: 14, domain: 1, sets: [encodeTemplateSet([T])] }), MX));
  ok(t, d.decode(data(14, 1), MX));
  t.like(d.stats, { lost: 0, reordered: 0, duplicate: 0, resets: 0 });
});

test('a gap counts its records lost; the late message takes them back as reordered', (t) => {
  const d = decoder();
  ok(t, d.decode(encodeMessage({ exportTime: 100, sequence: 0, domain: 1, sets: [encodeTemplateSet([T])] }), MX));
  ok(t, d.decode(data(0, 5), MX));
  const ahead = ok(t, d.decode(data(12, 4), MX)); // 5..11 missing
  t.is(ahead.sequence.lost, 7);
  t.like(d.stats, { lost: 7, reordered: 0 });
  const late = ok(t, d.decode(data(5, 7), MX));
  t.deepEqual(late.sequence, { lost: -7, reordered: 7, duplicate: 0, reset: false });
  t.like(d.stats, { lost: 0, reordered: 7 });
  // Part of a gap, twice over: the second copy is a duplicate.
  ok(t, d.decode(data(30, 1), MX)); // 16..29 missing
  ok(t, d.decode(data(16, 4), MX));
  ok(t, d.decode(data(16, 4), MX));
  t.like(d.stats, { lost: 10, reordered: 11, duplicate: 4 });
});

test('each observation domain has its own sequence', (t) => {
  const d = decoder();
  for (const domain of [1, 2]) ok(t, d.decode(encodeMessage({ exportTime: 100, sequence: 0, domain, sets: [encodeTemplateSet([T])] }), MX));
  ok(t, d.decode(data(0, 5, 1), MX));
  ok(t, d.decode(data(0, 2, 2), MX));
  ok(t, d.decode(data(5, 1, 1), MX));
  ok(t, d.decode(data(2, 1, 2), MX));
  t.is(d.stats.lost, 0);
});

test('an exporter restart (sequence back to 0, later export time) is a reset, not loss or duplicates', (t) => {
  const d = decoder();
  ok(t, d.decode(encodeMessage({ exportTime: 100, sequence: 0, domain: 1, sets: [encodeTemplateSet([T])] }), MX));
  ok(t, d.decode(data(0, 50, 1, 100), MX));
  ok(t, d.decode(data(50, 50, 1, 101), MX));
  const restarted = ok(t, d.decode(data(0, 10, 1, 130), MX));
  t.true(restarted.sequence.reset);
  ok(t, d.decode(data(10, 10, 1, 131), MX));
  t.like(d.stats, { lost: 0, duplicate: 0, resets: 1 });
  // A replay of an old message (its old export time) is a duplicate instead.
  ok(t, d.decode(data(0, 10, 1, 130), MX));
  t.like(d.stats, { duplicate: 10, resets: 1 });
});

test('sequence numbers wrap at 2^32', (t) => {
  const s = new SequenceTracker();
  const c = totals();
  s.observe(0xfffffff0, 16, 1, c);
  t.is(s.expected, 0);
  s.observe(0, 4, 1, c);
  s.observe(10, 1, 1, c); // 4..9 lost across nothing
  t.like(c, { lost: 6 });
  s.observe(0xfffffff0, 16, 1, c); // seen before: a duplicate, not a restart (same export time)
  t.like(c, { duplicate: 16, resets: 0 });
  s.observe(4, 6, 1, c);
  t.like(c, { lost: 0, reordered: 6 });
});

test('a jump beyond the reset gap is a restart; a message of unknown size resynchronises', (t) => {
  const s = new SequenceTracker(1000);
  const c = totals();
  s.observe(0, 10, 1, c);
  s.observe(5000, 10, 1, c);
  t.like(c, { lost: 0, resets: 1 });
  s.observe(5010, null, 1, c); // held data: its record count is not known yet
  s.observe(5030, null, 1, c);
  s.observe(5100, 5, 1, c); // not counted lost: the held messages may have had 90 records
  t.like(c, { lost: 0, resyncs: 1 });
  s.observe(5106, 1, 1, c);
  t.like(c, { lost: 1 });
});

test('a message from before the first one tracked is late, not lost or a duplicate', (t) => {
  const s = new SequenceTracker();
  const c = totals();
  s.observe(10, null, 5, c); // data first, held: its size is unknown
  s.observe(0, 10, 5, c); // the message before it, overtaken on the way
  s.observe(20, 3, 5, c);
  t.like(c, { lost: 0, reordered: 10, duplicate: 0, resets: 0, resyncs: 1 });
});

test('the decoder resynchronises after a message whose sets it had to hold', (t) => {
  const d = decoder();
  ok(t, d.decode(data(0, 5), MX)); // no template yet: held
  ok(t, d.decode(encodeMessage({ exportTime: 100, sequence: 5, domain: 1, sets: [encodeTemplateSet([T]), encodeDataSet(T, [['10.0.0.1', 1]])] }), MX));
  ok(t, d.decode(data(6, 1), MX));
  t.like(d.stats, { lost: 0, resyncs: 1, pendingReleased: 1 });
});
