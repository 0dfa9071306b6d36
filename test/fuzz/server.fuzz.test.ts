// Fuzzing the running server over the network: hundreds of random and mutated datagrams, and
// TCP connections carrying random framing (garbage, huge length prefixes, zero-length frames,
// messages split across writes, clients that stall or vanish). Afterwards the server must still
// answer correctly, must have answered exactly what it should have, and must have counted the
// bad input.
//
// Reproduce a failure with the seed it prints: FUZZ_SEED=<seed> npx ava test/fuzz/server.fuzz.test.ts

import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import dnsPacket from 'dns-packet';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { parseQuery } from '../../src/dns/wire/query.ts';
import { startTestDriad } from '../helpers/driad.ts';
import { buildQuery, decodeMessage, udpExchange, type QueryOptions } from '../helpers/dns-client.ts';

const SEED = process.env.FUZZ_SEED !== undefined ? Number.parseInt(process.env.FUZZ_SEED, 10) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
if (!Number.isInteger(SEED)) throw new Error(`FUZZ_SEED must be an integer, got ${process.env.FUZZ_SEED}`);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);

const NAME = '10.95.25.69.amt.in-addr.arpa';
const IDLE_MS = 800;

/** Samples `n` values of `arb` from the run's seed (offset per use, so each phase differs). */
function sample<T>(t: ExecutionContext, arb: fc.Arbitrary<T>, n: number, salt: number): T[] {
  const numRuns = Math.max(1, Math.round(n * SCALE));
  t.log(`FUZZ_SEED=${SEED} (phase ${salt}: ${numRuns} cases)`);
  return fc.sample(arb, { seed: (SEED + salt) | 0, numRuns });
}

// ---------------------------------------------------------------------------------------------
// Packets: random bytes, and valid queries with a few mutations each.

const NAMES = [NAME, '1.2.3.4.amt.in-addr.arpa', '300.1.2.3.amt.in-addr.arpa', '69.amt.in-addr.arpa', 'amt.in-addr.arpa', '8.b.d.0.1.0.0.2.amt.ip6.arpa', 'example.com'];
const TYPES = ['A', 'AAAA', 'AMTRELAY', 'TXT', 'SOA', 'ANY', 'AXFR'];
const EDNS: QueryOptions[] = [{}, { udpSize: 512 }, { udpSize: 4096, dnssecOk: true }, { udpSize: 1232, ednsVersion: 1 }];

const bytes = (maxLength: number, minLength = 0): fc.Arbitrary<Buffer> =>
  fc.oneof(fc.uint8Array({ minLength, maxLength }), fc.uint8Array({ minLength, maxLength, size: 'max' })).map((a) => Buffer.from(a));
const u16 = fc.integer({ min: 0, max: 0xffff });

const validArb = fc
  .tuple(fc.constantFrom(...NAMES), fc.constantFrom(...TYPES), fc.constantFrom(...EDNS), u16)
  .map(([name, type, edns, id]) => buildQuery(name, type, { ...edns, id }));

