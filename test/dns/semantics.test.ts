// Authoritative semantics beyond exact names: wildcards (RFC 4592), zone cuts (RFC 1034 §4.3.2 step
// 3b), CNAME and DNAME chains through static and synthesized names, additional-section data, and
// OPT on every error (RFC 6891 §7). The same cases run against Knot in test/interop/knot-diff.
import test from 'ava';
import { loadZoneDirectory } from '../../src/zones/zone.ts';
import { startTestDriad } from '../helpers/driad.ts';
import { ask, decodeMessage, rcodeOf, u16, udpExchange, type Packet } from '../helpers/dns-client.ts';

const ZONES = 'test/dns/fixtures/semantics';
const SYNTH = '10.95.25.69.amt.in-addr.arpa';

let port = 0;
test.before(async (t) => {
  const d = await startTestDriad(undefined, { zones: ZONES });
  port = d.dnsPort;
  (t.context as { stop?: () => Promise<void> }).stop = () => d.stop(0);
});
test.after.always(async (t) => (t.context as { stop?: () => Promise<void> }).stop?.());

const rows = (records: Packet['answers']) => records.map((r) => `${r.name} ${r.type} ${typeof r.data === 'object' && !Buffer.isBuffer(r.data) && !Array.isArray(r.data) ? JSON.stringify(r.data) : String(r.data)}`);

test('a wildcard answers names below its closest encloser, with the query name as owner', async (t) => {
  for (const name of ['foo.wild.example', 'a.c.wild.example']) {
    const r = await ask(port, name, 'TXT');
    t.is(rcodeOf(r), 'NOERROR', name);
    t.true(r.flag_aa);
    t.deepEqual(rows(r.answers), [`${name} TXT wild text`], name);
  }
});

test('a wildcard without the type is NODATA; existing names and their children are not covered', async (t) => {
  const nodata = await ask(port, 'foo.wild.example', 'A');
  t.is(rcodeOf(nodata), 'NOERROR');
  t.is(nodata.answers.length, 0);
  t.deepEqual(nodata.authorities.map((a) => a.type), ['SOA']);
  // b.wild exists, so it is the closest encloser of a.b.wild, and there is no *.b.wild.
  const below = await ask(port, 'a.b.wild.example', 'TXT');
  t.is(rcodeOf(below), 'NXDOMAIN');
  // wild itself is an empty non-terminal: NODATA, not the wildcard's data.
  const ent = await ask(port, 'wild.example', 'TXT');
  t.is(rcodeOf(ent), 'NOERROR');
  t.is(ent.answers.length, 0);
  // The asterisk label inside a.*.mid is an ordinary label.
  t.is(rcodeOf(await ask(port, 'a.x.mid.example', 'TXT')), 'NXDOMAIN');
  t.deepEqual(rows((await ask(port, 'a.*.mid.example', 'TXT')).answers), ['a.*.mid.example TXT not a wildcard']);
});

test('at and below a zone cut: a referral with the NS RRset and in-bailiwick glue, not authoritative', async (t) => {
  for (const [name, type] of [
    ['sub.example', 'NS'],
    ['sub.example', 'A'],
    ['x.sub.example', 'A'],
    ['ns.sub.example', 'A'],
    ['deep.sub.example', 'TXT'],
    ['x.sub.example', 'DS'],
  ] as const) {
    const r = await ask(port, name, type);
    t.is(rcodeOf(r), 'NOERROR', `${name} ${type}`);
    t.false(r.flag_aa, `${name} ${type}`);
    t.is(r.answers.length, 0, `${name} ${type}`);
    t.deepEqual(rows(r.authorities).sort(), ['sub.example NS ns.other.net', 'sub.example NS ns.sub.example'], `${name} ${type}`);
    t.deepEqual(rows(r.additionals), ['ns.sub.example A 192.0.2.53'], `${name} ${type}`);
  }
});

