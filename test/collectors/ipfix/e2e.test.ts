// End to end: the MX J-Flow simulator -> driad's IPFIX collector (driad as its own process) ->
// health signals on /api/v1/relays -> the accounting spool -> CDNI Logging Files. A graceful
// restart mid-stream keeps the byte and packet totals exact (sampling applied); a kill -9
// mid-stream loses nothing that was acknowledged as spooled, and records written twice carry
// the same id and the same values.

import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Spool } from '../../../src/accounting/spool.ts';
import { silentLogger } from '../../../src/telemetry/log.ts';
import { Metrics } from '../../../src/telemetry/metrics.ts';
import { amtRecordProblems } from '../../accounting/cdni-parser.ts';
import { tempDir } from '../../accounting/helpers.ts';
import { startMxJflowSim, mulberry32 } from '../../sim/mx-jflow/sim.ts';
import { undocumentedMetrics } from '../../helpers/metrics-doc.ts';
import { until } from '../../helpers/until.ts';
import { cdniRecords, freeUdpTcpPort, getJson, tunnelsFor } from './helpers.ts';

const MAIN = new URL('../../../src/main.ts', import.meta.url).pathname;
const INTERVAL_MS = 250;
const SAMPLING = 1000;

interface Driad {
  child: ChildProcess;
  exited: Promise<void>;
}

async function startDriad(config: string, dnsPort: number, httpPort: number): Promise<Driad> {
  const child = spawn(process.execPath, [MAIN, '--config', config, '--dns-listen', `127.0.0.1:${dnsPort}`, '--http-listen', `127.0.0.1:${httpPort}`, '--doh-listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const up = await until(async () => {
    try {
      return (await getJson(httpPort, '/api/v1/relays')).collectors.some((c: any) => c.collector === 'ipfix');
    } catch {
      return false;
    }
  }, 15_000);
  if (!up) {
    child.kill('SIGKILL');
    throw new Error(`driad did not start: ${stderr}`);
  }
  return { child, exited };
}

