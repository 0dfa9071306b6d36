/**
 * Quick decode-rate measurement (bench/ipfix/run.sh is the collector against nfacctd):
 * records/s through IpfixDecoder.decode() for the Juniper IPv4 template (29 fields, 90-octet
 * records, 14 per message) with driad's J-Flow selection, compiled readers against the generic
 * field walk and against the flow columns the collector uses; and the set readers alone, without
 * the message handling around them.
 *
 *   node bench/ipfix/decode-rate.ts [seconds per measurement, default 2]
 */
import { compileSetReader, genericSetReader, resolveSelection, type FlowRecord } from '../../src/ipfix/compile.ts';
import { IpfixDecoder } from '../../src/ipfix/decoder.ts';
import { JFLOW_FIELDS } from '../../src/ipfix/jflow.ts';
import { MxJflowExporter } from '../../test/sim/mx-jflow/exporter.ts';

const seconds = Number(process.argv[2] ?? 2);
const tunnels = Array.from({ length: 14 * 64 }, (_, i) => ({ relay: '69.25.95.1', gateway: `198.51.${100 + (i >> 8)}.${i & 255}`, gatewayPort: 40000 + i, packets: 1 + (i % 7), octets: (1 + (i % 7)) * 1316 }));
const mx = new MxJflowExporter({ tunnels, domains: [524288], recordsPerMessage: 14 });
const templates = mx.templateMessages(524288, 1);
const messages = mx.dataMessages(1, 0, 1000);
const source = { address: '192.0.2.1', port: 50101 };

function rate(label: string, run: () => number): number {
  for (let i = 0; i < 200; i++) run(); // warm up
  let records = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < end) {
    for (let i = 0; i < 50; i++) records += run();
    now = process.hrtime.bigint();
  }
  const perSecond = records / (Number(now - start) / 1e9);
  console.log(`${label.padEnd(44)} ${(perSecond / 1e6).toFixed(2)} M records/s`);
  return perSecond;
}

for (const [compiled, flowColumns] of [
  [true, false],
  [false, false],
  [true, true],
]) {
  const d = new IpfixDecoder({ fields: JFLOW_FIELDS, compiled, flowColumns });
  for (const m of templates) d.decode(m, source);
  let i = 0;
  rate(`decode() ${compiled ? 'compiled' : 'generic walk'}${flowColumns ? ', flow columns' : ''}`, () => {
    const res = d.decode(messages[i++ % messages.length], source);
    return res.ok ? res.records : 0;
  });
  if (d.stats.messagesRejected) throw new Error('messages rejected');
}

const probe = new IpfixDecoder({ fields: JFLOW_FIELDS });
for (const m of templates) probe.decode(m, source);
const template = probe.templates(source, 524288).find((t) => t.id === mx.ipv4.id);
if (!template) throw new Error('no IPv4 template');
const selection = resolveSelection(JFLOW_FIELDS);
const body = messages[0].subarray(20, 16 + messages[0].readUInt16BE(18));
const stats = { imprecise: 0 };
for (const [label, reader] of [
  ['set reader alone, compiled', compileSetReader(template, selection)],
  ['set reader alone, generic walk', genericSetReader(template, selection)],
] as const) {
  rate(label, () => {
    const out: FlowRecord[] = [];
    return reader(body, 0, body.length, out, stats);
  });
}
