import test from 'ava';
import { parseQuery } from '../../src/dns/wire/query.ts';
import { buildQuery, u16 } from '../helpers/dns-client.ts';

function header(fields: { id?: number; flags?: number; qd?: number; an?: number; ns?: number; ar?: number }): Buffer {
  return Buffer.concat([u16(fields.id ?? 7), u16(fields.flags ?? 0), u16(fields.qd ?? 1), u16(fields.an ?? 0), u16(fields.ns ?? 0), u16(fields.ar ?? 0)]);
}

const question = Buffer.concat([Buffer.from([3, ...Buffer.from('Foo'), 3, ...Buffer.from('ARPA'.slice(0, 3)), 0]), u16(1), u16(1)]);

test('reads the question lowercased, with QTYPE, QCLASS and offsets', (t) => {
  const r = parseQuery(Buffer.concat([header({}), question]));
  if (!r.ok) return t.fail(r.reason);
  t.is(r.query.qname, 'foo.arp');
  t.is(r.query.qtype, 1);
  t.is(r.query.qclass, 1);
  t.is(r.query.questionEnd, 12 + question.length);
  t.is(r.query.edns, null);
});

test('reads EDNS: UDP size, version and DO bit', (t) => {
  const r = parseQuery(buildQuery('10.95.25.69.amt.in-addr.arpa', 'A', { udpSize: 4096, dnssecOk: true, ednsVersion: 1 }));
  if (!r.ok) return t.fail(r.reason);
  t.deepEqual({ ...r.query.edns, options: r.query.edns?.options.length }, { udpSize: 4096, version: 1, dnssecOk: true, options: 0 });
});

test('drops messages shorter than a header and responses', (t) => {
  t.like(parseQuery(Buffer.alloc(5)), { ok: false, drop: true });
  t.like(parseQuery(Buffer.concat([header({ flags: 0x8000 }), question])), { ok: false, drop: true });
});

test('FORMERR for QDCOUNT other than 1', (t) => {
  t.like(parseQuery(header({ qd: 0 })), { ok: false, drop: false, rcode: 1 });
  t.like(parseQuery(Buffer.concat([header({ qd: 2 }), question, question])), { ok: false, drop: false, rcode: 1 });
});

test('NOTIMP for opcodes other than QUERY, echoing the question', (t) => {
  const r = parseQuery(Buffer.concat([header({ flags: 4 << 11 }), question]));
  t.like(r, { ok: false, drop: false, rcode: 4 });
  if (!r.ok && !r.drop) t.is(r.query.questionEnd, 12 + question.length);
});

test('FORMERR for a compression pointer in the question, even one pointing at itself', (t) => {
  const loop = Buffer.concat([header({}), Buffer.from([0xc0, 12]), u16(1), u16(1)]);
  t.like(parseQuery(loop), { ok: false, drop: false, rcode: 1, reason: 'compression pointer in the question name' });
});

test('FORMERR for truncated names, labels and missing QTYPE', (t) => {
  t.like(parseQuery(Buffer.concat([header({}), Buffer.from([5, 0x61])])), { ok: false, rcode: 1 });
  t.like(parseQuery(Buffer.concat([header({}), Buffer.from([1, 0x61, 0])])), { ok: false, rcode: 1 });
  t.like(parseQuery(Buffer.concat([header({}), Buffer.from([0x41, 0x61, 0])])), { ok: false, rcode: 1 });
});

test('FORMERR for names longer than 255 bytes', (t) => {
  const label = Buffer.concat([Buffer.from([63]), Buffer.alloc(63, 0x61)]);
  const long = Buffer.concat([header({}), label, label, label, label, Buffer.from([0]), u16(1), u16(1)]);
  t.like(parseQuery(long), { ok: false, rcode: 1, reason: 'question name longer than 255 bytes' });
});

test('FORMERR for two OPT records, a non-root OPT owner, or options overrunning', (t) => {
  const opt = Buffer.concat([Buffer.from([0]), u16(41), u16(1232), Buffer.alloc(4), u16(0)]);
  t.like(parseQuery(Buffer.concat([header({ ar: 2 }), question, opt, opt])), { ok: false, rcode: 1, reason: 'more than one OPT record' });
  const named = Buffer.concat([Buffer.from([1, 0x61, 0]), u16(41), u16(1232), Buffer.alloc(4), u16(0)]);
  t.like(parseQuery(Buffer.concat([header({ ar: 1 }), question, named])), { ok: false, rcode: 1 });
  const badOption = Buffer.concat([Buffer.from([0]), u16(41), u16(1232), Buffer.alloc(4), u16(4), u16(8), u16(9)]);
  t.like(parseQuery(Buffer.concat([header({ ar: 1 }), question, badOption])), { ok: false, rcode: 1 });
});

test('FORMERR when counted records are missing', (t) => {
  t.like(parseQuery(Buffer.concat([header({ an: 1 }), question])), { ok: false, rcode: 1 });
  t.like(parseQuery(Buffer.concat([header({ ar: 3 }), question])), { ok: false, rcode: 1 });
});

test('a dot or backslash inside a label stays distinct from a label boundary', (t) => {
  const msg = Buffer.concat([header({}), Buffer.from([3, 0x61, 0x2e, 0x62, 4, ...Buffer.from('arpa'), 0]), u16(1), u16(1)]);
  const r = parseQuery(msg);
  if (!r.ok) return t.fail(r.reason);
  t.is(r.query.qname, 'a\\.b.arpa');
});