test('simulator -> collector -> signals -> spool -> CDNI files, across a graceful restart and a kill -9', async (t) => {
  const dir = tempDir('driad-e2e-');
  const [ipfixPort, dnsPort, httpPort] = [await freeUdpTcpPort(), await freeUdpTcpPort(), await freeUdpTcpPort()];
  const config = join(dir, 'driad.yaml');
  writeFileSync(
    config,
    `amtRelay:
  amtRelayPublicIP: 69.25.95.1
  ipfixPort: ${ipfixPort}
ipfix:
  enabled: true
  intervalMs: ${INTERVAL_MS}
  exporters:
    - { address: 127.0.0.1, relay: mx }
accounting:
  enabled: true
  directory: spool
  cdni:
    directory: cdni
    rotateMs: 300
    claimedOrigin: e2e.driad.test
`,
  );
  const cdniDir = join(dir, 'cdni');
  const tunnels = tunnelsFor(20);
  const sim = await startMxJflowSim({ host: '127.0.0.1', port: ipfixPort, tunnels, samplingRate: SAMPLING, templateEveryRounds: 4 });
  t.teardown(() => sim.close());
  let rounds = 0;
  const play = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      await sim.round();
      rounds++;
      await new Promise((r) => setTimeout(r, 60));
    }
  };

  // 1. Signals reach health: /api/v1/relays shows the tunnels and the bandwidth of the interval.
  let d = await startDriad(config, dnsPort, httpPort);
  t.teardown(() => d.child.kill('SIGKILL'));
  await play(8);
  let bandwidth: { value: number; at: number } | undefined;
  t.true(
    await until(async () => {
      await play(1);
      const mx = (await getJson(httpPort, '/api/v1/relays')).relays.find((r: any) => r.name === 'mx');
      const sig = (kind: string) => mx.signals.find((s: any) => s.source === 'ipfix' && s.kind === kind);
      if (sig('tunnels')?.value !== 20 || !(sig('bandwidthBps')?.value > 0)) return false;
      bandwidth = { value: sig('bandwidthBps').value, at: Date.parse(sig('bandwidthBps').at) };
      return true;
    }, 10_000),
    'mx shows 20 tunnels and a bandwidth from ipfix',
  );

  const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  t.regex(metrics, /driad_accounting_records_total\{type="amt-tunnel-usage"\} [1-9]/);
  t.deepEqual(undocumentedMetrics(metrics), [], 'every ipfix, accounting and cdni metric is in docs/metrics.md');

  // 2. A graceful restart mid-stream: the sender pauses (the MX's packets to a closed port would
  // be lost on any collector), driad writes what it had, and the totals stay exact.
  d.child.kill('SIGTERM');
  await d.exited;
  d = await startDriad(config, dnsPort, httpPort);
  await play(8);
  d.child.kill('SIGTERM');
  await d.exited;
  let records = cdniRecords(cdniDir);
  for (const r of records) t.deepEqual(amtRecordProblems(r), [], JSON.stringify(r));
  const perRound = { bytes: tunnels.reduce((n, x) => n + x.octets, 0) * SAMPLING, packets: tunnels.reduce((n, x) => n + x.packets, 0) * SAMPLING };
  t.is(records.reduce((n, r) => n + Number(r['amt-bytes']), 0), rounds * perRound.bytes, `bytes of ${rounds} rounds, sampling 1 in ${SAMPLING} applied`);
  t.is(records.reduce((n, r) => n + Number(r['amt-packets']), 0), rounds * perRound.packets);
  t.is(new Set(records.map((r) => r['amt-record-id'])).size, records.length, 'no duplicates after a graceful restart');
  t.deepEqual(new Set(records.map((r) => r['amt-gw-ip'])).size, 20);
  // The bandwidth signal is the interval's bytes over the interval.
  const ofInterval = records.filter((r) => Date.parse(`${r.date}T${r.time}Z`) === bandwidth!.at);
  t.true(ofInterval.length > 0);
  t.is(bandwidth!.value, Math.round((ofInterval.reduce((n, r) => n + Number(r['amt-bytes']), 0) * 8 * 1000) / INTERVAL_MS));

  // 3. kill -9 at a random point mid-stream, twice.
  const random = mulberry32(42);
  for (let kill = 0; kill < 2; kill++) {
    d = await startDriad(config, dnsPort, httpPort);
    await play(6 + Math.floor(random() * 6));
    await new Promise((r) => setTimeout(r, random() * INTERVAL_MS));
    d.child.kill('SIGKILL');
    await d.exited;
    // Acknowledged as spooled = in a completed file, or still in the spool after the file writer's position.
    const spool = await Spool.open({ directory: join(dir, 'spool'), consumers: ['cdni-file'], fsync: 'always', fsyncIntervalMs: 1000, segmentBytes: 16 << 20, maxBytes: 1 << 30, log: silentLogger(), metrics: new Metrics() });
    const inSpool = [];
    for (let batch = await spool.consumer('cdni-file').read(10_000); batch.length > 0; batch = await spool.consumer('cdni-file').read(10_000)) inSpool.push(...batch);
    await spool.close();
    const acknowledged = new Map<string, string>();
    for (const r of cdniRecords(cdniDir)) acknowledged.set(r['amt-record-id'] as string, `${r['amt-bytes']}/${r['amt-packets']}`);
    for (const e of inSpool) acknowledged.set(e.record.id, `${e.record.bytes}/${e.record.packets}`);

    d = await startDriad(config, dnsPort, httpPort);
    await play(3);
    d.child.kill('SIGTERM');
    await d.exited;
    records = cdniRecords(cdniDir);
    const written = new Map<string, Set<string>>();
    for (const r of records) {
      const id = r['amt-record-id'] as string;
      written.set(id, (written.get(id) ?? new Set()).add(`${r['amt-bytes']}/${r['amt-packets']}`));
    }
    const lost = [...acknowledged.keys()].filter((id) => !written.has(id));
    t.deepEqual(lost, [], `kill ${kill}: every acknowledged record is in a CDNI file (${acknowledged.size}, ${inSpool.length} of them from the spool)`);
    t.deepEqual([...written].filter(([, v]) => v.size > 1), [], 'a record written twice has the same id and the same values');
    for (const [id, values] of acknowledged) t.true(written.get(id)?.has(values), id);
  }
});
