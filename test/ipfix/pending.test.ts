// Data that arrives before its template (RFC 7011 §9.3) is held for a bounded time and size,
// decoded when the template comes, and counted as dropped otherwise.

import test from 'ava';
import { encodeDataSet, encodeMessage, encodeTemplateSet, type TemplateDef } from '../../src/ipfix/encoder.ts';
import { decoder, manualClock, MX, ok, present, recordsOf } from './helpers.ts';

const T: TemplateDef = { id: 256, fields: [{ id: 8 }, { id: 1 }] };
const T2: TemplateDef = { id: 257, fields: [{ id: 12 }, { id: 2 }] };

function data(def: TemplateDef, values: unknown[][], exportTime = 100, domain = 1): Buffer {
  return encodeMessage({ exportTime, sequence: 0, domain, sets: [encodeDataSet(def, values as never)] });
}
function templates(...defs: TemplateDef[]): Buffer {
  return encodeMessage({ exportTime: 101, sequence: 0, domain: 1, sets: [encodeTemplateSet(defs)] });
}

test('data held before its template is decoded when the template arrives, marked late, in order', (t) => {
  const d = decoder();
  const first = ok(t, d.decode(data(T, [['10.0.0.1', 1]], 99), MX));
  t.deepEqual(first.sets, []);
  ok(t, d.decode(data(T, [['10.0.0.2', 2], ['10.0.0.3', 3]], 100), MX));
  t.deepEqual(d.status(), { exporters: 1, templates: 0, pendingSets: 2, pendingBytes: 12 + 24 });
  const r = ok(t, d.decode(templates(T), MX));
  t.deepEqual(
    r.sets.map((s) => [s.late, s.exportTime, s.records.map(present)]),
    [
      [true, 99, [{ sourceIPv4Address: '10.0.0.1', octetDeltaCount: 1 }]],
      [true, 100, [{ sourceIPv4Address: '10.0.0.2', octetDeltaCount: 2 }, { sourceIPv4Address: '10.0.0.3', octetDeltaCount: 3 }]],
    ],
  );
  t.like(d.stats, { pendingHeld: 2, pendingReleased: 2, pendingDropped: 0, dataRecords: 3 });
  t.is(d.status().pendingSets, 0);
});

test('held data is only released to its own template, exporter and domain', (t) => {
  const d = decoder();
  ok(t, d.decode(data(T, [['10.0.0.1', 1]]), MX));
  ok(t, d.decode(data(T, [['10.0.0.9', 9]], 100, 2), MX));
  const r = ok(t, d.decode(templates(T2), MX));
  t.deepEqual(r.sets, []);
  const other = ok(t, d.decode(templates(T), { address: '192.0.2.2', port: MX.port }));
  t.deepEqual(other.sets, []);
  const mine = ok(t, d.decode(templates(T), MX));
  t.deepEqual(recordsOf(mine).map((x) => x.sourceIPv4Address), ['10.0.0.1']);
  t.is(d.status().pendingSets, 1, 'domain 2 still waits');
});

test('held data past its age is dropped and counted, never decoded', (t) => {
  const clock = manualClock();
  const d = decoder({ pending: { maxAgeMs: 5000 }, now: clock.now });
  ok(t, d.decode(data(T, [['10.0.0.1', 1]]), MX));
  clock.advance(3000);
  ok(t, d.decode(data(T, [['10.0.0.2', 2]]), MX));
  clock.advance(2500);
  const r = ok(t, d.decode(templates(T), MX));
  t.deepEqual(recordsOf(r).map((x) => x.sourceIPv4Address), ['10.0.0.2']);
  t.like(d.stats, { pendingDropped: 1, pendingReleased: 1 });
  // Without any template arriving, the sweep drops it.
  ok(t, d.decode(data(T2, [['10.0.0.3', 3]]), MX));
  clock.advance(5001);
  d.expire();
  t.like(d.stats, { pendingDropped: 2 });
  t.is(d.status().pendingBytes, 0);
});

test('held data is bounded by bytes and by sets: the oldest goes first', (t) => {
  const d = decoder({ pending: { maxBytes: 100, maxSets: 3 } });
  for (let i = 0; i < 5; i++) ok(t, d.decode(data(T, [[`10.0.0.${i}`, i]]), MX)); // 12 octets each
  t.is(d.status().pendingSets, 3);
  t.is(d.stats.pendingDropped, 2);
  const big = Array.from({ length: 8 }, (_, i) => [`10.0.1.${i}`, i]); // 96 octets
  ok(t, d.decode(data(T, big), MX));
  t.true(d.status().pendingBytes <= 100);
  t.deepEqual(d.status(), { exporters: 1, templates: 0, pendingSets: 1, pendingBytes: 96 });
  const huge = Array.from({ length: 9 }, (_, i) => [`10.0.2.${i}`, i]); // 108 octets: never fits
  ok(t, d.decode(data(T, huge), MX));
  t.is(d.status().pendingBytes, 96);
  const r = ok(t, d.decode(templates(T), MX));
  t.is(r.records, 0);
  t.is(recordsOf(r).length, 8);
  t.like(d.stats, { pendingDropped: 6, pendingDroppedBytes: 4 * 12 + 12 + 108 });
});

test('holding can be switched off', (t) => {
  const d = decoder({ pending: { maxBytes: 0 } });
  ok(t, d.decode(data(T, [['10.0.0.1', 1]]), MX));
  t.like(d.stats, { pendingHeld: 0, pendingDropped: 1 });
});

test('held data that does not fit the template that arrives is dropped and reported', (t) => {
  const d = decoder();
  const v: TemplateDef = { id: 256, fields: [{ id: 82 }] };
  // Held before any template: a string that claims 10 octets where the set has 1.
  const held = Buffer.from([1, 0, 0, 6, 10, 0x61]);
  ok(t, d.decode(encodeMessage({ exportTime: 1, sequence: 0, domain: 1, sets: [held] }), MX));
  const r = ok(t, d.decode(encodeMessage({ exportTime: 1, sequence: 1, domain: 1, sets: [encodeTemplateSet([v])] }), MX));
  t.deepEqual(r.issues.map((i) => i.kind), ['pending-malformed']);
  t.like(d.stats, { pendingDropped: 1, pendingReleased: 0 });
});

test('closing a session drops what it had waiting', (t) => {
  const d = decoder({ transport: 'tcp' });
  ok(t, d.decode(data(T, [['10.0.0.1', 1]]), MX));
  d.closeSession(MX);
  t.like(d.stats, { pendingDropped: 1 });
  t.is(d.status().pendingSets, 0);
});
