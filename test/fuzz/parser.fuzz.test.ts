// Property-based tests of the query parser and of the responses built from what it parses.
//
// The parser reads untrusted bytes off the network on the hot path. Whatever arrives, it must
// not throw, must not read past the message, and must describe only what is really there; and
// every response driad builds from it must be a message an independent decoder (dns-packet)
// reads cleanly, with the query's ID, QR=1 and the question echoed byte for byte.
//
// Reproduce a failure with the seed it prints: FUZZ_SEED=<seed> npx ava test/fuzz/parser.fuzz.test.ts
// Hunt longer with FUZZ_SCALE=<n> (multiplies every run count).

import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import dnsPacket from 'dns-packet';
import { connect } from 'node:net';
import { parseQuery, type ParseResult } from '../../src/dns/wire/query.ts';
import { readClientSubnet } from '../../src/dns/wire/ecs.ts';
import { startTestDriad } from '../helpers/driad.ts';
import { buildQuery, decodeMessage, udpExchange, type QueryOptions } from '../helpers/dns-client.ts';

const SEED = process.env.FUZZ_SEED !== undefined ? Number.parseInt(process.env.FUZZ_SEED, 10) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
if (!Number.isInteger(SEED)) throw new Error(`FUZZ_SEED must be an integer, got ${process.env.FUZZ_SEED}`);

/** FUZZ_SCALE multiplies every run count, for a longer hunt outside CI. */
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);

function params(t: ExecutionContext, runs: number): { seed: number; numRuns: number; includeErrorInReport: boolean } {
  const numRuns = Math.max(1, Math.round(runs * SCALE));
  t.log(`FUZZ_SEED=${SEED} numRuns=${numRuns}`);
  return { seed: SEED, numRuns, includeErrorInReport: true };
}

const HEADER = 12;
const OUR_UDP_SIZE = 1232; // dns.udpPayloadSize in the default config
const V6 = '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.amt.ip6.arpa';

// ---------------------------------------------------------------------------------------------
// Queries: well-formed ones from dns-packet (buildQuery) and from a raw encoder that can put any
// bytes in labels and any options in the OPT record; then mutations of both.

const NAMES = [
  '10.95.25.69.amt.in-addr.arpa',
  '10.95.25.69.AMT.In-Addr.ARPA',
  '1.2.3.4.amt.in-addr.arpa',
  '300.1.2.3.amt.in-addr.arpa',
  '1.2.3.4.5.amt.in-addr.arpa',
  '69.amt.in-addr.arpa',
  'amt.in-addr.arpa',
  '10.100.51.198.amt.in-addr.arpa', // static override: a relay-name (type 3) AMTRELAY and a TXT
  V6,
  '8.b.d.0.1.0.0.2.amt.ip6.arpa',
  'g.amt.ip6.arpa',
  'amt.ip6.arpa',
  'example.com',
  'in-addr.arpa',
];
const TYPES = ['A', 'AAAA', 'AMTRELAY', 'TXT', 'SOA', 'NS', 'ANY', 'AXFR', 'IXFR', 'CNAME', 'PTR', 'MX'];
const EDNS: Array<QueryOptions> = [
  {},
  { udpSize: 512 },
  { udpSize: 1232, dnssecOk: true },
  { udpSize: 4096 },
  { udpSize: 100 },
  { udpSize: 1232, ednsVersion: 1 },
];

/** Names and types that get real answers are weighted up, so answers and truncation are fuzzed often. */
const nameArb = fc.oneof({ weight: 2, arbitrary: fc.constantFrom(NAMES[0] as string, NAMES[1] as string, NAMES[2] as string, V6) }, { weight: 2, arbitrary: fc.constantFrom(...NAMES) });
const typeArb = fc.oneof({ weight: 1, arbitrary: fc.constantFrom('AMTRELAY', 'A') }, { weight: 2, arbitrary: fc.constantFrom(...TYPES) });
const builtQueryArb: fc.Arbitrary<Buffer> = fc
  .tuple(nameArb, typeArb, fc.constantFrom(...EDNS), fc.integer({ min: 0, max: 0xffff }), fc.boolean())
  .map(([name, type, edns, id, rd]) => {
    const q = buildQuery(name, type, { ...edns, id });
    if (rd) q.writeUInt16BE(0x0100, 2);
    return q;
  });

interface RawQuery {
  id: number;
  flags: number;
  labels: Buffer[];
  qtype: number;
  qclass: number;
  opt: { udpSize: number; extRcode: number; version: number; flags: number; options: Array<{ code: number; data: Buffer }> } | null;
}

