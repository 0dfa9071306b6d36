import test from 'ava';
import fc from 'fast-check';
import {
  amtrelay,
  AMTRELAY_TYPE,
  decodeAmtRelayRdata,
  encodeAmtRelayRdata,
  formatAmtRelayText,
  parseAmtRelayText,
  type AmtRelayData,
} from '../../src/dns/rr/amtrelay.ts';
import { compileToText, compileToWire, hasBinary, NAMED_COMPILEZONE } from './bind.ts';

// Hand-derived from RFC 8777 §4.2: precedence, D bit | relay type, relay.
const VECTORS: Array<{ text: string; hex: string; data: AmtRelayData }> = [
  {
    text: '10 0 1 203.0.113.15',
    hex: '0a01' + 'cb00710f',
    data: { precedence: 10, discoveryOptional: false, relayType: 1, relay: '203.0.113.15' },
  },
  {
    text: '10 0 2 2001:db8::15',
    hex: '0a02' + '20010db8000000000000000000000015',
    data: { precedence: 10, discoveryOptional: false, relayType: 2, relay: '2001:db8::15' },
  },
  {
    text: '128 1 3 amtrelays.example.com.',
    hex: '8083' + '09616d7472656c617973' + '076578616d706c65' + '03636f6d' + '00',
    data: { precedence: 128, discoveryOptional: true, relayType: 3, relay: 'amtrelays.example.com' },
  },
  {
    text: '0 0 0 .',
    hex: '0000',
    data: { precedence: 0, discoveryOptional: false, relayType: 0, relay: null },
  },
  {
    text: '255 1 0 .',
    hex: 'ff80',
    data: { precedence: 255, discoveryOptional: true, relayType: 0, relay: null },
  },
  {
    text: '20 1 1 198.51.100.1',
    hex: '1481' + 'c6336401',
    data: { precedence: 20, discoveryOptional: true, relayType: 1, relay: '198.51.100.1' },
  },
  {
    text: '30 1 2 2001:db8:0:1::1:0',
    hex: '1e82' + '20010db8000000010000000000010000',
    data: { precedence: 30, discoveryOptional: true, relayType: 2, relay: '2001:db8:0:1::1:0' },
  },
  {
    text: '40 0 2 ::ffff:192.0.2.1',
    hex: '2802' + '00000000000000000000ffffc0000201',
    data: { precedence: 40, discoveryOptional: false, relayType: 2, relay: '::ffff:192.0.2.1' },
  },
  {
    text: '1 0 3 .',
    hex: '0103' + '00',
    data: { precedence: 1, discoveryOptional: false, relayType: 3, relay: '' },
  },
];

test('AMTRELAY is type 260', (t) => {
  t.is(AMTRELAY_TYPE, 260);
});

for (const v of VECTORS) {
  test(`"${v.text}": parse, encode, decode and format agree with the hand-derived bytes`, (t) => {
    const data = parseAmtRelayText(v.text.split(' '));
    t.deepEqual(data, v.data);
    t.is(encodeAmtRelayRdata(data).toString('hex'), v.hex);

    const withLength = amtrelay.encode(data);
    t.is(withLength.readUInt16BE(0), v.hex.length / 2);
    t.is(withLength.subarray(2).toString('hex'), v.hex);
    t.is(amtrelay.encode.bytes, withLength.length);
    t.is(amtrelay.encodingLength(data), withLength.length);

    t.deepEqual(amtrelay.decode(withLength), v.data);
    t.is(amtrelay.decode.bytes, withLength.length);
    t.is(formatAmtRelayText(data), v.text);
  });
}

test('encode writes at an offset into a given buffer and decode reads from there', (t) => {
  const data = VECTORS[2]!.data;
  const buf = Buffer.alloc(100, 0xee);
  t.is(amtrelay.encode(data, buf, 7), buf);
  t.is(buf[6], 0xee);
  t.deepEqual(amtrelay.decode(buf, 7), data);
  t.is(buf[7 + amtrelay.encode.bytes], 0xee);
});

test('encode refuses a buffer too small for the record', (t) => {
  t.throws(() => amtrelay.encode(VECTORS[2]!.data, Buffer.alloc(10)), { message: /buffer too small/ });
});