test('DS at the cut is the parent side\'s data: answered authoritatively', async (t) => {
  const r = await ask(port, 'sub.example', 'DS');
  t.true(r.flag_aa);
  t.deepEqual(r.answers.map((a) => [a.type, a.data.keyTag]), [['DS', 12345]]);
});

test('a delegation inside a DRIAD tree hands those sources to another server; synthesis answers beside it', async (t) => {
  const delegated = await ask(port, '1.1.26.69.amt.in-addr.arpa', 'A');
  t.false(delegated.flag_aa);
  t.deepEqual(rows(delegated.authorities), ['26.69.amt.in-addr.arpa NS ns.site2.example']);
  const beside = await ask(port, '1.1.27.69.amt.in-addr.arpa', 'A');
  t.true(beside.flag_aa);
  t.deepEqual(rows(beside.answers), ['1.1.27.69.amt.in-addr.arpa A 69.25.95.1']);
});

test('zone-file wildcards never cover DRIAD names: synthesis makes them exist', async (t) => {
  const synthesized = await ask(port, SYNTH, 'TXT');
  t.is(rcodeOf(synthesized), 'NOERROR');
  t.is(synthesized.answers.length, 0);
  const prefix = await ask(port, '25.69.amt.in-addr.arpa', 'TXT');
  t.is(prefix.answers.length, 0);
  const other = await ask(port, 'foo.amt.in-addr.arpa', 'TXT');
  t.deepEqual(rows(other.answers), ['foo.amt.in-addr.arpa TXT not a DRIAD name']);
  // Below a complete address nothing exists, so the wildcard of its closest encloser would apply: there is none.
  t.is(rcodeOf(await ask(port, `x.${SYNTH}`, 'TXT')), 'NXDOMAIN');
});

test('a CNAME into a synthesized DRIAD name brings the synthesized records, for A and AMTRELAY', async (t) => {
  const a = await ask(port, 'alias.example', 'A');
  t.true(a.flag_aa);
  t.deepEqual(rows(a.answers), [`alias.example CNAME ${SYNTH}`, `${SYNTH} A 69.25.95.1`]);
  const amt = await ask(port, 'chain.example', 'AMTRELAY');
  t.deepEqual(
    amt.answers.map((r) => [r.name, r.type]),
    [
      ['chain.example', 'CNAME'],
      ['alias.example', 'CNAME'],
      [SYNTH, 'AMTRELAY'],
      [SYNTH, 'AMTRELAY'],
    ],
  );
});

test('chains stop at a loop, at the edge of our zones, and end in the last name\'s rcode', async (t) => {
  const loop = await ask(port, 'loop1.example', 'A');
  t.is(rcodeOf(loop), 'NOERROR');
  t.deepEqual(rows(loop.answers), ['loop1.example CNAME loop2.example', 'loop2.example CNAME loop1.example']);
  const out = await ask(port, 'out.example', 'A');
  t.deepEqual(rows(out.answers), ['out.example CNAME www.elsewhere.net']);
  t.is(out.authorities.length, 0);
  const dangling = await ask(port, 'dangling.example', 'A');
  t.is(rcodeOf(dangling), 'NXDOMAIN'); // RFC 6604
  t.deepEqual(rows(dangling.answers), ['dangling.example CNAME nothing.example']);
  t.deepEqual(dangling.authorities.map((r) => [r.name, r.type]), [['example', 'SOA']]);
  const tosub = await ask(port, 'tosub.example', 'A');
  t.deepEqual(rows(tosub.answers), ['tosub.example CNAME x.sub.example']);
  t.deepEqual(tosub.authorities.map((r) => [r.name, r.type]), [['sub.example', 'NS'], ['sub.example', 'NS']]);
});

