// Juniper inline J-Flow: the MX240 options template and record (protocol-facts §4), sampling
// rates per (exporter, observation domain), and the MX simulator over real loopback UDP with
// several PFE domains, IPv4 and IPv6 templates, and the faults of a real path.

import test from 'ava';
import { createSocket } from 'node:dgram';
import { IpfixDecoder, type DecodedSet, type IpfixSource } from '../../src/ipfix/decoder.ts';
import { encodeTemplateSet, IpfixMessageWriter } from '../../src/ipfix/encoder.ts';
import { JFLOW_FIELDS, SamplingRates, samplingRateOf } from '../../src/ipfix/jflow.ts';
import { AMT_PORT, JUNOS_OPTIONS_FIELDS, MxJflowExporter, type AmtTunnel } from '../sim/mx-jflow/exporter.ts';
import { startMxJflowSim } from '../sim/mx-jflow/sim.ts';
import { until } from '../helpers/until.ts';
import { MX, ok, present, recordsOf } from './helpers.ts';

const OPTIONS_FIELDS = [...JFLOW_FIELDS, 'exporterIPv4Address', 'flowActiveTimeout', 'flowIdleTimeout', 'exportProtocolVersion', 'exportTransportProtocol', 'systemInitTimeMilliseconds'];

test('the MX240 options template: 11 fields, scope exportingProcessId, sets padded to 56 and 64 octets', (t) => {
  // Rebuilt from the decoded capture in protocol-facts §4 (Junos 15.1R6S3, ODID 524288).
  const mx = new MxJflowExporter({ tunnels: [], domains: [524288] });
  const [, optionsMessage] = mx.templateMessages(524288, 1527865913);
  const templateSetLength = optionsMessage.readUInt16BE(16 + 2);
  t.is(templateSetLength, 56, 'a 50-octet template padded to 56 with its set header');
  const dataSetLength = optionsMessage.readUInt16BE(16 + 56 + 2);
  t.is(dataSetLength, 64, 'one 58-octet record padded to 64');
  t.is(optionsMessage.readUInt32BE(12), 524288);

  const d = new IpfixDecoder({ fields: OPTIONS_FIELDS });
  const r = ok(t, d.decode(optionsMessage, MX));
  const [template] = d.templates(MX, 524288);
  t.is(template.id, 512);
  t.is(template.scopeCount, 1);
  t.deepEqual(
    template.fields.map((f) => [f.id, f.length]),
    [
      [144, 4],
      [41, 8],
      [42, 8],
      [160, 8],
      [130, 4],
      [131, 16],
      [34, 4],
      [36, 2],
      [37, 2],
      [214, 1],
      [215, 1],
    ],
  );
  t.deepEqual(JUNOS_OPTIONS_FIELDS.length, 11);
  t.like(r.sets[0], { templateId: 512, scopeCount: 1, late: false });
  t.deepEqual(present(r.sets[0].records[0]), {
    exportingProcessId: 2,
    samplingInterval: 1000,
    exporterIPv4Address: '10.0.0.1',
    flowActiveTimeout: 60,
    flowIdleTimeout: 60,
    exportProtocolVersion: 10,
    exportTransportProtocol: 17,
    systemInitTimeMilliseconds: 1_700_000_000_000,
  });
  t.is(samplingRateOf(r.sets[0].records[0]), 1000);
});

test('sampling rates: per domain, falling back to the exporter, and the PSAMP and v9 elements', (t) => {
  const rates = new SamplingRates();
  const set = (domain: number, records: DecodedSet['records']): DecodedSet => ({ templateId: 512, domain, exportTime: 1, scopeCount: 1, late: false, records });
  t.deepEqual(rates.rate(MX, 1), { rate: 1, from: 'unknown' });
  t.true(rates.observe(MX, set(1, [{ samplingInterval: 1000 }])));
  t.true(rates.observe(MX, set(2, [{ samplingInterval: 0, samplerRandomInterval: 500 }])));
  t.deepEqual(rates.rate(MX, 1), { rate: 1000, from: 'domain' });
  t.deepEqual(rates.rate(MX, 2), { rate: 500, from: 'domain' });
  t.deepEqual(rates.rate(MX, 3), { rate: 500, from: 'exporter' });
  t.deepEqual(rates.rate({ address: MX.address, port: 1 }, 1), { rate: 1, from: 'unknown' });
  t.false(rates.observe(MX, set(4, [{ samplingInterval: 0 }])));
  t.false(rates.observe(MX, { ...set(4, [{ samplingInterval: 10 }]), scopeCount: 0 }), 'data records say nothing about sampling');
  t.is(samplingRateOf({ samplingPacketInterval: 1, samplingPacketSpace: 99 }), 100);
  rates.forget(MX);
  t.deepEqual(rates.rate(MX, 1), { rate: 1, from: 'unknown' });
});