type Mutation = (m: Buffer) => Buffer;
const at = (m: Buffer, p: number): number => (m.length === 0 ? 0 : p % m.length);
const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([p, bit]): Mutation => (m) => (m.length ? (m[at(m, p)] = (m[at(m, p)] as number) ^ (1 << bit), m) : m)),
  fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([p, v]): Mutation => (m) => (m.length ? ((m[at(m, p)] = v), m) : m)),
  fc.tuple(fc.nat(), bytes(8, 1)).map(([p, b]): Mutation => (m) => Buffer.concat([m.subarray(0, at(m, p)), b, m.subarray(at(m, p))])),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 8 })).map(([p, n]): Mutation => (m) => Buffer.concat([m.subarray(0, at(m, p)), m.subarray(at(m, p) + n)])),
  fc.nat().map((n): Mutation => (m) => m.subarray(0, n % (m.length + 1))),
  fc.tuple(fc.integer({ min: 0, max: 3 }), fc.oneof(fc.integer({ min: 0, max: 3 }), u16)).map(([f, v]): Mutation => (m) => (m.length >= 12 && m.writeUInt16BE(v, 4 + 2 * f), m)),
  // A compression pointer, possibly to itself, at the question name or anywhere.
  fc.tuple(fc.oneof(fc.constant(12), fc.nat()), fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 0x3fff }))).map(([p, target]): Mutation => (m) => {
    if (m.length < 2) return m;
    const pos = Math.min(p === 12 ? 12 : at(m, p), m.length - 2);
    m.writeUInt16BE(0xc000 | (target < 0 ? pos : target), pos);
    return m;
  }),
  fc.oneof(fc.constantFrom(0x8000, 0x2800, 0x7800), u16).map((v): Mutation => (m) => (m.length >= 4 && m.writeUInt16BE(v, 2), m)),
  bytes(40, 1).map((b): Mutation => (m) => Buffer.concat([m, b])),
);
const mutatedArb = fc.tuple(validArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([q, ms]) => ms.reduce<Buffer>((m, f) => f(m), Buffer.from(q)));
const packetArb: fc.Arbitrary<Buffer> = fc.oneof({ weight: 2, arbitrary: bytes(600) }, { weight: 4, arbitrary: mutatedArb }, { weight: 1, arbitrary: validArb });

const answerable = (m: Buffer): boolean => {
  const r = parseQuery(m);
  return r.ok || !r.drop;
};

function assertReply(t: ExecutionContext, reply: Buffer, label: string): void {
  let decoded: dnsPacket.DecodedPacket | null = null;
  try {
    decoded = dnsPacket.decode(reply);
  } catch (err) {
    t.fail(`${label}: reply does not decode (${(err as Error).message}): ${reply.toString('hex')}`);
    return;
  }
  t.is(dnsPacket.decode.bytes, reply.length, `${label}: trailing bytes in ${reply.toString('hex')}`);
  t.true(((reply[2] as number) & 0x80) !== 0, `${label}: QR=0 in a reply`);
  t.truthy(decoded);
}

async function assertHealthy(t: ExecutionContext, port: number, when: string): Promise<void> {
  const udp = decodeMessage(await udpExchange(port, buildQuery(NAME, 'AMTRELAY', { id: 0xbeef })));
  t.is(udp.id, 0xbeef, when);
  t.deepEqual(udp.answers.map((a) => (a.data as { relay: string }).relay), ['69.25.95.1', '192.0.2.10'], when);
  const r = decodeMessage(await tcpAsk(port, buildQuery(NAME, 'A', { id: 0xcafe })));
  t.is(r.id, 0xcafe, when);
  t.deepEqual(r.answers.map((a) => a.data), ['69.25.95.1'], when);
}

function badInput(d: { metrics: { get(n: string, l?: Record<string, string>): number } }): Record<string, number> {
  const get = (kind: string) => d.metrics.get('driad_bad_input_total', { component: 'dns', kind });
  return { dropped: get('dropped'), FORMERR: get('FORMERR'), NOTIMP: get('NOTIMP') };
}

// ---------------------------------------------------------------------------------------------

