import test from 'ava';
import { parseMasterFile, ZoneFileError, type ZoneRecord } from '../../src/zones/masterfile.ts';
import { APEX, writeTree, writeZone } from './helpers.ts';

const FEATURES = 'test/zones/fixtures/features/features.zone';
const RELAYS = 'test/zones/fixtures/features/relays.inc';
const MORE = 'test/zones/fixtures/features/more.inc';

const txt = (...strings: string[]) => strings.map((s) => Buffer.from(s, 'latin1'));

test('reads every supported directive, syntax and type', (t) => {
  const records = parseMasterFile(FEATURES);
  const rows = records.map((r: ZoneRecord) => [r.file, r.line, r.name, r.ttl, r.class, r.type, r.data]);
  const F = FEATURES;
  t.deepEqual(rows, [
    // $TTL 1h30m, $ORIGIN written in mixed case, parentheses spanning lines, TTL units
    [F, 5, 'example.net', 5400, 'IN', 'SOA', { mname: 'ns1.Example.NET', rname: 'hostmaster.example.net', serial: 2024010101, refresh: 7200, retry: 1800, expire: 1209600, minimum: 300 }],
    // blank owner = previous owner, class without TTL, neither
    [F, 11, 'example.net', 5400, 'IN', 'NS', 'ns1.Example.NET'],
    [F, 12, 'example.net', 5400, 'IN', 'NS', 'ns2.example.net'],
    [F, 13, 'ns1.example.net', 5400, 'IN', 'A', '192.0.2.53'],
    // TTL then class, class then TTL; AAAA stored canonically
    [F, 14, 'ns2.example.net', 3600, 'IN', 'A', '192.0.2.54'],
    [F, 15, 'ns2.example.net', 60, 'IN', 'AAAA', '2001:db8::53'],
    [F, 16, 'www.example.net', 5400, 'IN', 'CNAME', 'Example.NET'],
    // quoted strings with \" and ; inside, unquoted strings, \DDD escapes, empty string
    [F, 17, 'txt.example.net', 5400, 'IN', 'TXT', txt('a "quoted" string; not a comment', 'unquoted', 'ABC', '')],
    [F, 18, 'txt.example.net', 5400, 'IN', 'TXT', txt('first', 'second')],
    [F, 20, 'mail.example.net', 5400, 'IN', 'MX', { preference: 10, exchange: 'mail.example.net' }],
    [F, 21, 'mail.example.net', 5400, 'IN', 'A', '192.0.2.25'],
    [F, 22, '_amt._udp.example.net', 5400, 'IN', 'SRV', { priority: 0, weight: 5, port: 2268, target: 'relay1.Example.NET' }],
    [F, 23, 'caa.example.net', 5400, 'IN', 'CAA', { flags: 0, tag: 'issue', value: 'ca.example.net', issuerCritical: false }],
    [F, 24, 'ptr.example.net', 5400, 'IN', 'PTR', 'host.example.org'],
    [F, 25, 'relay1.example.net', 5400, 'IN', 'A', '192.0.2.10'],
    [F, 26, 'relay1.example.net', 5400, 'IN', 'AMTRELAY', { precedence: 10, discoveryOptional: false, relayType: 1, relay: '203.0.113.15' }],
    [F, 27, 'relay1.example.net', 5400, 'IN', 'AMTRELAY', { precedence: 20, discoveryOptional: true, relayType: 2, relay: '2001:db8::15' }],
    [F, 28, 'relay1.example.net', 5400, 'IN', 'AMTRELAY', { precedence: 30, discoveryOptional: false, relayType: 3, relay: 'relays.Example.NET' }],
    [F, 29, 'relay1.example.net', 5400, 'IN', 'AMTRELAY', { precedence: 40, discoveryOptional: false, relayType: 0, relay: null }],
    // RFC 3597 generic rdata, for AMTRELAY by number and by name, an unknown type, a known type
    [F, 30, 'generic.example.net', 5400, 'IN', 'AMTRELAY', { precedence: 10, discoveryOptional: false, relayType: 1, relay: '203.0.113.15' }],
    [F, 31, 'generic.example.net', 5400, 'IN', 'AMTRELAY', { precedence: 0, discoveryOptional: true, relayType: 0, relay: null }],
    [F, 32, 'generic.example.net', 5400, 'IN', 'UNKNOWN_65280', Buffer.from('deadbeef', 'hex')],
    [F, 33, 'generic.example.net', 5400, 'IN', 'A', '192.0.2.1'],
    [F, 34, 'a.b.c.example.net', 5400, 'IN', 'TXT', txt('b.c and c exist as empty non-terminals')],
    // $INCLUDE with an origin argument, and a nested $INCLUDE that keeps that origin
    [RELAYS, 2, 'sub.example.net', 5400, 'IN', 'TXT', txt('at the origin given to $INCLUDE')],
    [RELAYS, 3, 'r1.sub.example.net', 5400, 'IN', 'AMTRELAY', { precedence: 5, discoveryOptional: false, relayType: 1, relay: '198.51.100.1' }],
    [MORE, 3, 'r2.sub.example.net', 120, 'IN', 'AMTRELAY', { precedence: 6, discoveryOptional: true, relayType: 3, relay: 'Relay.Example.ORG' }],
    // after $INCLUDE: owner and origin are the includer's again; $TTL set inside stays set
    [F, 36, 'a.b.c.example.net', 120, 'IN', 'A', '192.0.2.99'],
    [F, 37, 'after.example.net', 120, 'IN', 'TXT', txt('origin restored after $INCLUDE')],
    // relative $ORIGIN
    [F, 39, 'x.other.example.net', 120, 'IN', 'TXT', txt('relative $ORIGIN: x.other.example.net')],
  ]);
});