const u16 = fc.integer({ min: 0, max: 0xffff });
const bytes = (maxLength: number, minLength = 0): fc.Arbitrary<Buffer> => fc.uint8Array({ minLength, maxLength }).map((a) => Buffer.from(a));
/** Noise of any length up to maxLength, not only the short arrays fast-check favours by default. */
const noise = (maxLength: number): fc.Arbitrary<Buffer> =>
  fc.oneof(bytes(maxLength), fc.uint8Array({ maxLength, size: 'max' }).map((a) => Buffer.from(a)));
const labelArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...'0 1 10 95 25 69 255 256 01 1e1 a b f A F g x amt AMT in-addr ip6 arpa - *'.split(' ')).map((s) => Buffer.from(s, 'latin1')) },
  { weight: 1, arbitrary: bytes(63, 1) }, // any bytes: '.', '\', upper case, 0x80-0xff, NUL
  { weight: 1, arbitrary: fc.constantFrom('.', '\\', 'a.b', '1\\', '\\.', 'A\u00c0').map((s) => Buffer.from(s, 'latin1')) },
);
const suffixArb = fc.constantFrom(['amt', 'in-addr', 'arpa'], ['amt', 'ip6', 'arpa'], ['AMT', 'IN-ADDR', 'ARPA'], ['in-addr', 'arpa'], ['example', 'com'], []);
const nibbleNameArb = fc.array(fc.constantFrom(...'0123456789abcdefABCDEFgx'.split('')), { maxLength: 34 }).map((n) => [...n, 'amt', 'ip6', 'arpa']);
const labelsArb: fc.Arbitrary<Buffer[]> = fc.oneof(
  fc.tuple(fc.array(labelArb, { maxLength: 6 }), suffixArb).map(([a, s]) => [...a, ...s.map((l) => Buffer.from(l))]),
  nibbleNameArb.map((ls) => ls.map((l) => Buffer.from(l))),
  fc.array(bytes(63, 1), { maxLength: 6 }), // long names, up to and past 255 bytes
);
const optionArb = fc.oneof(
  fc.record({ code: fc.constant(10), data: bytes(40, 8) }), // COOKIE
  fc.record({ code: fc.constant(3), data: bytes(0) }), // NSID
  fc.record({
    code: fc.constant(8), // Client Subnet: family, source and scope prefix lengths, address
    data: fc.tuple(fc.constantFrom(1, 2, 0, 3), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), bytes(17)).map(([fam, src, scope, addr]) =>
      Buffer.concat([Buffer.of(0, fam, src, scope), addr]),
    ),
  }),
  fc.record({ code: fc.constantFrom(12, 15), data: bytes(20) }),
  fc.record({ code: u16, data: bytes(20) }),
);
const rawQueryArb: fc.Arbitrary<RawQuery> = fc.record({
  id: u16,
  flags: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0, 0x0100, 0x0010, 0x0110) }, { weight: 1, arbitrary: u16 }),
  labels: labelsArb,
  qtype: fc.oneof(fc.constantFrom(1, 28, 260, 16, 6, 2, 255, 252, 251, 5, 12, 0, 41), u16),
  qclass: fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constantFrom(3, 254, 255, 0) }, { weight: 1, arbitrary: u16 }),
  opt: fc.option(
    fc.record({
      udpSize: fc.oneof(fc.constantFrom(0, 511, 512, 1232, 1233, 4096, 65535), u16),
      extRcode: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })),
      version: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })),
      flags: fc.constantFrom(0, 0x8000, 0xffff),
      options: fc.array(optionArb, { maxLength: 3 }),
    }),
  ),
});

function be16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n & 0xffff);
  return b;
}

function encodeRaw(q: RawQuery): Buffer {
  const name = Buffer.concat([...q.labels.flatMap((l) => [Buffer.of(l.length), l]), Buffer.of(0)]);
  const parts = [be16(q.id), be16(q.flags), be16(1), be16(0), be16(0), be16(q.opt ? 1 : 0), name, be16(q.qtype), be16(q.qclass)];
  if (q.opt) {
    const rdata = Buffer.concat(q.opt.options.flatMap((o) => [be16(o.code), be16(o.data.length), o.data]));
    parts.push(Buffer.of(0), be16(41), be16(q.opt.udpSize), Buffer.of(q.opt.extRcode, q.opt.version), be16(q.opt.flags), be16(rdata.length), rdata);
  }
  return Buffer.concat(parts);
}

/** The qname parseQuery should report: ASCII lowercased, '.' and '\' inside a label escaped. */
function expectedQname(labels: Buffer[]): string {
  return labels
    .map((l) =>
      [...l]
        .map((c) => {
          // The zone files' text form: lowercase, `\.` and `\\` inside labels, `\DDD` outside printable ASCII.
          if (c < 0x21 || c > 0x7e) return '\\' + String(c).padStart(3, '0');
          const lc = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
          return (c === 0x2e || c === 0x5c ? '\\' : '') + String.fromCharCode(lc);
        })
        .join(''),
    )
    .join('.');
}

