// Flow columns (src/ipfix/flow-columns.ts) against the record readers: on random templates
// (addresses of both families, reduced-size ports and counters, elements missing or repeated,
// variable-length fields between them), the compiled columns reader, the generic walk in columns
// mode and the records converted by the reference function hold the same values; a set that
// overruns fails the same way; addresses kept as words format as the record readers write them.

import test from 'ava';
import fc from 'fast-check';
import { IpfixDecoder, type DecodeResult } from '../../src/ipfix/decoder.ts';
import { encodeDataSet, encodeTemplateSet, IpfixMessageWriter, ipv6Bytes, type TemplateDef } from '../../src/ipfix/encoder.ts';
import { FlowColumns, flowColumnsFromRecords, formatAddressWords } from '../../src/ipfix/flow-columns.ts';
import { VARIABLE_LENGTH } from '../../src/ipfix/information-elements.ts';
import { JFLOW_FIELDS } from '../../src/ipfix/jflow.ts';
import { formatIpv6 } from '../../src/ipfix/values.ts';
import { MX } from './helpers.ts';

type Row = { srcFamily: number; dstFamily: number; src: number[]; dst: number[]; srcPort: number; dstPort: number; protocol: number; octets: number; packets: number };

function rows(cols: FlowColumns, first = 0, count = cols.count): Row[] {
  const out: Row[] = [];
  for (let i = first; i < first + count; i++) {
    out.push({
      srcFamily: cols.srcFamily[i],
      dstFamily: cols.dstFamily[i],
      src: [...cols.src.subarray(4 * i, 4 * i + 4)],
      dst: [...cols.dst.subarray(4 * i, 4 * i + 4)],
      srcPort: cols.srcPort[i],
      dstPort: cols.dstPort[i],
      protocol: cols.protocol[i],
      octets: cols.octets[i],
      packets: cols.packets[i],
    });
  }
  return out;
}

/** The data rows of a decode in columns mode, in set order. */
function columnRows(d: IpfixDecoder, r: DecodeResult): Row[] {
  if (!r.ok) return [];
  return r.sets.filter((s) => s.scopeCount === 0).flatMap((s) => (s.columns ? rows(d.columns, s.columns.first, s.columns.count) : []));
}

/** The reference: records decoded as objects, converted. */
function recordRows(r: DecodeResult): Row[] {
  if (!r.ok) return [];
  const cols = new FlowColumns(1);
  for (const s of r.sets) if (s.scopeCount === 0) flowColumnsFromRecords(s.records, cols);
  return rows(cols);
}

const FIELD_KINDS: Array<{ id: number; lengths: number[]; value: fc.Arbitrary<unknown> }> = [
  { id: 8, lengths: [4], value: fc.ipV4() },
  { id: 12, lengths: [4], value: fc.ipV4() },
  { id: 27, lengths: [16], value: fc.ipV6() },
  { id: 28, lengths: [16], value: fc.ipV6() },
  { id: 7, lengths: [2, 1], value: fc.integer({ min: 0, max: 65535 }) },
  { id: 11, lengths: [2, 1], value: fc.integer({ min: 0, max: 65535 }) },
  { id: 4, lengths: [1], value: fc.constantFrom(17, 6, 1, 0, 255) },
  { id: 1, lengths: [8, 1, 2, 3, 4, 5, 6, 7], value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) },
  { id: 2, lengths: [8, 4, 2], value: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) },
  { id: 82, lengths: [VARIABLE_LENGTH, 4], value: fc.string({ maxLength: 300 }) },
  { id: 210, lengths: [VARIABLE_LENGTH, 3], value: fc.uint8Array({ maxLength: 300 }) },
  { id: 152, lengths: [8], value: fc.integer({ min: 0, max: 2 ** 47 }) },
];

const randomTemplate = fc
  .array(fc.record({ kind: fc.integer({ min: 0, max: FIELD_KINDS.length - 1 }), lengthIndex: fc.nat() }), { minLength: 1, maxLength: 14 })
  .chain((specs) => {
    const fields = specs.map(({ kind, lengthIndex }) => {
      const k = FIELD_KINDS[kind] as (typeof FIELD_KINDS)[number];
      return { id: k.id, length: k.lengths[lengthIndex % k.lengths.length] as number, value: k.value };
    });
    const record = fc.tuple(
      ...fields.map((f) =>
        f.value.map((v) => {
          if (f.length === VARIABLE_LENGTH) return v;
          if (v instanceof Uint8Array) return Buffer.from(v).subarray(0, f.length);
          if (typeof v === 'string' && f.id === 82) return v.slice(0, 1);
          if (typeof v === 'bigint') return v % 2n ** BigInt(8 * f.length);
          if (typeof v === 'number' && f.id !== 152) return v % 2 ** (8 * f.length);
          return v;
        }),
      ),
    );
    return fc.record({ fields: fc.constant(fields), records: fc.array(record, { minLength: 1, maxLength: 6 }) });
  });