test('UDP: hundreds of random and mutated datagrams get exactly the replies they should, and the server stays correct', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const before = badInput(d);
  const packets = sample(t, packetArb, 500, 1);
  const expected = packets.filter(answerable).length;

  const socket = createSocket('udp4');
  t.teardown(() => socket.close());
  const replies: Buffer[] = [];
  socket.on('message', (m) => replies.push(m));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  const sentIds = new Set<number>();
  const caughtUp = async (n: number): Promise<void> => {
    for (const end = Date.now() + 3000; replies.length < n && Date.now() < end; ) await new Promise((r) => setTimeout(r, 5));
  };
  let answerableSent = 0;
  for (const [i, p] of packets.entries()) {
    if (p.length >= 2) sentIds.add(p.readUInt16BE(0));
    if (answerable(p)) answerableSent++;
    await new Promise<void>((resolve, reject) => socket.send(p, d.dnsPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    // Paced, a few dozen in flight at most, so the kernel never has a reason to drop any.
    if (i % 25 === 24) await caughtUp(answerableSent);
    if (i % 100 === 99) await assertHealthy(t, d.dnsPort, `after ${i + 1} fuzzed datagrams`);
  }
  await caughtUp(expected);
  await new Promise((r) => setTimeout(r, 100)); // any extra, unexpected replies
  t.is(replies.length, expected, `${packets.length} datagrams, ${expected} answerable, ${replies.length} replies`);
  for (const r of replies) {
    assertReply(t, r, 'UDP');
    t.true(sentIds.has(r.readUInt16BE(0)), `reply with an ID nobody sent: ${r.toString('hex')}`);
    t.true(r.length <= 1232, `a ${r.length}-byte UDP reply`);
  }

  // A burst, without waiting between sends: nothing may crash or wedge the listener. A burst
  // this size overflows the listener's socket buffer, so the kernel drops some datagrams (and
  // maybe the first probe after it); the server must be answering again once it has drained.
  const burst = sample(t, packetArb, 300, 2);
  await Promise.all(burst.map((p) => new Promise<void>((resolve) => socket.send(p, d.dnsPort, '127.0.0.1', () => resolve()))));
  let drained = false;
  for (const end = Date.now() + 3000; !drained && Date.now() < end; ) {
    drained = await udpExchange(d.dnsPort, buildQuery(NAME, 'A'), '127.0.0.1', 250).then(
      () => true,
      () => false,
    );
  }
  t.true(drained, 'the server stopped answering after a burst of fuzzed datagrams');
  await assertHealthy(t, d.dnsPort, 'after a burst');

  const after = badInput(d);
  t.log({ before, after, replies: replies.length, sent: packets.length + burst.length });
  t.true(after.dropped > before.dropped, 'driad_bad_input_total{kind="dropped"} did not go up');
  t.true(after.FORMERR > before.FORMERR, 'driad_bad_input_total{kind="FORMERR"} did not go up');
  t.true(after.NOTIMP > before.NOTIMP, 'driad_bad_input_total{kind="NOTIMP"} did not go up');
});

// TCP scenarios. `stream` is everything the client writes, in `chunks` writes; then it
//   end:    half-closes (FIN) and reads until the server closes;
//   reset:  reads the replies it is owed, then resets (RST);
//   vanish: resets straight after writing, replies or not;
//   hang:   keeps the connection open; only the server's idle timeout can close it.
// Resets keep the client's port out of TIME_WAIT: a client that closes first parks its port
// for a minute, and enough parked ports make other tests' listeners fail with EADDRINUSE.
type Ending = 'end' | 'reset' | 'vanish' | 'hang';
interface TcpCase {
  name: string;
  stream: Buffer;
  chunks: number;
  ending: Ending;
}

const frame = (m: Buffer): Buffer => Buffer.concat([Buffer.of(m.length >> 8, m.length & 0xff), m]);
const endingArb = fc.oneof({ weight: 1, arbitrary: fc.constant<Ending>('end') }, { weight: 4, arbitrary: fc.constant<Ending>('reset') }, { weight: 1, arbitrary: fc.constant<Ending>('vanish') });

const tcpCaseArb: fc.Arbitrary<TcpCase> = fc.oneof(
  // Well-framed messages (fuzzed or not), maybe with garbage after them.
  fc
    .tuple(fc.array(packetArb, { minLength: 1, maxLength: 6 }), fc.option(bytes(50, 1)), fc.integer({ min: 1, max: 6 }), endingArb)
    .map(([msgs, tail, chunks, ending]) => ({ name: 'frames', stream: Buffer.concat([...msgs.map(frame), tail ?? Buffer.alloc(0)]), chunks, ending })),
  // A huge (or just too long) length prefix, fewer bytes than it promises, then the client goes away.
  fc
    .tuple(fc.oneof(fc.constant(0xffff), fc.integer({ min: 0x8000, max: 0xffff }), fc.integer({ min: 600, max: 0xffff })), bytes(300), endingArb)
    .map(([len, body, ending]) => ({ name: `prefix ${len}`, stream: Buffer.concat([Buffer.of(len >> 8, len & 0xff), body.subarray(0, Math.min(body.length, len - 1))]), chunks: 2, ending })),
  // A zero-length frame, before or after a good one.
  fc
    .tuple(validArb, fc.boolean(), endingArb)
    .map(([q, first, ending]) => ({ name: 'zero-length frame', stream: first ? Buffer.concat([Buffer.of(0, 0), frame(q)]) : Buffer.concat([frame(q), Buffer.of(0, 0)]), chunks: 1, ending })),
  // Pure noise.
  fc.tuple(bytes(2000, 1), fc.integer({ min: 1, max: 8 }), endingArb).map(([stream, chunks, ending]) => ({ name: 'noise', stream, chunks, ending })),
);

/**
 * What driad must send back for a stream: a reply per complete frame, in order, until the first
 * frame it drops (then it closes the connection, RFC 7766 §7). Frames are exactly what is
 * answerable by parseQuery, the parser the server itself uses; so this models the framing only.
 */
function expectedReplies(stream: Buffer): { ids: number[]; closesItself: boolean } {
  const ids: number[] = [];
  let o = 0;
  while (stream.length - o >= 2) {
    const len = stream.readUInt16BE(o);
    if (stream.length - o - 2 < len) break;
    const m = stream.subarray(o + 2, o + 2 + len);
    if (!answerable(m)) return { ids, closesItself: true };
    ids.push(m.readUInt16BE(0));
    o += 2 + len;
  }
  return { ids, closesItself: false };
}

function splitFrames(received: Buffer): { replies: Buffer[]; leftover: number } {
  const replies: Buffer[] = [];
  let o = 0;
  while (received.length - o >= 2 && received.length - o - 2 >= received.readUInt16BE(o)) {
    replies.push(received.subarray(o + 2, o + 2 + received.readUInt16BE(o)));
    o += 2 + received.readUInt16BE(o);
  }
  return { replies, leftover: received.length - o };
}

/** Plays one case; resolves with the replies received and how long the server took to close. */
function play(port: number, c: TcpCase): Promise<{ replies: Buffer[]; closedAfterMs: number; leftover: number; closedByServer: boolean }> {
  const want = expectedReplies(c.stream);
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1' });
    let received = Buffer.alloc(0);
    let start = 0;
    let written = false;
    let resetting = false;
    const timer = setTimeout(() => {
      s.resetAndDestroy();
      reject(new Error(`${c.name} (${c.ending}): the connection was not closed in time (stream ${c.stream.subarray(0, 64).toString('hex')}...)`));
    }, 5000);
    // For 'reset': once every owed reply is in (and a moment for unexpected extras), reset.
    const maybeReset = (): void => {
      if (c.ending !== 'reset' || !written || resetting || want.closesItself) return;
      if (splitFrames(received).replies.length < want.ids.length) return;
      resetting = true;
      setTimeout(() => s.resetAndDestroy(), 30);
    };
    s.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      maybeReset();
    });
    s.on('error', () => {}); // a reset after the server drops us is fine
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ ...splitFrames(received), closedAfterMs: performance.now() - start, closedByServer: !resetting && c.ending !== 'vanish' });
    });
    s.on('connect', async () => {
      const size = Math.ceil(c.stream.length / c.chunks) || 1;
      for (let o = 0; o < c.stream.length && !s.destroyed; o += size) {
        s.write(c.stream.subarray(o, o + size));
        await new Promise((r) => setTimeout(r, 2));
      }
      start = performance.now();
      written = true;
      if (s.destroyed) return;
      if (c.ending === 'end') s.end();
      else if (c.ending === 'vanish') setTimeout(() => s.resetAndDestroy(), 20);
      else maybeReset();
    });
  });
}