test('every relay type round-trips with D = 0 and D = 1', (t) => {
  const relays = [
    { relayType: 0, relay: null },
    { relayType: 1, relay: '192.0.2.255' },
    { relayType: 2, relay: '::ffff:192.0.2.1' },
    { relayType: 3, relay: 'relay-1.example.org' },
  ] as const;
  for (const relay of relays) {
    for (const discoveryOptional of [false, true]) {
      const data = { precedence: 42, discoveryOptional, ...relay } as AmtRelayData;
      const wire = amtrelay.encode(data);
      t.is((wire[3]! & 0x80) !== 0, discoveryOptional);
      t.is(wire[3]! & 0x7f, relay.relayType);
      t.deepEqual(amtrelay.decode(wire), data);
      t.deepEqual(parseAmtRelayText(formatAmtRelayText(data).split(' ')), data);
    }
  }
});

test('random records round-trip through wire and text', (t) => {
  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$/);
  const common = { precedence: fc.integer({ min: 0, max: 255 }), discoveryOptional: fc.boolean() };
  const ipv4 = fc.ipV4();
  const record: fc.Arbitrary<AmtRelayData> = fc.oneof(
    fc.record({ ...common, relayType: fc.constant(0 as const), relay: fc.constant(null) }),
    fc.record({ ...common, relayType: fc.constant(1 as const), relay: ipv4 }),
    fc.record({
      ...common,
      relayType: fc.constant(2 as const),
      relay: fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => decodeAmtRelayRdata(Buffer.from([0, 2, ...b])).relay as string),
    }),
    fc.record({ ...common, relayType: fc.constant(3 as const), relay: fc.array(label, { minLength: 1, maxLength: 5 }).map((l) => l.join('.')) }),
  );
  fc.assert(
    fc.property(record, (data) => {
      t.deepEqual(amtrelay.decode(amtrelay.encode(data)), data);
      t.deepEqual(parseAmtRelayText(formatAmtRelayText(data).split(' ')), data);
    }),
  );
  t.pass();
});

