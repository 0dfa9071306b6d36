// The comparator of knot-diff.test.ts on responses made up here: what it reads from a message,
// and that each allowed difference forgives only what it names (a wrong answer still differs).

import test from 'ava';
import { isDeepStrictEqual } from 'node:util';
import { encode } from '../../src/dns/packet.ts';
import { ALLOWED, expectedView, rawQuery, view, type QuerySpec, type RuleContext, type View } from '../helpers/dns-diff.ts';

function response(fields: Record<string, unknown>): Buffer {
  return encode({ type: 'response', id: 7, flags: 0x8400, questions: [{ name: 'www.diff.test', type: 'A', class: 'IN' }], ...fields } as never);
}

const ctx = (query: QuerySpec, reference: Record<string, View> = {}): RuleContext => ({
  query,
  askReference: async (q) => reference[`${q.questions![0]![0]} ${q.questions![0]![1]}`] ?? { answered: false },
  zoneOf: (name) => (/(^|\.)diff\.test\.?$/i.test(name) ? 'diff.test' : /(^|\.)example\.?$/i.test(name) ? 'example' : null),
});

test('view: extended rcode from OPT, flags, counts, names without case, sections as sets', (t) => {
  const v = view(
    response({
      flags: 0x8000 | 0x0100,
      answers: [
        { name: 'WWW.diff.test', type: 'TXT', ttl: 60, data: ['b'] },
        { name: 'www.diff.test', type: 'TXT', ttl: 60, data: ['a'] },
      ],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 1, ednsVersion: 0, flags: 0x8000, options: [] }],
    }),
  );
  t.is(v.rcode, 'BADVERS');
  t.deepEqual(v.flags, ['qr', 'rd']);
  t.deepEqual(v.counts, { qd: 1, an: 2, ns: 0, ar: 1 });
  t.deepEqual(v.answer, ['www.diff.test. 60 IN TXT "a"', 'www.diff.test. 60 IN TXT "b"']);
  t.deepEqual(v.opt, { udpSize: 1232, version: 0, dnssecOk: true, options: [] });
  t.deepEqual(v.additional, []);
  t.deepEqual(view(null), { answered: false });
});

test('rawQuery writes exactly the header, question and OPT asked for', (t) => {
  const msg = rawQuery({ id: 0x1234, opcode: 5, rd: true, cd: true, questions: [['a.b', 'AMTRELAY', 'CH']], opt: { udpSize: 512, version: 1, dnssecOk: true } });
  t.is(msg.toString('hex'), '1234' + '2910' + '0001000000000001' + '0161016200' + '0104' + '0003' + '00' + '0029' + '0200' + '00018000' + '0000');
  t.is(rawQuery({ qdcount: 1 }).readUInt16BE(4), 1);
});

const www = (rrs: string[]): View => ({
  answered: true, id: 7, opcode: 0, rcode: 'NOERROR', flags: ['qr', 'aa'], counts: { qd: 1, an: rrs.length, ns: 0, ar: 0 },
  question: ['www.diff.test. IN ANY'], opt: null, answer: rrs, authority: [], additional: [],
});
const A = 'www.diff.test. 60 IN A 192.0.2.80';
const TXT = 'www.diff.test. 60 IN TXT "www"';

test('any-subset: more RRsets are fine when each is the reference answer for its type; a wrong one is not', async (t) => {
  const q: QuerySpec = { questions: [['www.diff.test', 'ANY', 'IN']] };
  const refs = { 'www.diff.test A': www([A]), 'www.diff.test TXT': www([TXT]) };
  const tested = www([A, TXT]);
  t.deepEqual(await expectedView(www([A]), tested, ['any-subset'], ctx(q, refs)), tested);
  const wrong = www([A, 'www.diff.test. 60 IN TXT "other"']);
  t.false(isDeepStrictEqual(await expectedView(www([A]), wrong, ['any-subset'], ctx(q, refs)), wrong));
  t.false(isDeepStrictEqual(await expectedView(www([A]), www([]), ['any-subset'], ctx(q, refs)), www([])));
});

test('cname-beyond-zone: the chain must go on with the reference answer for the target', async (t) => {
  const q: QuerySpec = { questions: [['alias.diff.test', 'A', 'IN']] };
  const cname = 'alias.diff.test. 60 IN CNAME host1.example.';
  const target = 'host1.example. 60 IN A 192.0.2.1';
  const refs = { 'host1.example A': www([target]) };
  const expected = await expectedView(www([cname]), www([cname]), ['cname-beyond-zone'], ctx(q, refs));
  t.deepEqual(expected.answer, [target, cname].sort());
  t.is(expected.counts!.an, 2);
  // A chain inside one zone is compared as is.
  const inZone = www(['alias.diff.test. 60 IN CNAME www.diff.test.']);
  t.deepEqual(await ALLOWED['cname-beyond-zone'](inZone, inZone, ctx(q, refs)), inZone);
});

test('formerr-instead-of-silence: silence from both is still a difference', async (t) => {
  const q: QuerySpec = { questions: [['a', 'A'], ['b', 'A']], opt: { udpSize: 1232 } };
  const expected = await expectedView({ answered: false }, { answered: false }, ['formerr-instead-of-silence'], ctx(q));
  t.is(expected.rcode, 'FORMERR');
  t.deepEqual(expected.opt, { udpSize: 1232, version: 0, dnssecOk: false, options: [] });
});

test('extended-dns-error: leaving it out is fine, sending another is not', async (t) => {
  const refused = (options: string[]): View => ({ ...www([]), rcode: 'REFUSED', flags: ['qr'], opt: { udpSize: 1232, version: 0, dnssecOk: false, options } });
  const q: QuerySpec = { questions: [['example.com', 'A']] };
  t.deepEqual(await expectedView(refused(['15:0014']), refused([]), ['extended-dns-error'], ctx(q)), refused([]));
  t.deepEqual(await expectedView(refused(['15:0014']), refused(['15:0005']), ['extended-dns-error'], ctx(q)), refused(['15:0014']));
});

test('cd-copied: CD is required when the query set it', async (t) => {
  const q: QuerySpec = { cd: true, questions: [['www.diff.test', 'A']] };
  t.deepEqual((await expectedView(www([A]), www([A]), ['cd-copied'], ctx(q))).flags, ['qr', 'aa', 'cd']);
});
