// Property-based tests of native/h2-session on its own, driven from memory as h2-native.ts drives
// it: random bytes, and valid request frames with random bytes flipped, cut at random places, never
// throw, never hand over a request whose slots point outside the slab, and every request handed
// over can be answered and its answer pulled.
//
// Reproduce a failure with the seed it prints: FUZZ_SEED=<seed> npx ava test/doh/h2-session.fuzz.test.ts
// Hunt longer with FUZZ_SCALE=<n> (multiplies every run count).

import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { batchFor, loadH2Addon } from '../../src/doh/h2-native.ts';
import { frame, FRAME, headersFrame, rstFrame } from '../helpers/h2-raw.ts';

const SEED = process.env.FUZZ_SEED !== undefined ? Number.parseInt(process.env.FUZZ_SEED, 10) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
if (!Number.isInteger(SEED)) throw new Error(`FUZZ_SEED must be an integer, got ${process.env.FUZZ_SEED}`);
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);

function params(t: ExecutionContext, runs: number): { seed: number; numRuns: number; includeErrorInReport: boolean } {
  const numRuns = Math.max(1, Math.round(runs * SCALE));
  t.log(`FUZZ_SEED=${SEED} numRuns=${numRuns}`);
  return { seed: SEED, numRuns, includeErrorInReport: true };
}

const { addon } = loadH2Addon();
const PREFACE = Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), frame(FRAME.SETTINGS, 0, 0)]);
const MAX_HEADER_BYTES = 4096;
const MAX_BODY = 4096;

/** Feeds the chunks to a fresh session, answers what it hands over, pulls; returns what it saw. */
function drive(chunks: Buffer[], maxConcurrentStreams = 10): { requests: number; bad: string[] } {
  if (!addon) throw new Error('native/h2-session is not built');
  const batch = batchFor(addon);
  const state = new Int32Array(new ArrayBuffer(addon.STATE_SIZE * 4));
  const session = addon.create(maxConcurrentStreams, MAX_HEADER_BYTES, 200, 50, state);
  const bad: string[] = [];
  let requests = 0;
  const take = (n: number): void => {
    for (let i = 0; i < n; i++) {
      const at = i * batch.stride;
      const id = batch.meta[at]!;
      const flag = batch.meta[at + 1]!;
      const mask = batch.meta[at + 2]!;
      if (id <= 0 || id % 2 !== 1) bad.push(`stream id ${id}`);
      if (![0, 408, 413, 431].includes(flag)) bad.push(`flag ${flag}`);
      for (let slot = 0; slot < addon.SLOTS; slot++) {
        if (!(mask & (1 << slot))) continue;
        const offset = batch.meta[at + 4 + 2 * slot]!;
        const length = batch.meta[at + 5 + 2 * slot]!;
        if (offset < 0 || length < 0 || offset + length > batch.slab.length) bad.push(`slot ${slot} at ${offset}+${length}`);
      }
      requests++;
      const rv = addon.respond(session, id, 200, Buffer.from([1, 2, 3]), false, 2, 'content-type', 'application/dns-message');
      if (rv < 0) bad.push(`respond ${rv}`);
    }
  };
  try {
    addon.pull(session);
    for (const chunk of chunks) {
      const n = addon.feed(session, chunk, MAX_BODY);
      if (n < 0) {
        addon.pull(session);
        break;
      }
      take(n);
      while (state[6]! > 0) take(addon.drain(session));
      addon.pull(session);
    }
    take(addon.expire(session, 0));
    addon.pull(session);
  } finally {
    addon.close(session);
  }
  return { requests, bad };
}

const path = fc.stringMatching(/^\/[A-Za-z0-9_?=&-]{0,60}$/);
const method = fc.constantFrom('GET', 'POST', 'HEAD', 'OPTIONS', 'PUT', 'BREW');
const requestList = fc.array(fc.tuple(method, path, fc.boolean(), fc.uint8Array({ maxLength: 64 }), fc.boolean()), { minLength: 1, maxLength: 20 });
const toFrames = (list: Array<[string, string, boolean, Uint8Array, boolean]>): Buffer =>
  Buffer.concat(
    list.map(([m, p, end, body, reset], i) => {
      const id = 1 + 2 * i;
      const parts = [headersFrame(id, [[':method', m], [':scheme', 'https'], [':authority', 'x'], [':path', p], ['content-type', 'application/dns-message']], end)];
      if (!end) parts.push(frame(FRAME.DATA, 1, id, Buffer.from(body)));
      if (reset) parts.push(rstFrame(id, 8));
      return Buffer.concat(parts);
    }),
  );
const requestFrames = requestList.map(toFrames);

/** Cuts bytes into chunks at the given places, as TCP and TLS records might. */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const marks = [...new Set(at.map((a) => a % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const m of marks) {
    out.push(bytes.subarray(from, m));
    from = m;
  }
  out.push(bytes.subarray(from));
  return out.filter((c) => c.length > 0);
}

test('native/h2-session: valid request frames, cut anywhere, are all handed over (a reset one at most) and answered', (t) => {
  fc.assert(
    fc.property(requestList, fc.array(fc.nat(), { maxLength: 8 }), (list, at) => {
      const { requests, bad } = drive(cut(Buffer.concat([PREFACE, toFrames(list)]), at), 100);
      const kept = list.filter((r) => !r[4]).length;
      return bad.length === 0 && requests >= kept && requests <= list.length;
    }),
    params(t, 300),
  );
  t.pass();
});

test('native/h2-session: random bytes after the preface, and request frames with bytes flipped, never throw or hand over a bad request', (t) => {
  const flipped = fc.tuple(requestFrames, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 })).map(([bytes, flips]) => {
    const copy = Buffer.from(bytes);
    for (const [at, x] of flips) copy[at % copy.length] ^= x;
    return copy;
  });
  fc.assert(
    fc.property(fc.oneof(flipped, fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b))), fc.array(fc.nat(), { maxLength: 8 }), (bytes, at) => {
      const { bad } = drive(cut(Buffer.concat([PREFACE, bytes]), at));
      return bad.length === 0;
    }),
    params(t, 500),
  );
  t.pass();
});
