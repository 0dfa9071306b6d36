// Property-based tests of the decoder on hostile input: random bytes, and valid messages cut,
// stretched, bit-flipped and with their length fields rewritten. Whatever arrives, decode()
// returns a value (never throws), counts every message exactly once, and keeps its state within
// the configured bounds.
//
// Reproduce a failure with the seed it prints: FUZZ_SEED=<seed> npx ava test/ipfix/malformed.fuzz.test.ts
// Hunt longer with FUZZ_SCALE=<n>.

import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { IpfixDecoder, type DecodeResult } from '../../src/ipfix/decoder.ts';
import { encodeDataSet, encodeTemplateSet, encodeWithdrawalSet, IpfixMessageWriter, type TemplateDef } from '../../src/ipfix/encoder.ts';
import { JFLOW_FIELDS } from '../../src/ipfix/jflow.ts';
import { IpfixStreamFramer } from '../../src/ipfix/stream.ts';
import { MxJflowExporter } from '../sim/mx-jflow/exporter.ts';
import { MX } from './helpers.ts';

const SEED = process.env.FUZZ_SEED !== undefined ? Number.parseInt(process.env.FUZZ_SEED, 10) : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0;
const SCALE = Number(process.env.FUZZ_SCALE ?? 1);

function params(t: ExecutionContext, runs: number): { seed: number; numRuns: number } {
  const numRuns = Math.max(1, Math.round(runs * SCALE));
  t.log(`FUZZ_SEED=${SEED} numRuns=${numRuns}`);
  return { seed: SEED, numRuns };
}

const LIMITS = { maxTemplatesPerExporter: 64, maxTemplates: 128, maxDomainsPerExporter: 16, maxExporters: 8, pending: { maxBytes: 64 * 1024, maxSets: 32 } };

function fresh(transport: 'udp' | 'tcp' = 'udp'): IpfixDecoder {
  return new IpfixDecoder({ fields: [...JFLOW_FIELDS, 'interfaceName', { id: 5, pen: 2636, name: 'jnx' }], transport, ...LIMITS });
}

/** decode() must return, and a refusal must name a kind and a reason. */
function decodeChecked(d: IpfixDecoder, bytes: Uint8Array, source = MX): DecodeResult {
  const r = d.decode(bytes, source);
  if (!r.ok && (typeof r.kind !== 'string' || r.reason.length === 0)) throw new Error('refusal without a reason');
  const s = d.status();
  if (s.templates > LIMITS.maxTemplates || s.exporters > LIMITS.maxExporters || s.pendingBytes > LIMITS.pending.maxBytes || s.pendingSets > LIMITS.pending.maxSets) {
    throw new Error(`state out of bounds: ${JSON.stringify(s)}`);
  }
  return r;
}

/** Valid messages to start mutations from: the J-Flow simulator's, and ones with every feature. */
function corpus(): Buffer[] {
  const mx = new MxJflowExporter({
    tunnels: [
      { relay: '69.25.95.1', gateway: '198.51.100.7', gatewayPort: 40001, packets: 3, octets: 3948 },
      { relay: '2001:db8:95::1', gateway: '2001:db8:100::7', gatewayPort: 40002, packets: 1, octets: 1316 },
    ],
    domains: [524288],
  });
  const varDef: TemplateDef = { id: 300, fields: [{ id: 82 }, { id: 5, pen: 2636, length: 65535 }, { id: 1, length: 4 }] };
  const opts: TemplateDef = { id: 513, fields: [{ id: 144 }, { id: 34 }], scopeCount: 1 };
  const w = new IpfixMessageWriter();
  return [
    ...mx.templateMessages(524288, 1),
    ...mx.dataMessages(1, 0, 1000),
    w.message(7, 2, [encodeTemplateSet([varDef]), encodeTemplateSet([opts]), encodeDataSet(varDef, [['ge-0/0/0', Buffer.from('x'.repeat(300)), 5], ['', Buffer.alloc(0), 6]], { pad: true }), encodeDataSet(opts, [[1, 100]])]),
    w.message(7, 3, [encodeWithdrawalSet([300, 2], 'template'), encodeWithdrawalSet([3], 'options')]),
  ];
}

const CORPUS = corpus();

test('random bytes never throw', (t) => {
  const d = fresh();
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
      decodeChecked(d, bytes);
    }),
    params(t, 3000),
  );
  t.pass();
});