test('IPv6 relays are accepted in any form and written canonically (RFC 5952)', (t) => {
  const parsed = parseAmtRelayText(['10', '0', '2', '2001:DB8:0000:0:0:0:0:0015']);
  t.is(parsed.relay, '2001:db8::15');
  const canonical = [
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['::ffff:c000:201', '::ffff:192.0.2.1'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ];
  for (const [input, expected] of canonical) {
    t.is(parseAmtRelayText(['1', '0', '2', input!]).relay, expected, input);
  }
  const fromNonCanonical = amtrelay.encode({ precedence: 1, discoveryOptional: false, relayType: 2, relay: '2001:0DB8::0015' });
  t.is(fromNonCanonical.subarray(4).toString('hex'), '20010db8000000000000000000000015');
});

test('relative relay names are completed with the origin when one is given', (t) => {
  t.is(parseAmtRelayText(['1', '0', '3', 'relay'], 'example.net').relay, 'relay.example.net');
  t.is(parseAmtRelayText(['1', '0', '3', 'relay.example.com.'], 'example.net').relay, 'relay.example.com');
  t.is(parseAmtRelayText(['1', '0', '3', 'relay.example.com']).relay, 'relay.example.com');
});

test('relay names keep escaped characters unambiguous in text and on the wire', (t) => {
  const data = parseAmtRelayText(['1', '0', '3', 'a\\.b\\059c.example.']);
  t.is(data.relay, 'a\\.b;c.example');
  t.is(encodeAmtRelayRdata(data).subarray(2).toString('latin1'), '\x05a.b;c\x07example\x00');
  t.is(formatAmtRelayText(data), '1 0 3 a\\.b\\;c.example.');
  t.deepEqual(parseAmtRelayText(formatAmtRelayText(data).split(' ')), data);
});

test('bad presentation input is refused with a clear message', (t) => {
  const cases: Array<[string[], string]> = [
    [['256', '0', '1', '192.0.2.1'], 'AMTRELAY precedence must be 0..255, got "256"'],
    [['-1', '0', '1', '192.0.2.1'], 'AMTRELAY precedence must be 0..255, got "-1"'],
    [['x', '0', '1', '192.0.2.1'], 'AMTRELAY precedence must be 0..255, got "x"'],
    [['10', '2', '1', '192.0.2.1'], 'AMTRELAY discovery-optional flag must be 0 or 1, got "2"'],
    [['10', '0', '4', 'x'], 'unknown AMTRELAY relay type "4"'],
    [['10', '0', '1', '1.2.3'], 'bad IPv4 address "1.2.3"'],
    [['10', '0', '1', '1.2.3.256'], 'bad IPv4 address "1.2.3.256"'],
    [['10', '0', '1', '01.2.3.4'], 'bad IPv4 address "01.2.3.4"'],
    [['10', '0', '1', '2001:db8::1'], 'bad IPv4 address "2001:db8::1"'],
    [['10', '0', '2', '2001:db8::1::2'], 'bad IPv6 address "2001:db8::1::2"'],
    [['10', '0', '2', '1:2:3:4:5:6:7:8:9'], 'bad IPv6 address "1:2:3:4:5:6:7:8:9"'],
    [['10', '0', '2', '192.0.2.1'], 'bad IPv6 address "192.0.2.1"'],
    [['10', '0', '0', 'relay.example.'], 'AMTRELAY relay type 0 needs relay ".", got "relay.example."'],
    [['10', '0', '1'], 'AMTRELAY relay missing'],
    [['10', '0'], 'AMTRELAY needs "precedence D type relay"'],
    [['10', '0', '1', '192.0.2.1', 'extra'], 'unexpected data after AMTRELAY relay: "extra"'],
    [['10', '0', '3', 'a..b'], 'empty label in name "a..b"'],
    [['10', '0', '3', 'x'.repeat(64) + '.'], `label longer than 63 bytes in name "${'x'.repeat(64)}."`],
  ];
  for (const [tokens, message] of cases) {
    t.throws(() => parseAmtRelayText(tokens), { message }, tokens.join(' '));
  }
});

test('encode refuses data that does not fit the wire format', (t) => {
  const bad: Array<[unknown, RegExp]> = [
    [{ precedence: 256, discoveryOptional: false, relayType: 0, relay: null }, /precedence/],
    [{ precedence: 1.5, discoveryOptional: false, relayType: 0, relay: null }, /precedence/],
    [{ precedence: 1, discoveryOptional: false, relayType: 1, relay: 'relay.example' }, /bad IPv4 address/],
    [{ precedence: 1, discoveryOptional: false, relayType: 2, relay: '192.0.2.1' }, /bad IPv6 address/],
    [{ precedence: 1, discoveryOptional: false, relayType: 0, relay: '192.0.2.1' }, /type 0 must have relay null/],
    [{ precedence: 1, discoveryOptional: false, relayType: 9, relay: null }, /unknown AMTRELAY relay type 9/],
    [{ precedence: 1, discoveryOptional: false, relayType: 3, relay: 'a'.repeat(64) }, /label longer than 63/],
    [{ precedence: 1, discoveryOptional: false, relayType: 3, relay: Array(130).fill('a').join('.') }, /name longer than 255/],
  ];
  for (const [data, message] of bad) {
    t.throws(() => amtrelay.encode(data as AmtRelayData), { message }, JSON.stringify(data));
  }
});

test('malformed wire data throws instead of reading out of bounds', (t) => {
  const cases: Array<[string, string]> = [
    ['', 'AMTRELAY: buffer too short for rdlength at offset 0'],
    ['00', 'AMTRELAY: buffer too short for rdlength at offset 0'],
    ['0006' + '0a01cb0071', 'AMTRELAY: rdlength 6 overruns buffer (5 bytes left)'],
    ['0001' + '0a', 'AMTRELAY rdata too short: 1 bytes, need at least 2'],
    ['0000', 'AMTRELAY rdata too short: 0 bytes, need at least 2'],
    ['0005' + '0a01cb0071', 'AMTRELAY relay type 1 needs rdlength 6, got 5'],
    ['0007' + '0a01cb00710f00', 'AMTRELAY relay type 1 needs rdlength 6, got 7'],
    ['0006' + '0a02cb00710f', 'AMTRELAY relay type 2 needs rdlength 18, got 6'],
    ['0003' + '0a0000', 'AMTRELAY relay type 0 needs rdlength 2, got 3'],
    ['0002' + '0a04', 'unknown AMTRELAY relay type 4'],
    ['0002' + '0a7f', 'unknown AMTRELAY relay type 127'],
    ['0004' + '0a03c00c', 'compression pointer not allowed in this domain name'],
    ['0006' + '0a03' + '0a616263', 'domain name overruns its data'],
    ['0004' + '0a03' + '0161', 'domain name overruns its data'],
    ['0002' + '0a03', 'domain name overruns its data'],
    ['0005' + '0a03' + '00' + 'ffff', 'AMTRELAY rdata has 2 bytes after the relay name'],
    ['0004' + '0a03' + '4100', 'unsupported label type 0x40'],
  ];
  for (const [hex, message] of cases) {
    t.throws(() => amtrelay.decode(Buffer.from(hex, 'hex')), { message }, hex);
  }
  // rdlength is read at the given offset
  const atOffset = Buffer.from('ffff0006' + '0a01cb00710f', 'hex');
  t.is(amtrelay.decode(atOffset, 2).relay, '203.0.113.15');
  t.throws(() => amtrelay.decode(atOffset, 9), { message: 'AMTRELAY: buffer too short for rdlength at offset 9' });
  // a name longer than 255 bytes, though inside its rdata
  const longName = Buffer.concat([...Array(5).fill(Buffer.concat([Buffer.of(63), Buffer.alloc(63, 0x61)])), Buffer.of(0)]);
  const rdata = Buffer.concat([Buffer.of(1, 3), longName]);
  t.throws(() => decodeAmtRelayRdata(rdata), { message: 'domain name longer than 255 bytes' });
});

test('random bytes either decode to a record that re-encodes identically, or throw an Error', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
      const rdata = Buffer.from(bytes);
      let data: AmtRelayData;
      try {
        data = decodeAmtRelayRdata(rdata);
      } catch (err) {
        return err instanceof Error && !(err instanceof RangeError);
      }
      return encodeAmtRelayRdata(data).equals(rdata);
    }),
    { numRuns: 2000 },
  );
  t.pass();
});

