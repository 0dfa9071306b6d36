import test from 'ava';
import { decode } from '../../src/dns/packet.ts';
import { encodeRdata } from '../../src/dns/rr/rdata.ts';
import { QTYPE } from '../../src/dns/wire/constants.ts';
import { negativeSoa, type SoaFields } from '../../src/dns/wire/negative-soa.ts';
import { parseQuery } from '../../src/dns/wire/query.ts';
import { writeResponseAt, type Reply } from '../../src/dns/wire/response.ts';
import { rrTail } from '../../src/dns/wire/rr.ts';
import { buildQuery } from '../helpers/dns-client.ts';

const NUMBERS = { serial: 2024010101, refresh: 3600, retry: 900, expire: 604800, minimum: 300 };

/** A negative answer to `qname` written at `offset` inside a larger buffer, as the batched UDP path writes it. */
function negativeAnswer(origin: string, qname: string, soa: SoaFields, offset: number): { message: Buffer; tailLength: number } {
  const msg = buildQuery(qname, 'TXT', { id: 7 });
  const parsed = parseQuery(msg);
  if (!parsed.ok) throw new Error(parsed.reason);
  const originWire = origin.split('.').reduce((n, label) => n + label.length + 1, 1);
  const negative = negativeSoa(origin, 300, soa);
  const reply: Reply = {
    rcode: 3, authoritative: true, answer: null, ancount: 0, soa: negative,
    soaOwnerOffset: parsed.query.qnameEnd - originWire, authority: null, nscount: 0, additional: null, arcount: 0, additionalRequired: false, ednsOptions: null,
  };
  const out = Buffer.alloc(offset + 512, 0xee);
  const length = writeResponseAt(out, offset, msg, parsed.query, reply, { limit: 512, ourUdpSize: 1232 });
  return { message: out.subarray(offset, offset + length), tailLength: negative.tail.length };
}

function soaOf(message: Buffer): { name: string; data: Record<string, unknown> } {
  const authority = (decode(message) as unknown as { authorities: Array<{ name: string; type: string; data: Record<string, unknown> }> }).authorities;
  const soa = authority.find((r) => r.type === 'SOA');
  if (!soa) throw new Error('no SOA in the authority section');
  return soa;
}

const cases: Array<{ title: string; origin: string; qname: string; soa: SoaFields; saved: number }> = [
  { title: 'names outside the zone sharing a suffix (the shipped zones)', origin: 'amt.in-addr.arpa', qname: 'x.10.95.25.69.amt.in-addr.arpa', soa: { mname: 'ns1.driad.example', rname: 'hostmaster.driad.example', ...NUMBERS }, saved: 13 },
  { title: 'names inside the zone point into the question', origin: 'example', qname: 'nope.EXAMPLE', soa: { mname: 'ns1.example', rname: 'hostmaster.example', ...NUMBERS }, saved: 14 },
  { title: 'RNAME below MNAME', origin: 'example', qname: 'nope.example', soa: { mname: 'ns.example.net', rname: 'dns.ns.example.net', ...NUMBERS }, saved: 14 },
  { title: 'an escaped dot in RNAME stays inside its label', origin: 'example.net', qname: 'a.b.example.net', soa: { mname: 'ns1.example.net', rname: 'john\\.doe.example.net', ...NUMBERS }, saved: 22 },
  { title: 'nothing in common', origin: 'example', qname: 'nope.example', soa: { mname: 'a.net', rname: 'b.org', ...NUMBERS }, saved: 0 },
  { title: 'a root MNAME', origin: 'example', qname: 'nope.example', soa: { mname: '', rname: 'hostmaster.example', ...NUMBERS }, saved: 7 },
];

for (const c of cases) {
  test(`negative SOA, compressed: ${c.title}`, (t) => {
    for (const offset of [0, 4096, 63 * 4096]) {
      const { message, tailLength } = negativeAnswer(c.origin, c.qname, c.soa, offset);
      const soa = soaOf(message);
      t.is(soa.name.toLowerCase(), c.origin);
      const data = soa.data as { mname: string; rname: string };
      t.is(data.mname.toLowerCase(), c.soa.mname === '' ? '.' : c.soa.mname, `mname at offset ${offset}`);
      t.is(data.rname.toLowerCase(), c.soa.rname, `rname at offset ${offset}`);
      t.like(soa.data, NUMBERS);
      const plain = rrTail(QTYPE.SOA, 300, encodeRdata('SOA', c.soa));
      t.is(plain.length - tailLength, c.saved, 'bytes saved against the uncompressed record');
    }
  });
}
