// The IPFIX collector inside a running driad, fed over loopback by the MX J-Flow simulator (UDP)
// and by its messages over TCP: exporters matched to relays, unknown ones counted, sequence loss
// per exporter, a flood decoded while DNS keeps answering, and the metrics documented.

import test from 'ava';
import { connect } from 'node:net';
import { createSocket } from 'node:dgram';
import { MxJflowExporter } from '../../sim/mx-jflow/exporter.ts';
import { startMxJflowSim } from '../../sim/mx-jflow/sim.ts';
import { ask } from '../../helpers/dns-client.ts';
import { startTestDriad } from '../../helpers/driad.ts';
import { undocumentedMetrics } from '../../helpers/metrics-doc.ts';
import { until } from '../../helpers/until.ts';
import { freeUdpTcpPort, getJson, tunnelsFor } from './helpers.ts';

const yaml = (port: number, extra = '') => `
amtRelay:
  amtRelayPublicIP: 69.25.95.1
  ipfixPort: ${port}
ipfix:
  enabled: true
  intervalMs: 300
${extra}`;

const ipfixStatus = async (httpPort: number): Promise<any> => (await getJson(httpPort, '/api/v1/relays')).collectors.find((c: any) => c.collector === 'ipfix');

test('UDP and TCP exporters: sessions per exporter with templates, sampling, sequence loss; tunnels and bandwidth signals', async (t) => {
  const port = await freeUdpTcpPort();
  const d = await startTestDriad(yaml(port, '  exporters:\n    - { address: 127.0.0.1, relay: mx }\n'));
  t.teardown(() => d.stop(0));
  const tunnels = tunnelsFor(12);
  const sim = await startMxJflowSim({ host: '127.0.0.1', port, tunnels, samplingRate: 100, templateEveryRounds: 3, faults: { drop: 0.25, seed: 3 } });
  t.teardown(() => sim.close());
  for (let i = 0; i < 12; i++) {
    await sim.round();
    await new Promise((r) => setTimeout(r, 40));
  }
  t.true(await until(async () => (await ipfixStatus(d.httpPort)).sessions.some((s: any) => s.mode === 'udp' && s.messages > 10)));
  let status = await ipfixStatus(d.httpPort);
  const udp = status.sessions.find((s: any) => s.mode === 'udp');
  t.like(udp, { relay: 'mx', target: `127.0.0.1:${sim.sourcePort}`, connected: true, samplingRate: 100, domains: 3, templates: 9 });
  t.true(udp.sequenceLost > 0, `dropped messages show as sequence loss (${udp.sequenceLost})`);
  t.is(status.listen.udp, `127.0.0.1:${port}`);

  // TCP: the same messages over a stream, split at odd places.
  const mx = new MxJflowExporter({ tunnels: tunnelsFor(5, '69.25.95.1').map((x) => ({ ...x, gatewayPort: x.gatewayPort + 100 })), domains: [7] });
  const socket = connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  const stream = Buffer.concat([...mx.templateMessages(7, 1_700_000_100), ...mx.dataMessages(1_700_000_100, 0, 1000)]);
  for (let i = 0; i < stream.length; i += 37) socket.write(stream.subarray(i, i + 37));
  t.true(await until(async () => (await ipfixStatus(d.httpPort)).sessions.some((s: any) => s.mode === 'tcp' && s.templates === 3)));
  status = await ipfixStatus(d.httpPort);
  t.like(status.sessions.find((s: any) => s.mode === 'tcp'), { relay: 'mx', connected: true, samplingRate: 1000, domains: 1, errors: 0 });
  socket.end();
  t.true(await until(async () => (await ipfixStatus(d.httpPort)).sessions.some((s: any) => s.mode === 'tcp' && !s.connected)));

  // Signals: a later interval of UDP rounds carries every tunnel of the simulator (and none of TCP's, long past).
  const seen = await until(async () => {
    await sim.round();
    const relays = await getJson(d.httpPort, '/api/v1/relays');
    const mxView = relays.relays.find((r: any) => r.name === 'mx');
    const sig = (kind: string) => mxView.signals.find((s: any) => s.source === 'ipfix' && s.kind === kind);
    return sig('tunnels')?.value === 12 && sig('bandwidthBps')?.value > 0 && sig('tunnels').intervalMs === 300;
  }, 5000);
  t.true(seen, 'mx shows tunnels 12 and a bandwidth from the ipfix source, with its interval');
  const metrics = await (await fetch(`http://127.0.0.1:${d.httpPort}/metrics`)).text();
  t.regex(metrics, /driad_ipfix_tunnels\{relay="mx"\} \d+/);
  t.regex(metrics, /driad_ipfix_messages_total\{transport="tcp",result="decoded"\} \d+/);
  t.deepEqual(undocumentedMetrics(metrics), []);
});

