import test from 'ava';
import { loadZoneDirectory, loadZoneFile, Zone, ZoneFileError, type ZoneRecord } from '../../src/zones/zone.ts';
import { APEX, writeTree, writeZone } from './helpers.ts';

const OVERRIDE = '10.100.51.198.amt.in-addr.arpa';

test('the shipped IPv4 zone: apex data and the static override example', (t) => {
  const zone = loadZoneFile('zones/amt.in-addr.arpa.zone');
  t.is(zone.origin, 'amt.in-addr.arpa');
  t.like(zone.soa, { name: 'amt.in-addr.arpa', type: 'SOA', ttl: 300, file: 'zones/amt.in-addr.arpa.zone' });
  t.like(zone.soa.data as object, { mname: 'ns1.driad.example', rname: 'hostmaster.driad.example', minimum: 300 });
  t.deepEqual(zone.get('amt.in-addr.arpa')?.get('NS')?.map((r) => r.data), ['ns1.driad.example', 'ns2.driad.example']);

  const override = zone.get(OVERRIDE);
  t.deepEqual([...override!.keys()].sort(), ['AMTRELAY', 'TXT']);
  t.deepEqual(override!.get('AMTRELAY')!.map((r) => r.data), [
    { precedence: 128, discoveryOptional: false, relayType: 3, relay: 'relays.example.net' },
  ]);
  t.deepEqual(override!.get('TXT')!.map((r) => r.data), [[Buffer.from('static override example')]]);
});

test('the shipped IPv6 zone has only its apex', (t) => {
  const zone = loadZoneFile('zones/amt.ip6.arpa.zone');
  t.is(zone.origin, 'amt.ip6.arpa');
  t.deepEqual([...zone.records()].map((r) => r.type), ['SOA', 'NS', 'NS']);
});

test('lookups: exact names, any case or trailing dot; empty non-terminals exist', (t) => {
  const zone = loadZoneFile('zones/amt.in-addr.arpa.zone');
  t.truthy(zone.get('10.100.51.198.AMT.in-addr.arpa.'));
  t.is(zone.get('100.51.198.amt.in-addr.arpa'), undefined);
  for (const name of ['amt.in-addr.arpa', '198.amt.in-addr.arpa', '51.198.amt.in-addr.arpa', '100.51.198.amt.in-addr.arpa', OVERRIDE, 'AMT.IN-ADDR.ARPA.']) {
    t.true(zone.nameExists(name), name);
  }
  for (const name of ['11.100.51.198.amt.in-addr.arpa', 'x.10.100.51.198.amt.in-addr.arpa', 'in-addr.arpa', 'example', 'a..b']) {
    t.false(zone.nameExists(name), name);
  }
  t.is(zone.get('a..b'), undefined);
});

test('records() yields every record once', (t) => {
  const zone = loadZoneFile('zones/amt.in-addr.arpa.zone');
  const records = [...zone.records()];
  t.is(records.length, 5);
  t.deepEqual(records.map((r) => `${r.name} ${r.type}`).sort(), [
    `${OVERRIDE} AMTRELAY`,
    `${OVERRIDE} TXT`,
    'amt.in-addr.arpa NS',
    'amt.in-addr.arpa NS',
    'amt.in-addr.arpa SOA',
  ]);
});

test('the origin comes from the SOA owner, or from the file name', (t) => {
  const fromOrigin = writeZone(APEX, 'whatever.zone');
  t.is(loadZoneFile(fromOrigin).origin, 'example');
  const fromFileName = writeZone('$TTL 60\n@ SOA ns1 hostmaster 1 2 3 4 5\n  NS ns1\nns1 A 192.0.2.1\n', 'Relays.Example.zone');
  const zone = loadZoneFile(fromFileName);
  t.is(zone.origin, 'relays.example');
  t.truthy(zone.get('ns1.relays.example'));
});

test('identical records are kept once; an RRset takes the TTL of its first record', (t) => {
  const zone = loadZoneFile(writeZone(APEX + 'x 60 A 192.0.2.7\nx 30 A 192.0.2.7\nx 30 A 192.0.2.8\n'));
  t.deepEqual(zone.get('x.example')!.get('A')!.map((r) => [r.data, r.ttl]), [['192.0.2.7', 60], ['192.0.2.8', 60]]);
});

const rec = (name: string, type: string, data: unknown, line: number): ZoneRecord => ({ name, ttl: 60, class: 'IN', type, data, file: 'mem.zone', line });
const SOA = rec('example', 'SOA', { mname: 'ns1.example', rname: 'h.example', serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 }, 1);
const NS = rec('example', 'NS', 'ns1.example', 2);