type Mutation =
  | { kind: 'flip'; pos: number; bit: number }
  | { kind: 'set'; pos: number; value: number }
  | { kind: 'insert'; pos: number; data: Buffer }
  | { kind: 'delete'; pos: number; len: number }
  | { kind: 'truncate'; len: number }
  | { kind: 'count'; field: number; value: number }
  | { kind: 'pointer'; at: number; target: number }
  | { kind: 'selfPointer'; at: number }
  | { kind: 'flags'; value: number }
  | { kind: 'append'; data: Buffer }
  | { kind: 'record'; section: number; owner: Buffer; type: number; ttl: number; rdlength: number | null; rdata: Buffer };

const posArb = fc.nat({ max: 1 << 16 });
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), pos: posArb, bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), pos: posArb, value: fc.oneof(fc.constantFrom(0, 0x3f, 0x40, 0x80, 0xc0, 0xff, 0x2e), fc.integer({ min: 0, max: 255 })) }),
  fc.record({ kind: fc.constant('insert' as const), pos: posArb, data: bytes(8, 1) }),
  fc.record({ kind: fc.constant('delete' as const), pos: posArb, len: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ kind: fc.constant('truncate' as const), len: posArb }),
  fc.record({ kind: fc.constant('count' as const), field: fc.integer({ min: 0, max: 3 }), value: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant(0xffff), u16) }),
  fc.record({ kind: fc.constant('pointer' as const), at: posArb, target: fc.oneof(fc.constantFrom(0, 12, 0x3fff), posArb) }),
  fc.record({ kind: fc.constant('selfPointer' as const), at: posArb }),
  fc.record({ kind: fc.constant('flags' as const), value: fc.oneof(fc.constantFrom(0x8000, 0x0800, 0x2000, 0x7800, 0x0200, 0x000f), u16) }),
  fc.record({ kind: fc.constant('append' as const), data: bytes(40, 1) }),
  fc.record({
    kind: fc.constant('record' as const),
    section: fc.integer({ min: 1, max: 3 }),
    owner: fc.constantFrom(Buffer.of(0), Buffer.of(0xc0, 12), Buffer.of(1, 0x61, 0), Buffer.of(0xc0), Buffer.of(0xff, 0xff)),
    type: fc.oneof(fc.constantFrom(41, 1, 250, 0), u16),
    ttl: fc.constantFrom(0, 0x8000, 0x01000000, 0xffffffff),
    rdlength: fc.option(u16),
    rdata: bytes(30),
  }),
);

/** Offsets worth aiming a mutation at: the question name's labels, its end, the records after it. */
function landmarks(msg: Buffer): number[] {
  const marks = [0, 2, 4, 10, HEADER];
  let o = HEADER;
  while (o < msg.length && msg[o] !== 0 && marks.length < 300) {
    o += 1 + (msg[o] as number);
    marks.push(o);
  }
  marks.push(o + 1, o + 5, o + 6, o + 7);
  return marks.filter((m) => m < msg.length);
}

function mutate(input: Buffer, mutations: Array<[Mutation, boolean]>): Buffer {
  let msg = Buffer.from(input);
  for (const [m, aim] of mutations) {
    const marks = landmarks(msg);
    const at = (p: number): number => (aim && marks.length > 0 ? (marks[p % marks.length] as number) : msg.length === 0 ? 0 : p % msg.length);
    switch (m.kind) {
      case 'flip':
        if (msg.length) msg[at(m.pos)] = (msg[at(m.pos)] as number) ^ (1 << m.bit);
        break;
      case 'set':
        if (msg.length) msg[at(m.pos)] = m.value;
        break;
      case 'insert': {
        const p = msg.length ? at(m.pos) : 0;
        msg = Buffer.concat([msg.subarray(0, p), m.data, msg.subarray(p)]);
        break;
      }
      case 'delete': {
        const p = at(m.pos);
        msg = Buffer.concat([msg.subarray(0, p), msg.subarray(p + m.len)]);
        break;
      }
      case 'truncate':
        msg = msg.subarray(0, msg.length ? m.len % (msg.length + 1) : 0);
        break;
      case 'count':
        if (msg.length >= HEADER) msg.writeUInt16BE(m.value, 4 + 2 * m.field);
        break;
      case 'pointer':
      case 'selfPointer': {
        if (msg.length < 2) break;
        const p = Math.min(at(m.at), msg.length - 2);
        const target = m.kind === 'pointer' ? m.target & 0x3fff : p;
        msg.writeUInt16BE(0xc000 | target, p);
        break;
      }
      case 'flags':
        if (msg.length >= 4) msg.writeUInt16BE(m.value, 2);
        break;
      case 'append':
        msg = Buffer.concat([msg, m.data]);
        break;
      case 'record': {
        const fixed = Buffer.alloc(10);
        fixed.writeUInt16BE(m.type, 0);
        fixed.writeUInt16BE(m.type === 41 ? 1232 : 1, 2);
        fixed.writeUInt32BE(m.ttl, 4);
        fixed.writeUInt16BE(m.rdlength ?? m.rdata.length, 8);
        msg = Buffer.concat([msg, m.owner, fixed, m.rdata]);
        if (msg.length >= HEADER) msg.writeUInt16BE((msg.readUInt16BE(4 + 2 * m.section) + 1) & 0xffff, 4 + 2 * m.section);
        break;
      }
    }
  }
  return msg;
}