test('a DNAME rewrites names below it and the chain goes on from the new name', async (t) => {
  const r = await ask(port, 'foo.dn.example', 'TXT');
  t.is(rcodeOf(r), 'NOERROR');
  t.deepEqual(rows(r.answers), ['dn.example DNAME wild.example', 'foo.dn.example CNAME foo.wild.example', 'foo.wild.example TXT wild text']);
  t.is(r.answers[1]!.ttl, 300);
  const own = await ask(port, 'dn.example', 'DNAME');
  t.deepEqual(rows(own.answers), ['dn.example DNAME wild.example']);
});

test('MX and NS answers carry the addresses the zone holds for their targets', async (t) => {
  const mx = await ask(port, 'mx.example', 'MX');
  t.deepEqual(rows(mx.additionals), ['ns1.example A 192.0.2.1']);
  const ns = await ask(port, 'example', 'NS');
  t.deepEqual(rows(ns.additionals), ['ns1.example A 192.0.2.1']);
});

function header(opcode: number, qdcount: number, arcount: number): Buffer {
  return Buffer.concat([u16(0x4242), u16(opcode << 11), u16(qdcount), u16(0), u16(0), u16(arcount)]);
}
const opt = (options: Buffer = Buffer.alloc(0)) => Buffer.concat([Buffer.of(0), u16(41), u16(1232), Buffer.of(0, 0), u16(0), u16(options.length), options]);

test('every error to a query with a readable OPT carries OPT back, whatever the rcode (RFC 6891 §7)', async (t) => {
  const cookie = Buffer.concat([u16(10), u16(8), Buffer.from('0123456789abcdef', 'hex')]);
  const cases: Array<[string, Buffer, string]> = [
    ['QUERY, QDCOUNT=0', Buffer.concat([header(0, 0, 1), opt()]), 'FORMERR'],
    ['cookie probe (RFC 7873 §5.4)', Buffer.concat([header(0, 0, 1), opt(cookie)]), 'FORMERR'],
    ['NOTIFY, QDCOUNT=0', Buffer.concat([header(4, 0, 1), opt()]), 'NOTIMP'],
    ['UPDATE, QDCOUNT=0', Buffer.concat([header(5, 0, 1), opt()]), 'NOTIMP'],
    ['QDCOUNT=2', Buffer.concat([header(0, 2, 1), Buffer.from([0]), u16(1), u16(1), Buffer.from([0]), u16(1), u16(1), opt()]), 'FORMERR'],
    ['pointer in the question', Buffer.concat([header(0, 1, 1), Buffer.from([0xc0, 12]), u16(1), u16(1), opt()]), 'FORMERR'],
  ];
  for (const [what, query, rcode] of cases) {
    const r = decodeMessage(await udpExchange(port, query));
    t.is(rcodeOf(r), rcode, what);
    t.is(r.additionals.filter((a) => a.type === 'OPT').length, 1, what);
  }
});

test('zone loading warns, with file:line, about data that is not served as written', (t) => {
  const zones = loadZoneDirectory(ZONES);
  const warnings = zones.flatMap((z) => z.warnings.map((w) => `${w.file.split('/').pop()}:${w.line}: ${w.message}`));
  t.deepEqual(warnings.sort(), [
    'example.zone:10: "a.*.mid.example" has an asterisk label that is not the leftmost one: it is an ordinary name, not a wildcard (RFC 4592 §2.1.1)',
    'example.zone:15: "deep.sub.example" TXT is below the delegation at "sub.example": occluded, not served',
  ]);
});

test('a child zone served here answers below its apex; DS at its apex comes from the parent zone', async (t) => {
  const www = await ask(port, 'www.child.example', 'A');
  t.true(www.flag_aa);
  t.deepEqual(rows(www.answers), ['www.child.example A 192.0.2.80']);
  const ds = await ask(port, 'child.example', 'DS');
  t.true(ds.flag_aa);
  t.deepEqual(ds.answers.map((a) => [a.name, a.type, a.data.keyTag]), [['child.example', 'DS', 4242]]);
  const soa = await ask(port, 'child.example', 'SOA');
  t.deepEqual(soa.answers.map((a) => [a.name, a.type]), [['child.example', 'SOA']]);
});