test('$INCLUDE paths are relative to the including file', (t) => {
  const records = parseMasterFile('test/zones/fixtures/nested/top.zone');
  t.deepEqual(
    records.filter((r) => r.type === 'TXT').map((r) => [r.file, r.line, r.name]),
    [
      ['test/zones/fixtures/nested/sub/child.inc', 2, 'child.nested.example'],
      ['test/zones/fixtures/nested/sub/grandchild.inc', 1, 'grandchild.nested.example'],
    ],
  );
});

test('options give the initial origin and default TTL', (t) => {
  const path = writeZone('@ SOA ns1 hostmaster 1 2 3 4 5\nwww A 192.0.2.1\nabs.example.org. 7 A 192.0.2.2\n');
  const records = parseMasterFile(path, { origin: 'Example.COM.', defaultTtl: 42 });
  t.deepEqual(records.map((r) => [r.name, r.ttl]), [['example.com', 42], ['www.example.com', 42], ['abs.example.org', 7]]);
  t.is((records[0]!.data as { mname: string }).mname, 'ns1.Example.COM');
});

test('without $TTL a record takes the last explicit TTL (RFC 1035)', (t) => {
  const path = writeZone('$ORIGIN example.\n@ 100 SOA ns1 hostmaster 1 2 3 4 5\nx A 192.0.2.1\ny 50 A 192.0.2.2\nz A 192.0.2.3\n');
  t.deepEqual(parseMasterFile(path).map((r) => r.ttl), [100, 100, 50, 50]);
});

test('TTLs accept unit letters in any combination and case', (t) => {
  const ttls = ['0', '2147483647', '1s', '1M', '1h30m', '1w2d3h4m5s', '2W', '90s'];
  const path = writeZone('$ORIGIN example.\n' + ttls.map((ttl, i) => `n${i} ${ttl} A 192.0.2.1\n`).join(''));
  t.deepEqual(parseMasterFile(path).map((r) => r.ttl), [0, 2147483647, 1, 60, 5400, 788645, 1209600, 90]);
});

test('comments, blank lines and whitespace-only lines are ignored', (t) => {
  const path = writeZone('; header\n\n$ORIGIN example. ; c\n$TTL 1\n   \n\t; indented comment\nx A 192.0.2.1;tight comment\n');
  t.deepEqual(parseMasterFile(path).map((r) => [r.name, r.line, r.data]), [['x.example', 7, '192.0.2.1']]);
});

test('names keep RFC 1035 escapes, and owners are lowercased', (t) => {
  const path = writeZone('$ORIGIN example.\n$TTL 1\nA\\.B\\032c TXT x\n@ NS ns\\.1.Example.\n');
  const records = parseMasterFile(path);
  t.is(records[0]!.name, 'a\\.b\\032c.example');
  t.is(records[1]!.data, 'ns\\.1.Example');
});