const wellFormedArb: fc.Arbitrary<Buffer> = fc.oneof(builtQueryArb, rawQueryArb.map(encodeRaw));
const mutatedArb: fc.Arbitrary<Buffer> = fc
  .tuple(wellFormedArb, fc.array(fc.tuple(mutationArb, fc.boolean()), { minLength: 1, maxLength: 4 }))
  .map(([q, ms]) => mutate(q, ms));
/** Mostly mutated queries, some intact, some pure noise behind a plausible header. */
const anyQueryArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 5, arbitrary: mutatedArb },
  { weight: 2, arbitrary: builtQueryArb },
  { weight: 1, arbitrary: rawQueryArb.map(encodeRaw) },
  { weight: 1, arbitrary: fc.tuple(u16, noise(300)).map(([id, body]) => Buffer.concat([be16(id), be16(0), be16(1), be16(0), be16(0), be16(0), body])) },
);

/**
 * Pipelines `msgs` on one TCP connection and collects as many replies. Like the helpers'
 * tcpExchange, but it closes with a reset: a client that closes first leaves its port in
 * TIME_WAIT for a minute, and enough of those make other tests' listeners fail with EADDRINUSE.
 */
function tcpPipeline(port: number, msgs: Buffer[], timeoutMs = 3000): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    const replies: Buffer[] = [];
    let pending = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.resetAndDestroy();
      reject(new Error(`TCP: ${replies.length} of ${msgs.length} replies before the timeout`));
    }, timeoutMs);
    s.on('connect', () => s.write(Buffer.concat(msgs.map((m) => Buffer.concat([be16(m.length), m])))));
    s.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        replies.push(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        pending = pending.subarray(2 + pending.readUInt16BE(0));
      }
      if (replies.length === msgs.length) {
        clearTimeout(timer);
        s.resetAndDestroy();
        resolve(replies);
      }
    });
    s.on('close', () => {
      clearTimeout(timer);
      if (replies.length < msgs.length) reject(new Error(`TCP: the server closed after ${replies.length} of ${msgs.length} replies`));
    });
    s.on('error', () => {});
  });
}

// ---------------------------------------------------------------------------------------------
// Invariants

function fail(msg: Buffer, why: string): never {
  throw new Error(`${why}\n  message (${msg.length} bytes): ${msg.toString('hex')}`);
}

/** Everything a ParseResult claims must hold of the message; throws naming the broken claim. */
function checkParse(msg: Buffer): ParseResult {
  const before = Buffer.from(msg);
  const r = parseQuery(msg);
  if (!before.equals(msg)) fail(msg, 'parseQuery modified its input');
  const again = parseQuery(msg);
  if (JSON.stringify(again) !== JSON.stringify(r)) fail(msg, `parseQuery is not deterministic: ${JSON.stringify(r)} then ${JSON.stringify(again)}`);

  if (!r.ok && r.drop) {
    if (!(msg.length < HEADER || ((msg[2] as number) & 0x80) !== 0)) fail(msg, `dropped a message with a header and QR=0: ${r.reason}`);
    return r;
  }
  if (msg.length < HEADER) fail(msg, 'answered a message shorter than a header');
  if (((msg[2] as number) & 0x80) !== 0) fail(msg, 'answered a response (QR=1)');
  const q = r.query;
  if (q.id !== msg.readUInt16BE(0)) fail(msg, `id ${q.id} is not the message's`);
  const opcode = (msg.readUInt16BE(2) >> 11) & 0xf;
  if (q.opcode !== opcode) fail(msg, `opcode ${q.opcode}, message has ${opcode}`);
  if (q.echoFlags & ~0x0110) fail(msg, `echoFlags ${q.echoFlags} has bits other than RD and CD`);
  if (q.questionEnd < HEADER || q.questionEnd > msg.length) fail(msg, `questionEnd ${q.questionEnd} outside [12, ${msg.length}]`);
  if (q.edns) {
    if (q.edns.version < 0 || q.edns.version > 255 || q.edns.udpSize < 0 || q.edns.udpSize > 0xffff) fail(msg, `EDNS fields out of range: ${JSON.stringify(q.edns)}`);
  }
  if (!r.ok) {
    if (r.rcode !== 1 && r.rcode !== 4) fail(msg, `unexpected rcode ${r.rcode} (${r.reason})`);
    if (r.rcode === 4 && opcode === 0) fail(msg, 'NOTIMP for opcode QUERY');
    if (r.rcode === 1 && opcode !== 0) fail(msg, `FORMERR for opcode ${opcode}: should be NOTIMP`);
    if (q.questionEnd > HEADER) checkQuestion(msg, q);
    return r;
  }
  if (opcode !== 0) fail(msg, `accepted opcode ${opcode}`);
  if (msg.readUInt16BE(4) !== 1) fail(msg, 'accepted QDCOUNT other than 1');
  checkQuestion(msg, q);
  return r;
}