test('the Juniper IPv4 and IPv6 templates decode as they arrive; redefined, they decode in the new shape', (t) => {
  const tunnels: AmtTunnel[] = [
    { relay: '69.25.95.1', gateway: '198.51.100.7', gatewayPort: 40001, packets: 3, octets: 3948 },
    { relay: '2001:db8:95::1', gateway: '2001:db8:100::7', gatewayPort: 40002, packets: 2, octets: 2632 },
  ];
  const mx = new MxJflowExporter({ tunnels, domains: [524288] });
  const d = new IpfixDecoder({ fields: JFLOW_FIELDS });
  for (const m of mx.templateMessages(524288, 100)) ok(t, d.decode(m, MX));
  const flows = mx.dataMessages(100, 99_000, 100_000).flatMap((m) => recordsOf(ok(t, d.decode(m, MX))));
  t.deepEqual(flows.map(present), [
    { sourceIPv4Address: '69.25.95.1', destinationIPv4Address: '198.51.100.7', sourceTransportPort: AMT_PORT, destinationTransportPort: 40001, protocolIdentifier: 17, octetDeltaCount: 3948, packetDeltaCount: 3, flowStartMilliseconds: 99_000, flowEndMilliseconds: 100_000, ingressInterface: 500, egressInterface: 600 },
    { sourceIPv6Address: '2001:db8:95::1', destinationIPv6Address: '2001:db8:100::7', sourceTransportPort: AMT_PORT, destinationTransportPort: 40002, protocolIdentifier: 17, octetDeltaCount: 2632, packetDeltaCount: 2, flowStartMilliseconds: 99_000, flowEndMilliseconds: 100_000, ingressInterface: 501, egressInterface: 601 },
  ]);
  mx.redefineIpv4();
  for (const m of mx.templateMessages(524288, 101)) ok(t, d.decode(m, MX));
  const after = mx.dataMessages(101, 100_000, 101_000).flatMap((m) => recordsOf(ok(t, d.decode(m, MX))));
  t.like(after[0], { sourceIPv4Address: '69.25.95.1', octetDeltaCount: 3948, flowEndMilliseconds: undefined });
  t.is(d.stats.templatesRedefined, 1);
});