test('a TXT string may be 255 bytes, escapes counting as one byte', (t) => {
  const path = writeZone(`$ORIGIN example.\n$TTL 1\nx TXT "${'\\120'.repeat(255)}"\n`);
  t.deepEqual(parseMasterFile(path)[0]!.data, [Buffer.alloc(255, 'x')]);
});

function errorOf(fn: () => unknown): ZoneFileError {
  const err = (() => {
    try {
      fn();
    } catch (e) {
      return e;
    }
    throw new Error('expected an error');
  })();
  if (!(err instanceof ZoneFileError)) throw err;
  return err;
}

const ERRORS: Array<[string, string, number, string]> = [
  ['bad IPv4 address', 'x A 1.2.3\n', 6, 'bad IPv4 address "1.2.3"'],
  ['bad IPv6 address', 'x AAAA 2001:db8::g\n', 6, 'bad IPv6 address "2001:db8::g"'],
  ['bad AMTRELAY address', 'x AMTRELAY 10 0 1 1.2.3\n', 6, 'bad IPv4 address "1.2.3"'],
  ['bad AMTRELAY precedence', 'x AMTRELAY 300 0 1 1.2.3.4\n', 6, 'AMTRELAY precedence must be 0..255, got "300"'],
  ['missing AMTRELAY relay', 'x AMTRELAY 10 0 1\n', 6, 'AMTRELAY relay missing'],
  ['unknown type', 'x FOO bar\n', 6, 'unknown record type "FOO"'],
  ['type with no text form here', 'x HINFO a b\n', 6, 'HINFO rdata must use the generic \\# form'],
  ['unknown type number without \\#', 'x TYPE65280 abc\n', 6, 'TYPE65280 rdata must use the generic \\# form'],
  ['meta type', 'x AXFR 1.2.3.4\n', 6, 'record type AXFR cannot appear in a zone file'],
  ['OPT', 'x TYPE41 \\# 0\n', 6, 'record type TYPE41 cannot appear in a zone file'],
  ['no type', 'x 300 IN\n', 6, 'record has no type'],
  ['unsupported class', 'x CH TXT a\n', 6, 'unsupported class "CH" (only IN)'],
  ['bad TTL in $TTL', '$TTL 1x\n', 6, 'bad TTL "1x"'],
  ['bad TTL on a record', 'x 1h30 A 192.0.2.1\n', 6, 'bad TTL "1h30"'],
  ['TTL out of range', 'x 2147483648 A 192.0.2.1\n', 6, 'bad TTL "2147483648"'],
  ['unterminated parenthesis', 'x TXT ( "a"\n"b"\n', 6, 'unterminated parenthesis'],
  ['unterminated quote', 'x TXT "abc\ny TXT "def"\n', 6, 'unterminated quoted string'],
  ['unbalanced closing parenthesis', 'x TXT a )\n', 6, 'unbalanced closing parenthesis'],
  ['nested parenthesis', 'x TXT ( a ( b ) )\n', 6, 'nested parenthesis'],
  ['missing field, reported where the record ends', 'x MX (\n10 )\n', 7, 'MX record is missing its MX exchange'],
  ['bad field inside parentheses, reported on its line', 'x SOA ns1 host (\n1\n2x\n3 4 5 )\n', 8, 'bad SOA refresh "2x"'],
  ['trailing data', 'x A 192.0.2.1 192.0.2.2\n', 6, 'unexpected data after A rdata: "192.0.2.2"'],
  ['TXT string too long', `x TXT "${'a'.repeat(256)}"\n`, 6, 'TXT string longer than 255 bytes'],
  ['bad MX preference', 'x MX 65536 mx\n', 6, 'bad MX preference "65536" (0..65535)'],
  ['bad CAA tag', 'x CAA 0 "is sue" "ca"\n', 6, 'bad CAA tag "is sue"'],
  ['label too long', `${'a'.repeat(64)} A 192.0.2.1\n`, 6, `bad name: label longer than 63 bytes in name "${'a'.repeat(64)}"`],
  ['empty label', 'a..b A 192.0.2.1\n', 6, 'bad name: empty label in name "a..b"'],
  ['bad name in rdata', 'x NS a..b\n', 6, 'bad target name: empty label in name "a..b"'],
  ['generic length mismatch', 'x TYPE260 \\# 7 0A01CB00710F\n', 6, 'generic rdata length is 7 but 6 bytes follow'],
  ['generic bad hex', 'x TYPE65280 \\# 2 0g0f\n', 6, 'bad hex in generic rdata "0g0f"'],
  ['generic bad length', 'x TYPE65280 \\# x 00\n', 6, 'bad generic rdata length "x"'],
  ['generic malformed AMTRELAY', 'x TYPE260 \\# 7 0A0001CB00710F\n', 6, 'bad AMTRELAY rdata in generic form: AMTRELAY relay type 0 needs rdlength 2, got 7'],
  ['generic malformed A', 'x A \\# 3 C00002\n', 6, 'bad A rdata in generic form: rdata must be 4 bytes, got 3'],
  ['unknown directive', '$GENERATE 1-2 x$ A 192.0.2.$\n', 6, 'unknown directive "$GENERATE"'],
  ['directive without argument', '$ORIGIN\n', 6, '$ORIGIN needs an argument'],
  ['directive with extra argument', '$TTL 1 2\n', 6, 'unexpected data after $TTL: "2"'],
];