test('property: the columns hold what the record readers decode, compiled and generic alike', (t) => {
  fc.assert(
    fc.property(randomTemplate, ({ fields, records }) => {
      const def: TemplateDef = { id: 256, fields: fields.map((f) => ({ id: f.id, length: f.length })) };
      const message = new IpfixMessageWriter().message(3, 1, [encodeTemplateSet([def]), encodeDataSet(def, records as never)]);
      const reference = new IpfixDecoder({ fields: JFLOW_FIELDS });
      const want = reference.decode(message, MX);
      if (!want.ok) return false;
      for (const compiled of [true, false]) {
        const d = new IpfixDecoder({ fields: JFLOW_FIELDS, flowColumns: true, compiled });
        const got = d.decode(message, MX);
        if (!got.ok) return false;
        t.is(got.records, want.records);
        t.deepEqual(columnRows(d, got), recordRows(want), `compiled=${compiled}`);
        t.is(d.stats.imprecise, reference.stats.imprecise);
        t.is(d.stats.dataRecords, reference.stats.dataRecords);
      }
      return true;
    }),
    { numRuns: 300 },
  );
});

test('a variable-length field that runs past its set fails the message in columns mode too', (t) => {
  const def: TemplateDef = { id: 300, fields: [{ id: 8 }, { id: 82 }, { id: 7 }] };
  const writer = new IpfixMessageWriter();
  const good = encodeDataSet(def, [['192.0.2.9', 'x'.repeat(40), 2268]]);
  // The length octet says 40; cut the set (and the message) short inside the string.
  const cut = Buffer.from(good.bytes.subarray(0, 12));
  cut.writeUInt16BE(12, 2);
  const templates = writer.message(0, 1, [encodeTemplateSet([def])]);
  const bad = writer.message(0, 1, [{ bytes: cut, records: 1 }]);
  for (const flowColumns of [false, true]) {
    const d = new IpfixDecoder({ fields: JFLOW_FIELDS, flowColumns });
    d.decode(templates, MX);
    const r = d.decode(bad, MX);
    t.like(r, { ok: false, kind: 'record-overrun' }, `flowColumns=${flowColumns}`);
  }
});

test('data held for its template and options records: columns for data, objects for options', (t) => {
  const data: TemplateDef = { id: 400, fields: [{ id: 8 }, { id: 12 }, { id: 7 }, { id: 11 }, { id: 1 }, { id: 2 }] };
  const options: TemplateDef = { id: 512, scopeCount: 1, fields: [{ id: 144 }, { id: 34 }] };
  const writer = new IpfixMessageWriter();
  const early = writer.message(0, 1, [encodeDataSet(data, [['69.25.95.1', '10.0.0.1', 2268, 40000, 1316, 1]])]);
  const later = writer.message(0, 1, [encodeTemplateSet([data]), encodeTemplateSet([options]), encodeDataSet(options, [[1, 1000]]), encodeDataSet(data, [['69.25.95.1', '10.0.0.2', 2268, 40001, 2632, 2]])]);
  const d = new IpfixDecoder({ fields: JFLOW_FIELDS, flowColumns: true });
  t.true(d.decode(early, MX).ok);
  const r = d.decode(later, MX);
  if (!r.ok) return t.fail(r.reason);
  t.deepEqual(
    r.sets.map((s) => [s.templateId, s.late, s.records.length, s.columns?.count]),
    [
      [512, false, 1, undefined],
      [400, false, 0, 1],
      [400, true, 0, 1],
    ],
  );
  t.is(r.sets[0]?.records[0]?.samplingInterval, 1000);
  t.deepEqual(
    columnRows(d, r).map((x) => [formatAddressWords(x.dstFamily, Uint32Array.from(x.dst), 0), x.dstPort, x.octets, x.packets]),
    [
      ['10.0.0.2', 40001, 2632, 2],
      ['10.0.0.1', 40000, 1316, 1],
    ],
  );
});

test('property: addresses kept as words format exactly as the record readers write them', (t) => {
  fc.assert(
    fc.property(fc.ipV6(), fc.ipV4(), (v6, v4) => {
      const cols = new FlowColumns(1);
      flowColumnsFromRecords([{ sourceIPv6Address: formatIpv6(ipv6Bytes(v6), 0), destinationIPv4Address: v4 }], cols);
      t.is(formatAddressWords(cols.srcFamily[0], cols.src, 0), formatIpv6(ipv6Bytes(v6), 0));
      t.is(formatAddressWords(cols.dstFamily[0], cols.dst, 0), v4);
      return true;
    }),
    { numRuns: 300 },
  );
  t.is(formatAddressWords(0, new Uint32Array(4), 0), null);
});