test('random bytes behind a valid header never throw, over UDP and TCP', (t) => {
  for (const transport of ['udp', 'tcp'] as const) {
    const d = fresh(transport);
    for (const m of CORPUS.slice(0, 2)) decodeChecked(d, m);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), fc.integer({ min: 0, max: 3 }), (body, domain) => {
        const m = Buffer.alloc(16 + body.length);
        m.writeUInt16BE(10, 0);
        m.writeUInt16BE(m.length, 2);
        m.writeUInt32BE(domain === 0 ? 524288 : domain, 12);
        Buffer.from(body).copy(m, 16);
        decodeChecked(d, m);
      }),
      params(t, 2000),
    );
  }
  t.pass();
});

type Mutation = { kind: 'flip'; at: number; bit: number } | { kind: 'cut'; at: number } | { kind: 'u16'; at: number; value: number } | { kind: 'insert'; at: number; bytes: Uint8Array };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  // Length fields are where decoders break: put any 16-bit value anywhere, often an edge.
  fc.record({ kind: fc.constant('u16' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(0, 1, 3, 4, 5, 255, 256, 65535, 65534), fc.integer({ min: 0, max: 65535 })) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);

function mutate(source: Buffer, mutations: Mutation[], fixLength: boolean): Buffer {
  let m = Buffer.from(source);
  for (const x of mutations) {
    if (m.length === 0) break;
    const at = x.at % m.length;
    if (x.kind === 'flip') m[at] ^= 1 << x.bit;
    else if (x.kind === 'cut') m = m.subarray(0, at);
    else if (x.kind === 'u16' && at + 1 < m.length) m.writeUInt16BE(x.value, at);
    else if (x.kind === 'insert') m = Buffer.concat([m.subarray(0, at), x.bytes, m.subarray(at)]);
  }
  // Half the time the message length is made right again, so the mutation reaches the sets.
  if (fixLength && m.length >= 4 && m.length <= 65535) m.writeUInt16BE(m.length, 2);
  return m;
}

test('mutated valid messages never throw, and every message is counted once', (t) => {
  for (const transport of ['udp', 'tcp'] as const) {
    const d = fresh(transport);
    let sent = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: CORPUS.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (index, mutations, fixLength) => {
        // Templates first, often, so that data sets meet templates they can be read with.
        if (index % 3 === 0) {
          decodeChecked(d, CORPUS[0]);
          decodeChecked(d, CORPUS[1]);
          sent += 2;
        }
        const r = decodeChecked(d, mutate(CORPUS[index], mutations, fixLength));
        sent++;
        if (r.ok) {
          for (const set of r.sets) for (const record of set.records) if (Object.keys(record).length !== d.selection.length) throw new Error('record with a different shape');
        }
      }),
      params(t, 4000),
    );
    t.log(transport, JSON.stringify(d.stats.errors), d.stats.dataRecords, d.stats.pendingHeld);
    t.is(d.stats.messages, sent, `${transport}: every message counted`);
    t.is(d.stats.messagesRejected, Object.entries(d.stats.errors).filter(([k]) => REJECTIONS.has(k)).reduce((n, [, v]) => n + (v ?? 0), 0));
  }
});

const REJECTIONS = new Set(['short-message', 'bad-version', 'length-mismatch', 'bad-set-length', 'template-overrun', 'record-overrun', 'exporter-limit', 'domain-limit']);

test('many exporters and domains sending mutated messages stay within every bound', (t) => {
  const d = fresh();
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: CORPUS.length - 1 }), fc.array(mutation, { maxLength: 2 }), (port, domain, index, mutations) => {
      const m = mutate(CORPUS[index], mutations, true);
      if (m.length >= 16) m.writeUInt32BE(domain, 12);
      decodeChecked(d, m, { address: '127.0.0.1', port });
    }),
    params(t, 3000),
  );
  t.pass();
});

test('the stream framer never throws and never holds more than one message', (t) => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.constantFrom(...CORPUS), fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b))), { maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 20 }), (parts, cuts) => {
      const stream = Buffer.concat(parts);
      const framer = new IpfixStreamFramer();
      let p = 0;
      let i = 0;
      while (p < stream.length) {
        const n = cuts[i++ % cuts.length];
        framer.push(stream.subarray(p, p + n));
        p += n;
        if (framer.buffered > 65535) throw new Error(`framer holds ${framer.buffered} octets`);
      }
    }),
    params(t, 2000),
  );
  t.pass();
});
