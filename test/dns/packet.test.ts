import test from 'ava';
import dnsPacket from 'dns-packet';
import {
  decode,
  decodeRdata,
  encode,
  encodeName,
  encodeRdata,
  typeCode,
  typeName,
  type AmtRelayData,
  type DriadAnswer,
} from '../../src/dns/packet.ts';

const RELAYS: AmtRelayData[] = [
  { precedence: 10, discoveryOptional: false, relayType: 1, relay: '203.0.113.15' },
  { precedence: 10, discoveryOptional: false, relayType: 2, relay: '2001:db8::15' },
  { precedence: 128, discoveryOptional: true, relayType: 3, relay: 'amtrelays.example.com' },
  { precedence: 255, discoveryOptional: true, relayType: 0, relay: null },
];
const QNAME = '10.100.51.198.amt.in-addr.arpa';

test('a response with AMTRELAY answers survives encode and decode', (t) => {
  const answers: DriadAnswer[] = RELAYS.map((data) => ({ type: 'AMTRELAY', name: QNAME, ttl: 60, class: 'IN', data }));
  const authorities: DriadAnswer[] = [
    { type: 'NS', name: 'amt.in-addr.arpa', ttl: 300, class: 'IN', data: 'ns1.driad.example' },
  ];
  const additionals: DriadAnswer[] = [
    { type: 'A', name: 'ns1.driad.example', ttl: 300, class: 'IN', data: '192.0.2.53' },
    { type: 'AMTRELAY', name: 'other.example', ttl: 5, class: 'IN', data: RELAYS[2]! },
  ];
  const wire = encode({
    type: 'response',
    id: 0x1234,
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: [{ type: 'AMTRELAY', name: QNAME, class: 'IN' }],
    answers,
    authorities,
    additionals,
  });

  const decoded = decode(wire);
  t.is(decoded.id, 0x1234);
  t.true(decoded.flag_aa);
  t.deepEqual(decoded.questions, [{ type: 'AMTRELAY', name: QNAME, class: 'IN' }]);
  t.deepEqual(decoded.answers, answers.map((a) => ({ ...a, flush: false })));
  t.deepEqual(decoded.authorities, authorities.map((a) => ({ ...a, flush: false })));
  t.deepEqual(decoded.additionals, additionals.map((a) => ({ ...a, flush: false })));
});

test('AMTRELAY goes on the wire as type 260 with the RFC 8777 rdata', (t) => {
  const wire = encode({
    type: 'response',
    questions: [{ type: 'AMTRELAY', name: 'x' }],
    answers: [{ type: 'AMTRELAY', name: 'x', ttl: 60, data: RELAYS[0]! }],
  });
  const question = wire.subarray(12);
  t.is(question.subarray(0, 3).toString('hex'), '017800');
  t.is(question.readUInt16BE(3), 260);
  const answer = question.subarray(7);
  t.is(answer.subarray(0, 3).toString('hex'), '017800');
  t.is(answer.readUInt16BE(3), 260);
  t.is(answer.readUInt16BE(5), 1);
  t.is(answer.readUInt32BE(7), 60);
  t.is(answer.subarray(11).toString('hex'), '0006' + '0a01cb00710f');
});

test('a message built by plain dns-packet with UNKNOWN_260 decodes to AmtRelayData', (t) => {
  const plain = dnsPacket.encode({
    type: 'response',
    questions: [{ type: 'UNKNOWN_260' as 'A', name: QNAME }],
    answers: [
      { type: 'UNKNOWN_260', name: QNAME, ttl: 30, data: Buffer.from('8083' + '09616d7472656c617973076578616d706c6503636f6d00', 'hex') },
      { type: 'UNKNOWN_260', name: QNAME, ttl: 30, data: Buffer.from('0a02' + '20010db8000000000000000000000015', 'hex') },
      { type: 'TXT', name: QNAME, ttl: 30, data: 'hello' },
    ] as unknown as dnsPacket.Answer[],
  });
  const decoded = decode(plain);
  t.is(decoded.questions![0]!.type, 'AMTRELAY');
  t.deepEqual(decoded.answers!.map((a) => [a.type, (a as { data: unknown }).data]), [
    ['AMTRELAY', RELAYS[2]],
    ['AMTRELAY', RELAYS[1]],
    ['TXT', [Buffer.from('hello')]],
  ]);
});

test('decode refuses malformed AMTRELAY rdata and truncated messages', (t) => {
  const bad = dnsPacket.encode({
    type: 'response',
    answers: [{ type: 'UNKNOWN_260', name: 'x', data: Buffer.from('0a01cb0071', 'hex') }] as unknown as dnsPacket.Answer[],
  });
  t.throws(() => decode(bad), { message: 'AMTRELAY relay type 1 needs rdlength 6, got 5' });

  const good = encode({ type: 'response', answers: [{ type: 'AMTRELAY', name: 'x', data: RELAYS[1]! }] });
  t.notThrows(() => decode(good));
  t.throws(() => decode(good.subarray(0, good.length - 3)), { message: 'truncated DNS message' });
});