test('fromRecords builds a zone from records made in memory', (t) => {
  const zone = Zone.fromRecords('Example.', [SOA, NS, rec('a.b.example', 'TXT', ['x'], 3)]);
  t.is(zone.origin, 'example');
  t.is(zone.soa, SOA);
  t.true(zone.nameExists('b.example'));
});

const INVALID: Array<[string, ZoneRecord[], string]> = [
  ['no SOA', [NS], 'mem.zone:2: zone "example" has no SOA record'],
  ['SOA below the apex', [{ ...SOA, name: 'x.example', line: 7 }, SOA, NS], 'mem.zone:7: SOA record must be at the zone apex "example", not "x.example"'],
  ['two SOA records', [SOA, NS, { ...SOA, data: { ...(SOA.data as object), serial: 2 }, line: 9 }], 'mem.zone:9: second SOA record (the first is at mem.zone:1)'],
  ['no NS at the apex', [SOA, rec('x.example', 'NS', 'ns1.example', 3)], 'mem.zone:1: zone "example" has no NS records at the apex'],
  ['record outside the origin', [SOA, NS, rec('x.example.org', 'A', '192.0.2.1', 4)], 'mem.zone:4: record "x.example.org" is outside the zone origin "example"'],
  ['name that only ends like the origin', [SOA, NS, rec('xexample', 'A', '192.0.2.1', 4)], 'mem.zone:4: record "xexample" is outside the zone origin "example"'],
  ['escaped dot is not a label boundary', [SOA, NS, rec('x\\.example', 'A', '192.0.2.1', 4)], 'mem.zone:4: record "x\\.example" is outside the zone origin "example"'],
  ['CNAME after other data', [SOA, NS, rec('w.example', 'A', '192.0.2.1', 5), rec('w.example', 'CNAME', 'x.example', 6)], 'mem.zone:6: CNAME and other data at "w.example"'],
  ['other data after a CNAME', [SOA, NS, rec('w.example', 'CNAME', 'x.example', 5), rec('w.example', 'TXT', ['t'], 6)], 'mem.zone:6: CNAME and other data at "w.example"'],
  ['two CNAMEs', [SOA, NS, rec('w.example', 'CNAME', 'x.example', 5), rec('w.example', 'CNAME', 'y.example', 6)], 'mem.zone:6: more than one CNAME at "w.example"'],
  ['CNAME at the apex', [SOA, NS, rec('example', 'CNAME', 'x.example', 5)], 'mem.zone:5: CNAME and other data at "example"'],
  ['data that cannot be encoded', [SOA, NS, rec('a.example', 'A', 'nope', 5)], 'mem.zone:5: bad A data: bad IPv4 address "nope"'],
];

for (const [title, records, message] of INVALID) {
  test(`fromRecords refuses: ${title}`, (t) => {
    const err = t.throws(() => Zone.fromRecords('example', records), { instanceOf: ZoneFileError });
    t.is(err?.message, message);
  });
}

test('zone file errors carry the file and line of the offending record', (t) => {
  const missingSoa = writeZone('$ORIGIN example.\n$TTL 1\n\n@ NS ns1\n');
  t.throws(() => loadZoneFile(missingSoa), { message: `${missingSoa}:4: zone "example" has no SOA record` });
  const outside = writeZone(APEX + '\nwww.example.org. A 192.0.2.1\n');
  t.throws(() => loadZoneFile(outside), { message: `${outside}:7: record "www.example.org" is outside the zone origin "example"` });
});

test('loadZoneDirectory loads every *.zone file, not *.inc fragments', (t) => {
  const dir = writeTree({
    'a.zone': APEX + '$INCLUDE fragment.inc\n',
    'fragment.inc': 'frag A 192.0.2.9\n',
    'b.example.zone': '$TTL 1\n@ SOA ns1 h 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n',
    'notes.txt': 'not a zone',
  });
  const zones = loadZoneDirectory(dir);
  t.deepEqual(zones.map((z) => z.origin), ['example', 'b.example']);
  t.truthy(zones[0]!.get('frag.example'));
});

test('loadZoneDirectory refuses two files for the same origin', (t) => {
  const dir = writeTree({ 'a.zone': APEX, 'b.zone': APEX });
  t.throws(() => loadZoneDirectory(dir), { message: `${dir}/b.zone:3: zone "example" is already loaded from ${dir}/a.zone` });
});

test('loadZoneDirectory loads the shipped zones', (t) => {
  t.deepEqual(loadZoneDirectory('zones').map((z) => z.origin), ['amt.in-addr.arpa', 'amt.ip6.arpa']);
});