for (const [title, body, line, reason] of ERRORS) {
  test(`error: ${title}`, (t) => {
    const path = writeZone(APEX + body);
    const err = errorOf(() => parseMasterFile(path));
    t.is(err.message, `${path}:${line}: ${reason}`);
    t.is(err.file, path);
    t.is(err.line, line);
    t.is(err.reason, reason);
  });
}

test('error: relative name, @ or blank owner before any origin or owner', (t) => {
  const relative = writeZone('$TTL 1\nx A 192.0.2.1\n');
  t.is(errorOf(() => parseMasterFile(relative)).message, `${relative}:2: bad name: relative name "x" with no $ORIGIN`);
  const at = writeZone('$TTL 1\n@ A 192.0.2.1\n');
  t.is(errorOf(() => parseMasterFile(at)).message, `${at}:2: bad name: "@" used with no $ORIGIN`);
  const blank = writeZone('$TTL 1\n  A 192.0.2.1\n');
  t.is(errorOf(() => parseMasterFile(blank)).message, `${blank}:2: record has no owner name and there is no previous owner`);
});

test('error: no TTL at all', (t) => {
  const path = writeZone('$ORIGIN example.\nx A 192.0.2.1\n');
  t.is(errorOf(() => parseMasterFile(path)).message, `${path}:2: record has no TTL and no $TTL is set`);
});

test('error: $INCLUDE loop, reported at the $INCLUDE that closes it', (t) => {
  const err = errorOf(() => parseMasterFile('test/zones/fixtures/loop/loop.zone'));
  t.is(err.message, 'test/zones/fixtures/loop/b.inc:3: $INCLUDE loop: loop.zone -> a.inc -> b.inc -> a.inc');
});

test('error: a file including itself', (t) => {
  const dir = writeTree({ 'self.zone': '$ORIGIN example.\n$INCLUDE self.zone\n' });
  const err = errorOf(() => parseMasterFile(`${dir}/self.zone`));
  t.is(err.message, `${dir}/self.zone:2: $INCLUDE loop: self.zone -> self.zone`);
});

test('error: missing $INCLUDE file', (t) => {
  const dir = writeTree({ 'a.zone': '$ORIGIN example.\n\n$INCLUDE missing.inc\n' });
  const err = errorOf(() => parseMasterFile(`${dir}/a.zone`));
  t.is(err.message, `${dir}/a.zone:3: $INCLUDE file not found: ${dir}/missing.inc`);
});

test('error: errors inside an included file name that file and its line', (t) => {
  const dir = writeTree({ 'a.zone': '$ORIGIN example.\n$TTL 1\n$INCLUDE b.inc\n', 'b.inc': '\n\nx A 300.1.1.1\n' });
  const err = errorOf(() => parseMasterFile(`${dir}/a.zone`));
  t.is(err.message, `${dir}/b.inc:3: bad IPv4 address "300.1.1.1"`);
});

test('$INCLUDE accepts an absolute path', (t) => {
  const dir = writeTree({ 'abs.inc': 'abs A 192.0.2.4\n' });
  const path = writeZone(`$ORIGIN example.\n$TTL 1\n$INCLUDE ${dir}/abs.inc\n`);
  t.deepEqual(parseMasterFile(path).map((r) => [r.file, r.name]), [[`${dir}/abs.inc`, 'abs.example']]);
});