test('encodeName writes uncompressed names and validates lengths', (t) => {
  t.is(encodeName('').toString('hex'), '00');
  t.is(encodeName('.').toString('hex'), '00');
  t.is(encodeName('a.bc').toString('hex'), '0161026263' + '00');
  t.is(encodeName('a.bc.').toString('hex'), '0161026263' + '00');
  t.is(encodeName('a\\.b.c').toString('hex'), '03612e62' + '0163' + '00');
  t.is(encodeName('\\000\\255').toString('hex'), '0200ff' + '00');
  t.is(encodeName('x'.repeat(63)).length, 65);
  t.throws(() => encodeName('x'.repeat(64)), { message: /label longer than 63 bytes/ });
  const label = 'x'.repeat(63);
  t.is(encodeName([label, label, label, 'x'.repeat(61)].join('.')).length, 255);
  t.throws(() => encodeName([label, label, label, 'x'.repeat(62)].join('.')), { message: /name longer than 255 bytes/ });
  t.throws(() => encodeName('a..b'), { message: /empty label/ });
  t.throws(() => encodeName('\\256'), { message: /bad escape/ });
});

const RDATA_CASES: Array<[string, unknown]> = [
  ['A', '192.0.2.1'],
  ['AAAA', '2001:db8::1'],
  ['NS', 'ns1.driad.example'],
  ['CNAME', 'target.example'],
  ['PTR', 'host.example'],
  ['SOA', { mname: 'ns1.driad.example', rname: 'hostmaster.driad.example', serial: 2024010101, refresh: 3600, retry: 900, expire: 604800, minimum: 300 }],
  ['TXT', [Buffer.from('static override example'), Buffer.from('second')]],
  ['MX', { preference: 10, exchange: 'mail.example' }],
  ['SRV', { priority: 1, weight: 2, port: 4567, target: 'relay.example' }],
  ['CAA', { flags: 128, tag: 'issue', value: 'ca.example', issuerCritical: true }],
  ['HINFO', { cpu: 'x86', os: 'linux' }],
];

test('encodeRdata matches dns-packet for the types both know, without the rdlength prefix', (t) => {
  for (const [type, data] of RDATA_CASES) {
    const ours = encodeRdata(type, data);
    const theirs = dnsPacket.encode({ type: 'response', answers: [{ type, name: '.', data } as dnsPacket.Answer] });
    const rdataLength = theirs.readUInt16BE(12 + 1 + 8);
    t.is(ours.toString('hex'), theirs.subarray(12 + 1 + 10).toString('hex'), type);
    t.is(ours.length, rdataLength, type);
    t.deepEqual(decodeRdata(type, ours), data, type);
  }
});

test('encodeRdata handles AMTRELAY and raw rdata of any type', (t) => {
  t.is(encodeRdata('AMTRELAY', RELAYS[0]).toString('hex'), '0a01cb00710f');
  t.is(encodeRdata('TYPE260', Buffer.from('0a01cb00710f', 'hex')).toString('hex'), '0a01cb00710f');
  t.is(encodeRdata('UNKNOWN_65280', Buffer.from('c0ffee', 'hex')).toString('hex'), 'c0ffee');
  t.is(encodeRdata('TYPE1', Buffer.from('c0000201', 'hex')).toString('hex'), 'c0000201');
  t.is(encodeRdata('TXT', 'one string').toString('hex'), '0a' + Buffer.from('one string').toString('hex'));
  t.deepEqual(decodeRdata('TYPE260', Buffer.from('0a01cb00710f', 'hex')), RELAYS[0]);
  t.deepEqual(decodeRdata('UNKNOWN_65280', Buffer.from('c0ffee', 'hex')), Buffer.from('c0ffee', 'hex'));
});

test('encodeRdata and decodeRdata refuse data that does not fit the type', (t) => {
  t.throws(() => encodeRdata('A', '1.2.3'), { message: 'bad IPv4 address "1.2.3"' });
  t.throws(() => encodeRdata('AAAA', '1.2.3.4'), { message: 'bad IPv6 address "1.2.3.4"' });
  t.throws(() => encodeRdata('TXT', 'x'.repeat(256)), { message: 'TXT string longer than 255 bytes (256)' });
  t.throws(() => encodeRdata('MX', { preference: 70000, exchange: 'x' }), { message: /MX preference must be an integer 0..65535/ });
  t.throws(() => encodeRdata('UNKNOWN_65280', 'text'), { message: 'UNKNOWN_65280 rdata must be a Buffer' });
  t.throws(() => encodeRdata('BOGUS', 'x'), { message: 'unknown record type "BOGUS"' });
  t.throws(() => decodeRdata('A', Buffer.from('c00002', 'hex')), { message: 'rdata must be 4 bytes, got 3' });
  t.throws(() => decodeRdata('NS', Buffer.from('c00c', 'hex')), { message: /compression pointer/ });
  t.throws(() => decodeRdata('MX', Buffer.from('000a00ff', 'hex')), { message: 'trailing bytes after rdata: 1' });
  t.throws(() => decodeRdata('TXT', Buffer.alloc(0)), { message: 'rdata too short' });
  t.throws(() => decodeRdata('HINFO', Buffer.from('05', 'hex')), { message: 'HINFO rdata is malformed' });
});

test('typeCode and typeName', (t) => {
  t.is(typeCode('A'), 1);
  t.is(typeCode('aaaa'), 28);
  t.is(typeCode('AMTRELAY'), 260);
  t.is(typeCode('TYPE260'), 260);
  t.is(typeCode('UNKNOWN_260'), 260);
  t.is(typeCode('type65535'), 65535);
  t.throws(() => typeCode('TYPE65536'), { message: 'record type number out of range: "TYPE65536"' });
  t.throws(() => typeCode('NOPE'), { message: 'unknown record type "NOPE"' });
  t.is(typeName(260), 'AMTRELAY');
  t.is(typeName(1), 'A');
  t.is(typeName(6), 'SOA');
  t.is(typeName(65280), 'UNKNOWN_65280');
});