/** The question [12, questionEnd) is uncompressed labels, at most 255 bytes, and qname/qtype/qclass are read from it. */
function checkQuestion(msg: Buffer, q: { qname: string; qtype: number; qclass: number; qnameEnd: number; questionEnd: number }): void {
  if (q.qnameEnd + 4 !== q.questionEnd) fail(msg, `qnameEnd ${q.qnameEnd} + 4 != questionEnd ${q.questionEnd}`);
  if (q.qnameEnd - HEADER > 255) fail(msg, `question name of ${q.qnameEnd - HEADER} bytes, over 255`);
  const labels: Buffer[] = [];
  let o = HEADER;
  for (;;) {
    const len = msg[o] as number;
    if (len === 0) break;
    if (len > 63) fail(msg, `accepted a label of type/length 0x${len.toString(16)} at ${o}`);
    labels.push(msg.subarray(o + 1, o + 1 + len));
    o += 1 + len;
    if (o >= q.qnameEnd) fail(msg, 'question name runs past qnameEnd');
  }
  if (o + 1 !== q.qnameEnd) fail(msg, `root label at ${o}, qnameEnd ${q.qnameEnd}`);
  if (q.qname !== expectedQname(labels)) fail(msg, `qname ${JSON.stringify(q.qname)}, expected ${JSON.stringify(expectedQname(labels))}`);
  if (q.qtype !== msg.readUInt16BE(q.qnameEnd) || q.qclass !== msg.readUInt16BE(q.qnameEnd + 2)) fail(msg, 'qtype/qclass not read from after the name');
}