/** One query over TCP, closed with a reset (see above). */
async function tcpAsk(port: number, msg: Buffer): Promise<Buffer> {
  const r = await play(port, { name: 'health check', stream: frame(msg), chunks: 1, ending: 'reset' });
  if (r.replies.length !== 1) throw new Error(`health check over TCP: ${r.replies.length} replies`);
  return r.replies[0] as Buffer;
}

test('TCP: random framing, huge length prefixes, zero-length frames, stalled and vanishing clients', async (t) => {
  const d = await startTestDriad(`dns:\n  tcpIdleTimeoutMs: ${IDLE_MS}\n`);
  t.teardown(() => d.stop(0));
  const before = badInput(d);
  const cases = sample(t, tcpCaseArb, 60, 3);
  let replies = 0;
  // A few at a time, to overlap connections without making failures hard to read.
  for (let i = 0; i < cases.length; i += 6) {
    const batch = cases.slice(i, i + 6);
    const results = await Promise.all(batch.map((c) => play(d.dnsPort, c)));
    results.forEach((r, j) => {
      const c = batch[j] as TcpCase;
      const want = expectedReplies(c.stream);
      const label = `${c.name} (${c.stream.length} bytes in ${c.chunks} writes, ${c.ending})`;
      if (c.ending === 'end' || c.ending === 'reset') {
        // The client stayed to read: it gets every reply, in order, and nothing else.
        t.deepEqual(r.replies.map((m) => m.readUInt16BE(0)), want.ids, label);
        t.is(r.leftover, 0, `${label}: a partial reply frame`);
      } else {
        t.true(r.replies.length <= want.ids.length, label);
      }
      for (const m of r.replies) assertReply(t, m, label);
      replies += r.replies.length;
    });
  }

  // Clients that promise a long message and stall, and one that sends nothing: only the idle
  // timeout can end these. They must be closed, and counted.
  const timeoutsBefore = d.metrics.get('driad_dns_tcp_timeouts_total');
  const stalled: TcpCase[] = [
    { name: 'stalled after a 65535 prefix', stream: Buffer.concat([Buffer.of(0xff, 0xff), Buffer.alloc(100, 0x41)]), chunks: 3, ending: 'hang' },
    { name: 'stalled after one byte', stream: Buffer.of(0x00), chunks: 1, ending: 'hang' },
    { name: 'silent', stream: Buffer.alloc(0), chunks: 1, ending: 'hang' },
  ];
  const hung = await Promise.all(stalled.map((c) => play(d.dnsPort, c)));
  hung.forEach((r, i) => {
    t.is(r.replies.length, 0, stalled[i]?.name);
    t.true(r.closedAfterMs >= IDLE_MS * 0.8 && r.closedAfterMs < IDLE_MS + 2000, `${stalled[i]?.name}: closed after ${Math.round(r.closedAfterMs)} ms`);
  });
  t.is(d.metrics.get('driad_dns_tcp_timeouts_total') - timeoutsBefore, stalled.length);

  // Nothing left open, and the server still answers correctly on both transports.
  for (const end = Date.now() + 2000; d.metrics.get('driad_dns_tcp_connections') > 0 && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
  t.is(d.metrics.get('driad_dns_tcp_connections'), 0, 'TCP connections left open after every client went away');
  await assertHealthy(t, d.dnsPort, 'after the TCP fuzzing');
  const after = badInput(d);
  t.log({ before, after, cases: cases.length, replies });
  t.true(after.dropped > before.dropped, 'driad_bad_input_total{kind="dropped"} did not go up');
  t.true(after.FORMERR + after.NOTIMP > before.FORMERR + before.NOTIMP, 'FORMERR/NOTIMP bad input did not go up');
});