test('messages from an exporter that is no relay are counted and ignored', async (t) => {
  const port = await freeUdpTcpPort();
  const d = await startTestDriad(yaml(port));
  t.teardown(() => d.stop(0));
  const sim = await startMxJflowSim({ host: '127.0.0.1', port, tunnels: tunnelsFor(3) });
  t.teardown(() => sim.close());
  const sent = (await sim.round()).sent.length + (await sim.round()).sent.length;
  t.true(await until(async () => (await ipfixStatus(d.httpPort)).unknownExporters === sent));
  t.deepEqual((await ipfixStatus(d.httpPort)).sessions, []);
  t.is(d.metrics.get('driad_bad_input_total', { component: 'ipfix', kind: 'unknown-exporter' }), sent);
  t.is(d.metrics.get('driad_ipfix_messages_total', { transport: 'udp', result: 'unknown-exporter' }), sent);
});

test('a flood is decoded in slices: DNS answers throughout, and every message is decoded or counted as dropped', async (t) => {
  const port = await freeUdpTcpPort();
  const d = await startTestDriad(yaml(port, '  queueLimit: 2000\n  exporters:\n    - { address: 127.0.0.1, relay: mx }\n'));
  t.teardown(() => d.stop(0));
  const mx = new MxJflowExporter({ tunnels: tunnelsFor(200) });
  const messages = [...mx.domains.flatMap((dom) => mx.templateMessages(dom, 1_700_000_000)), ...Array.from({ length: 150 }, (_, i) => mx.dataMessages(1_700_000_001 + i, 0, 1000)).flat()];
  const sock = createSocket('udp4');
  t.teardown(() => sock.close());
  let answered = 0;
  let sent = 0;
  const flood = (async () => {
    for (const m of messages) {
      await new Promise<void>((resolve) => sock.send(m, port, '127.0.0.1', () => resolve()));
      if (++sent % 50 === 0) await new Promise((r) => setImmediate(r));
    }
  })();
  const dns = (async () => {
    for (let i = 0; i < 20; i++) {
      const r = await ask(d.dnsPort, '10.95.25.69.amt.in-addr.arpa', 'A');
      if (r.answers.length > 0) answered++;
    }
  })();
  await Promise.all([flood, dns]);
  t.is(answered, 20, 'every DNS query during the flood got its answer');
  const total = (): number => ['decoded', 'dropped', 'malformed'].reduce((n, result) => n + d.metrics.get('driad_ipfix_messages_total', { transport: 'udp', result }), 0);
  t.true(await until(async () => total() >= sent * 0.95 && (await ipfixStatus(d.httpPort)).queued === 0, 10_000), `${total()} of ${sent} accounted for`);
  t.true(d.metrics.get('driad_ipfix_messages_total', { transport: 'udp', result: 'decoded' }) > 1000);
  t.is(d.metrics.get('driad_ipfix_messages_total', { transport: 'udp', result: 'malformed' }), 0);
});

test('bad input and faults: truncated messages, a template flood bounded by configuration, an exporter restart', async (t) => {
  const port = await freeUdpTcpPort();
  const d = await startTestDriad(yaml(port, '  maxTemplatesPerExporter: 50\n  exporters:\n    - { address: 127.0.0.1, relay: mx }\n'));
  t.teardown(() => d.stop(0));
  const sim = await startMxJflowSim({ host: '127.0.0.1', port, tunnels: tunnelsFor(4), domains: [1] });
  t.teardown(() => sim.close());
  const round = await sim.round();
  // Truncated copies of real messages, and a set length that overruns.
  const broken = round.sent.map((m) => m.subarray(0, m.length - 3));
  const overrun = Buffer.from(round.sent[0]!);
  overrun.writeUInt16BE(0xfff0, 18);
  // A template flood: 500 templates from one exporter.
  const { encodeTemplateSet, IpfixMessageWriter } = await import('../../../src/ipfix/encoder.ts');
  const writer = new IpfixMessageWriter();
  const flood = Array.from({ length: 50 }, (_, i) =>
    writer.message(2, 1_700_000_500, [encodeTemplateSet(Array.from({ length: 10 }, (_, j) => ({ id: 1000 + i * 10 + j, fields: [{ id: 8 }, { id: 1 }] })))]),
  );
  await sim.send([...broken, overrun, ...flood]);
  t.true(await until(async () => d.metrics.get('driad_bad_input_total', { component: 'ipfix', kind: 'template-limit' }) > 0));
  t.true(await until(async () => d.metrics.get('driad_ipfix_messages_total', { transport: 'udp', result: 'malformed' }) === broken.length + 1));
  t.is(d.metrics.get('driad_bad_input_total', { component: 'ipfix', kind: 'bad-set-length' }) + d.metrics.get('driad_bad_input_total', { component: 'ipfix', kind: 'length-mismatch' }), broken.length + 1);
  const templates = d.metrics.get('driad_ipfix_templates', { transport: 'udp' });
  t.true(templates <= 50, `templates bounded by ipfix.maxTemplatesPerExporter (${templates})`);

  // The router restarts: sequence numbers from 0, templates resent.
  sim.exporter.restart();
  await sim.round();
  t.true(await until(async () => (await ipfixStatus(d.httpPort)).sessions[0]?.restarts >= 1));
  const s = (await ipfixStatus(d.httpPort)).sessions[0];
  t.true(s.errors > broken.length, 'errors counted on the exporter\'s session');
  t.truthy(s.lastError);
  const answer = await ask(d.dnsPort, '10.95.25.69.amt.in-addr.arpa', 'A');
  t.is(answer.answers[0]?.data, '69.25.95.1', 'DNS answers');
});