const RCODES = { NOERROR: 0, FORMERR: 1, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/**
 * A response driad sent for `msg`: decodable by dns-packet (and by driad's own AMTRELAY-aware
 * decoder) with nothing left over, same ID, QR=1, the opcode, RD and CD echoed, the question
 * echoed verbatim, within the transport's size limit, and an OPT exactly when the query had one.
 */
function checkResponse(msg: Buffer, parsed: Exclude<ParseResult, { drop: true }>, resp: Buffer, limit: number): void {
  const ctx = (why: string): never => fail(msg, `${why}\n  response (${resp.length} bytes): ${resp.toString('hex')}`);
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(resp);
  } catch (err) {
    return ctx(`dns-packet cannot decode the response: ${(err as Error).message}`);
  }
  if (dnsPacket.decode.bytes !== resp.length) ctx(`dns-packet read ${dnsPacket.decode.bytes} of ${resp.length} bytes`);
  try {
    decodeMessage(resp);
  } catch (err) {
    ctx(`driad's decoder cannot decode the response: ${(err as Error).message}`);
  }
  if (resp.length > limit) ctx(`response of ${resp.length} bytes exceeds the limit ${limit}`);
  const q = parsed.query;
  const flags = resp.readUInt16BE(2);
  const qflags = msg.readUInt16BE(2);
  if (resp.readUInt16BE(0) !== msg.readUInt16BE(0)) ctx('response ID differs from the query ID');
  if (!(flags & 0x8000)) ctx('QR=0 in the response');
  if (((flags >> 11) & 0xf) !== ((qflags >> 11) & 0xf)) ctx('opcode not echoed');
  if ((flags & 0x0110) !== (qflags & 0x0110)) ctx('RD/CD not echoed');
  if (flags & 0x0080) ctx('RA set by an authoritative-only server');
  const rcode = flags & 0xf;
  const opt = packet.additionals?.find((a) => a.type === 'OPT') as { udpPayloadSize: number; extendedRcode: number; ednsVersion: number; flags: number } | undefined;
  const fullRcode = rcode | ((opt?.extendedRcode ?? 0) << 4);
  if (!!opt !== !!q.edns) ctx(`OPT in the response: ${!!opt}, in the query: ${!!q.edns}`);
  if (opt && q.edns) {
    if (opt.ednsVersion !== 0 || opt.udpPayloadSize !== OUR_UDP_SIZE) ctx(`OPT version ${opt.ednsVersion}, size ${opt.udpPayloadSize}`);
    if (((opt.flags & 0x8000) !== 0) !== q.edns.dnssecOk) ctx('DO bit not copied');
  }
  const qdcount = resp.readUInt16BE(4);
  if (qdcount > 1) ctx(`QDCOUNT ${qdcount}`);
  if (qdcount === 1 && !resp.subarray(HEADER, q.questionEnd).equals(msg.subarray(HEADER, q.questionEnd))) ctx('question not echoed verbatim');
  if (qdcount === 0 && q.questionEnd !== HEADER) ctx('question dropped from the response');
  const tc = (flags & 0x0200) !== 0;
  if (tc && (resp.readUInt16BE(6) !== 0 || resp.readUInt16BE(8) !== 0)) ctx('TC=1 with records in ANSWER or AUTHORITY');
  const aa = (flags & 0x0400) !== 0;

  if (!parsed.ok) {
    if (fullRcode !== parsed.rcode) ctx(`rcode ${fullRcode}, parser said ${parsed.rcode} (${parsed.reason})`);
    if (aa || tc || resp.readUInt16BE(6) || resp.readUInt16BE(8)) ctx('an error response with AA, TC or records');
    return;
  }
  if (q.edns && q.edns.version > 0) {
    if (fullRcode !== 16) ctx(`EDNS version ${q.edns.version} answered with rcode ${fullRcode}, not BADVERS`);
    return;
  }
  // RFC 7871 §7.2.1: a malformed Client Subnet option is a FORMERR, decided past the parser.
  const ecsFault = readClientSubnet(q.edns);
  if (typeof ecsFault === 'string') {
    if (fullRcode !== RCODES.FORMERR) ctx(`malformed Client Subnet (${ecsFault}) answered with rcode ${fullRcode}, not FORMERR`);
    return;
  }
  if (![RCODES.NOERROR, RCODES.NXDOMAIN, RCODES.REFUSED].includes(fullRcode as 0)) ctx(`rcode ${fullRcode} for a well-formed query`);
  if (fullRcode === RCODES.REFUSED && (aa || resp.readUInt16BE(6))) ctx('REFUSED with AA or answers');
  if (fullRcode !== RCODES.REFUSED && !aa) ctx(`rcode ${fullRcode} without AA`);
  if (fullRcode === RCODES.NXDOMAIN && !tc && (resp.readUInt16BE(6) !== 0 || resp.readUInt16BE(8) !== 1)) ctx('NXDOMAIN without exactly the SOA');
  if (!tc) {
    for (const a of packet.answers ?? []) {
      if (a.name.toLowerCase() !== packet.questions?.[0]?.name.toLowerCase() && q.qtype !== 5 && !packet.answers?.some((c) => c.type === 'CNAME')) {
        ctx(`answer owner ${a.name} is not the question name`);
      }
    }
    for (const s of packet.authorities ?? []) if (s.type !== 'SOA') ctx(`${s.type} in AUTHORITY`);
  }
}

const udpLimit = (parsed: Exclude<ParseResult, { drop: true }>): number =>
  parsed.query.edns ? Math.max(512, Math.min(parsed.query.edns.udpSize, OUR_UDP_SIZE)) : 512;

// ---------------------------------------------------------------------------------------------

test('parseQuery: arbitrary bytes never throw and every claim about them holds', (t) => {
  const outcomes = new Map<string, number>();
  const tally = (r: ParseResult): void => {
    const k = r.ok ? 'ok' : r.drop ? 'drop' : `rcode ${r.rcode}`;
    outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  };
  fc.assert(
    fc.property(noise(600), (a) => void tally(checkParse(a))),
    params(t, 3000),
  );
  // The same behind a header that asks one question, so the noise reaches the question parser.
  fc.assert(
    fc.property(u16, fc.constantFrom(0, 0x0100, 0x0110), noise(600), (id, flags, body) =>
      void tally(checkParse(Buffer.concat([be16(id), be16(flags), be16(1), be16(0), be16(0), be16(0), body]))),
    ),
    params(t, 3000),
  );
  t.log(Object.fromEntries(outcomes));
  t.true((outcomes.get('drop') ?? 0) > 0 && (outcomes.get('rcode 1') ?? 0) > 0, 'noise should hit both drop and FORMERR');
});