/** A collector on a loopback UDP port: decodes each datagram with the sender's address and port. */
async function collector(decoder: IpfixDecoder): Promise<{ port: number; sets: Array<{ source: IpfixSource; set: DecodedSet }>; datagrams: () => number; close: () => Promise<void> }> {
  const socket = createSocket('udp4');
  const sets: Array<{ source: IpfixSource; set: DecodedSet }> = [];
  let datagrams = 0;
  socket.on('message', (m, rinfo) => {
    datagrams++;
    const source = { address: rinfo.address, port: rinfo.port };
    const r = decoder.decode(m, source);
    if (r.ok) for (const set of r.sets) sets.push({ source, set });
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, sets, datagrams: () => datagrams, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}

function tunnelsFor(n: number): AmtTunnel[] {
  return Array.from({ length: n }, (_, i) => ({
    relay: i % 5 === 4 ? '2001:db8:95::1' : '69.25.95.1',
    gateway: i % 5 === 4 ? `2001:db8:100::${i.toString(16)}` : `198.51.100.${i + 1}`,
    gatewayPort: 40000 + i,
    packets: 1 + (i % 3),
    octets: (1 + (i % 3)) * 1316,
  }));
}

test('over loopback UDP: three PFE domains, each with its own templates, sampling rate and sequence', async (t) => {
  const decoder = new IpfixDecoder({ fields: JFLOW_FIELDS });
  const c = await collector(decoder);
  const tunnels = tunnelsFor(60);
  const sim = await startMxJflowSim({ host: '127.0.0.1', port: c.port, tunnels, samplingRate: 1000, recordsPerMessage: 7 });
  try {
    const rates = new SamplingRates();
    let sent = 0;
    for (let round = 0; round < 3; round++) sent += (await sim.round()).sent.length;
    t.true(await until(async () => c.datagrams() === sent, 5000), `${c.datagrams()} of ${sent} datagrams arrived`);
    const source = { address: '127.0.0.1', port: sim.sourcePort };
    for (const domain of sim.exporter.domains) {
      t.deepEqual(
        decoder.templates(source, domain).map((x) => x.id).sort(),
        [256, 257, 512],
        `domain ${domain}`,
      );
    }
    // Bytes per tunnel, scaled by the rate of the domain that carried them.
    const bytes = new Map<string, number>();
    for (const { source: s, set } of c.sets) {
      if (rates.observe(s, set)) continue;
      const { rate, from } = rates.rate(s, set.domain);
      t.is(from, 'domain');
      for (const r of set.records) {
        const key = `${r.destinationIPv4Address ?? r.destinationIPv6Address}:${r.destinationTransportPort}`;
        bytes.set(key, (bytes.get(key) ?? 0) + (r.octetDeltaCount as number) * rate);
      }
    }
    t.is(bytes.size, 60);
    t.is(bytes.get('198.51.100.1:40000'), 3 * 1316 * 1000);
    t.is(bytes.get('2001:db8:100::4:40004'), 3 * 2 * 1316 * 1000);
    t.like(decoder.stats, { lost: 0, reordered: 0, duplicate: 0, dataRecords: 180, optionsRecords: 3, messagesRejected: 0 });
  } finally {
    await sim.close();
    await c.close();
  }
});

test('over loopback UDP with loss, reordering and data before templates: counted, and nothing invented', async (t) => {
  const decoder = new IpfixDecoder({ fields: JFLOW_FIELDS });
  const c = await collector(decoder);
  const sim = await startMxJflowSim({
    host: '127.0.0.1',
    port: c.port,
    tunnels: tunnelsFor(90),
    recordsPerMessage: 5,
    templateEveryRounds: 2,
    faults: { drop: 0.1, reorder: 0.2, dataBeforeTemplates: true, seed: 42 },
  });
  try {
    let sent = 0;
    let arrivedRecords = 0;
    let droppedRecords = 0;
    for (let round = 0; round < 6; round++) {
      const report = await sim.round();
      sent += report.sent.length;
      arrivedRecords += report.records;
      droppedRecords += report.dropped.reduce((n, m) => n + (sim.exporter.recordCount.get(m) ?? 0), 0);
    }
    // Last, every domain's templates once more, without faults: whatever still waits is released.
    const final = sim.exporter.domains.flatMap((d) => sim.exporter.templateMessages(d, 1_700_000_010));
    await sim.send(final);
    sent += final.length;
    arrivedRecords += final.reduce((n, m) => n + (sim.exporter.recordCount.get(m) ?? 0), 0);
    t.true(droppedRecords > 0, 'the seed drops data');
    t.true(await until(async () => c.datagrams() === sent, 5000));

    const decoded = c.sets.reduce((n, s) => n + s.set.records.length, 0);
    t.is(decoded, arrivedRecords, 'every record that arrived is decoded, once');
    t.true(c.sets.some((s) => s.set.late), 'the first round waited for its templates');
    t.is(decoder.stats.pendingDropped, 0);
    // Loss comes from Sequence Numbers, per domain. Drops next to a resync (a message that had to
    // wait for its template) cannot be seen, so the count is a lower bound.
    t.true(decoder.stats.lost > 0);
    t.true(decoder.stats.lost <= droppedRecords, `lost ${decoder.stats.lost} <= dropped ${droppedRecords}`);
    t.true(decoder.stats.reordered > 0);
  } finally {
    await sim.close();
    await c.close();
  }
});

test('a withdrawal over UDP is ignored, and a restart is a reset, not loss', async (t) => {
  const decoder = new IpfixDecoder({ fields: JFLOW_FIELDS });
  const c = await collector(decoder);
  const sim = await startMxJflowSim({ host: '127.0.0.1', port: c.port, tunnels: tunnelsFor(6), domains: [524288], templateEveryRounds: 100 });
  try {
    const first = await sim.round();
    await sim.send([sim.exporter.withdrawalMessage(524288, 1_700_000_001)]);
    const second = await sim.round();
    sim.exporter.restart();
    const restarted = sim.exporter.dataMessages(1_700_000_100, 0, 1);
    await sim.send(restarted);
    t.true(await until(async () => c.datagrams() === first.sent.length + 1 + second.sent.length + restarted.length, 5000));
    t.is(decoder.stats.withdrawalsIgnored, 2);
    t.is(decoder.stats.dataRecords, 18, 'every round decoded, the withdrawal notwithstanding');
    t.like(decoder.stats, { resets: 1, lost: 0, duplicate: 0 });
  } finally {
    await sim.close();
    await c.close();
  }
});

test('the simulator pads every set and numbers each domain on its own', (t) => {
  const mx = new MxJflowExporter({ tunnels: tunnelsFor(4), domains: [1, 2] });
  const [templates] = mx.templateMessages(1, 10);
  for (let p = 16; p < templates.length; ) {
    const length = templates.readUInt16BE(p + 2);
    t.is(length % 4, 0);
    p += length;
  }
  const data = mx.dataMessages(10, 0, 1);
  t.deepEqual(
    data.map((m) => [m.readUInt32BE(12), m.readUInt32BE(8)]),
    [
      [1, 1],
      [2, 0],
    ],
    'domain 1 sent one options record before; tunnels 0 and 2 go to domain 1, 1 and 3 to domain 2',
  );
  const w = new IpfixMessageWriter();
  const again = w.message(1, 10, [encodeTemplateSet([mx.ipv4, mx.ipv6], { pad: true })]);
  t.deepEqual(again, templates);
});