// Real-implementation vectors: BIND 9 parses the presentation form and writes its wire form
// (raw zone format), and parses our wire bytes as RFC 3597 generic rdata and prints them.
const hasBind = hasBinary(NAMED_COMPILEZONE);
const bindTest = hasBind ? test : test.skip;
const skipNote = hasBind ? '' : ` (skipped: ${NAMED_COMPILEZONE} not installed; apt-get install bind9-utils)`;

const ZONE_HEAD = `$ORIGIN example.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 192.0.2.53\n`;

bindTest(`BIND encodes the presentation vectors to the same wire bytes as driad${skipNote}`, (t) => {
  const zone = ZONE_HEAD + VECTORS.map((v, i) => `v${i} AMTRELAY ${v.text}\n`).join('');
  const wire = compileToWire('example', zone);
  for (const [i, v] of VECTORS.entries()) {
    const rrset = wire.find((r) => r.owner === `v${i}.example` && r.type === AMTRELAY_TYPE);
    t.truthy(rrset, `BIND has no AMTRELAY at v${i}`);
    t.is(rrset!.rdata.length, 1);
    t.is(rrset!.rdata[0]!.toString('hex'), encodeAmtRelayRdata(parseAmtRelayText(v.text.split(' '))).toString('hex'), v.text);
    t.is(rrset!.rdata[0]!.toString('hex'), v.hex, v.text);
  }
});

bindTest(`BIND reads driad's wire bytes (RFC 3597 \\# form) back as the same presentation${skipNote}`, (t) => {
  const generic = (data: AmtRelayData) => {
    const rdata = encodeAmtRelayRdata(data);
    return `\\# ${rdata.length} ${rdata.toString('hex').toUpperCase()}`;
  };
  const zone = ZONE_HEAD + VECTORS.map((v, i) => `v${i} TYPE260 ${generic(v.data)}\n`).join('');
  const text = compileToText('example', zone);
  for (const [i, v] of VECTORS.entries()) {
    const line = text.split('\n').find((l) => l.startsWith(`v${i}.example.`));
    t.truthy(line, `BIND printed no record for v${i}`);
    const [, , , type, ...rdata] = line!.split(/\s+/);
    t.is(type, 'AMTRELAY');
    t.is(rdata.join(' '), formatAmtRelayText(v.data));
  }
});

bindTest(`BIND rejects the malformed wire forms driad rejects${skipNote}`, (t) => {
  for (const hex of ['0a0001cb00710f', '0a01cb0071', '0a02cb00710f', '0a0000', '0a03c00c', '0a03' + '0a616263']) {
    const zone = ZONE_HEAD + `bad TYPE260 \\# ${hex.length / 2} ${hex}\n`;
    t.throws(() => compileToText('example', zone), undefined, hex);
    t.throws(() => decodeAmtRelayRdata(Buffer.from(hex, 'hex')), undefined, hex);
  }
});

bindTest(`unassigned relay types: BIND keeps them opaque, driad refuses them${skipNote}`, (t) => {
  // RFC 8777 defines relay types 0-3 only; AmtRelayData cannot carry any other.
  const text = compileToText('example', ZONE_HEAD + 'other TYPE260 \\# 2 0A04\n');
  t.regex(text, /other\.example\.\s+300\s+IN\s+AMTRELAY\s+\\# 2 0A04/);
  t.throws(() => decodeAmtRelayRdata(Buffer.from('0a04', 'hex')), { message: 'unknown AMTRELAY relay type 4' });
});