test('parseQuery: well-formed queries are read exactly (qname, qtype, qclass, EDNS)', (t) => {
  fc.assert(
    fc.property(rawQueryArb, (q) => {
      const msg = encodeRaw(q);
      const r = checkParse(msg);
      const wireLength = q.labels.reduce((n, l) => n + 1 + l.length, 1);
      if (q.flags & 0x8000) {
        if (r.ok || !r.drop) fail(msg, 'a response (QR=1) was not dropped');
        return;
      }
      if ((q.flags >> 11) & 0xf) {
        if (r.ok || r.drop || r.rcode !== 4) fail(msg, `opcode ${(q.flags >> 11) & 0xf}: expected NOTIMP, got ${JSON.stringify(r)}`);
        return;
      }
      if (wireLength > 255) {
        if (r.ok || r.drop || r.rcode !== 1) fail(msg, `a ${wireLength}-byte name: expected FORMERR, got ${JSON.stringify(r)}`);
        return;
      }
      if (!r.ok) return fail(msg, `rejected a well-formed query: ${r.reason}`);
      const got = r.query;
      if (got.qname !== expectedQname(q.labels)) fail(msg, `qname ${got.qname}`);
      if (got.qtype !== q.qtype || got.qclass !== q.qclass || got.id !== q.id) fail(msg, 'qtype, qclass or id misread');
      if (got.questionEnd !== HEADER + wireLength + 4) fail(msg, `questionEnd ${got.questionEnd}`);
      if (got.echoFlags !== (q.flags & 0x0110)) fail(msg, `echoFlags ${got.echoFlags}`);
      if (!q.opt) {
        if (got.edns) fail(msg, 'EDNS without an OPT record');
        return;
      }
      const e = got.edns;
      if (!e || e.udpSize !== q.opt.udpSize || e.version !== q.opt.version || e.dnssecOk !== ((q.opt.flags & 0x8000) !== 0)) fail(msg, `EDNS misread: ${JSON.stringify(e)}`);
      if (JSON.stringify(e.options.map((o) => [o.code, o.data.toString('hex')])) !== JSON.stringify(q.opt.options.map((o) => [o.code, o.data.toString('hex')]))) {
        fail(msg, 'EDNS options misread');
      }
    }),
    params(t, 3000),
  );
  t.pass();
});

test('parseQuery: mutated queries (bit flips, inserts, cuts, counts, compression pointers and loops) never throw', (t) => {
  const outcomes = new Map<string, number>();
  fc.assert(
    fc.property(mutatedArb, (msg) => {
      const r = checkParse(msg);
      const k = r.ok ? (r.query.edns ? 'ok+edns' : 'ok') : r.drop ? 'drop' : `rcode ${r.rcode}`;
      outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
    }),
    params(t, 6000),
  );
  t.log(Object.fromEntries(outcomes));
  for (const k of ['ok', 'ok+edns', 'drop', 'rcode 1', 'rcode 4']) t.true((outcomes.get(k) ?? 0) > 0, `no mutated query ended as ${k}`);
});

/** Enough relays that AMTRELAY answers (about 1 KB) overflow 512 bytes, so truncation is fuzzed too. */
const MANY_RELAYS = `relays:\n${Array.from({ length: 30 }, (_, i) => `  - { name: r${i}, kind: linux, ipv6: "2001:db8::${i + 1}", precedence: ${30 + i} }`).join('\n')}\n`;

/** What kind of response this was, to show the fuzzer reached every kind. */
function kindOf(resp: Buffer): string {
  const flags = resp.readUInt16BE(2);
  const p = dnsPacket.decode(resp);
  const ext = (p.additionals?.find((a) => a.type === 'OPT') as { extendedRcode?: number } | undefined)?.extendedRcode ?? 0;
  const rcode = (flags & 0xf) | (ext << 4);
  if (flags & 0x0200) return 'TC';
  if (rcode === 0) return resp.readUInt16BE(6) > 0 ? 'answer' : 'NODATA';
  return String(rcode);
}

test('server: every UDP response to a fuzzed query decodes cleanly, matches the query and fits the client size', async (t) => {
  const d = await startTestDriad(MANY_RELAYS);
  t.teardown(() => d.stop(0));
  const kinds = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(anyQueryArb, async (msg) => {
      const parsed = checkParse(msg);
      if (!parsed.ok && parsed.drop) return; // no answer is expected; the server fuzz test covers these
      let resp: Buffer;
      try {
        resp = await udpExchange(d.dnsPort, msg, '127.0.0.1', 1000);
      } catch (err) {
        return fail(msg, `no UDP response: ${(err as Error).message}`);
      }
      checkResponse(msg, parsed, resp, udpLimit(parsed));
      const k = kindOf(resp);
      kinds.set(k, (kinds.get(k) ?? 0) + 1);
    }),
    params(t, 800),
  );
  t.log(Object.fromEntries(kinds));
  // answer, NODATA, FORMERR, NXDOMAIN, NOTIMP, REFUSED, BADVERS, truncated
  for (const k of ['answer', 'NODATA', '1', '3', '4', '5', '16', 'TC']) t.true((kinds.get(k) ?? 0) > 0, `no fuzzed query got a ${k} response`);
  const r = decodeMessage(await udpExchange(d.dnsPort, buildQuery(NAMES[0] as string, 'A')));
  t.deepEqual(r.answers.map((a) => a.data), ['69.25.95.1']);
});

test('server: pipelined fuzzed queries over TCP are answered in order, each response clean', async (t) => {
  const d = await startTestDriad(MANY_RELAYS);
  t.teardown(() => d.stop(0));
  await fc.assert(
    fc.asyncProperty(fc.array(anyQueryArb, { minLength: 1, maxLength: 25 }), async (batch) => {
      // A message driad drops closes the connection (RFC 7766 §7), so only answerable ones are sent here.
      const sendable = batch.map((m) => [m, checkParse(m)] as const).filter((x): x is readonly [Buffer, Exclude<ParseResult, { drop: true }>] => x[1].ok || !x[1].drop);
      if (sendable.length === 0) return;
      const replies = await tcpPipeline(
        d.dnsPort,
        sendable.map(([m]) => m),
      );
      replies.forEach((resp, i) => {
        const [msg, parsed] = sendable[i] as readonly [Buffer, Exclude<ParseResult, { drop: true }>];
        checkResponse(msg, parsed, resp, 65535);
      });
    }),
    params(t, 60),
  );
  const [ok] = await tcpPipeline(d.dnsPort, [buildQuery(NAMES[0] as string, 'AMTRELAY')]);
  t.is(decodeMessage(ok as Buffer).answers.length, 32);
});

// RFC 6891 §6.1.1: "If an OPT record is present in a received request, compliant responders
// MUST include an OPT record in their respective responses." §7: a FORMERR for a problem with
// the OPT record itself "MUST include an OPT record", so the client can tell a server without
// EDNS from a format error within EDNS.
const withOptArb = rawQueryArb.filter((q) => q.opt !== null && q.opt.version === 0 && q.labels.reduce((n, l) => n + 1 + l.length, 1) <= 255);

async function errorKeepsOpt(t: ExecutionContext, cases: fc.Arbitrary<Buffer>, rcode: number): Promise<void> {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  await fc.assert(
    fc.asyncProperty(cases, async (msg) => {
      const resp = await udpExchange(d.dnsPort, msg, '127.0.0.1', 1000);
      const p = dnsPacket.decode(resp);
      if ((resp.readUInt16BE(2) & 0xf) !== rcode) fail(msg, `expected rcode ${rcode}, got ${resp.readUInt16BE(2) & 0xf}`);
      const opt = p.additionals?.find((a) => a.type === 'OPT') as { ednsVersion: number } | undefined;
      if (!opt) fail(msg, `rcode ${rcode} response without an OPT record, to a query with one\n  response: ${resp.toString('hex')}`);
      if (opt.ednsVersion !== 0) fail(msg, `OPT version ${opt.ednsVersion}`);
    }),
    params(t, 100),
  );
  t.pass();
}

test('server: NOTIMP for an unknown opcode keeps the OPT record of the query (RFC 6891 §6.1.1)', async (t) => {
  // NOTIFY, UPDATE, unassigned opcodes... with a well-formed EDNS query otherwise.
  const cases = fc.tuple(withOptArb, fc.integer({ min: 1, max: 15 })).map(([q, opcode]) => encodeRaw({ ...q, flags: (q.flags & 0x0110) | (opcode << 11) }));
  await errorKeepsOpt(t, cases, 4);
});

test('server: FORMERR for a malformed EDNS option carries an OPT record (RFC 6891 §7)', async (t) => {
  // The last option's length runs past the end of the OPT rdata.
  const cases = fc.tuple(withOptArb, fc.integer({ min: 1, max: 300 })).map(([q, extra]) => {
    const opt = q.opt as NonNullable<RawQuery['opt']>;
    const msg = encodeRaw({ ...q, flags: q.flags & 0x0110, opt: { ...opt, options: [...opt.options, { code: 10, data: Buffer.alloc(8) }] } });
    msg.writeUInt16BE(8 + extra, msg.length - 10);
    return msg;
  });
  await errorKeepsOpt(t, cases, 1);
});
