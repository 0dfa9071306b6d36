// A real full disk: the spool on a 256 KiB tmpfs. New records are refused loudly as disk-full
// (counted, one log line), nothing half-written stays, and every record accepted before is kept
// and readable after a restart. Needs root for the mount (CI runs as root).

import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SpoolRefused } from '../../src/accounting/spool.ts';
import { Metrics } from '../../src/telemetry/metrics.ts';
import { capturingLogger, openSpool, readAll, tempDir } from './helpers.ts';

const root = process.getuid?.() === 0;

(root ? test : test.skip)('on a full disk new records are refused as disk-full and the spooled ones are kept', async (t) => {
  const mountPoint = tempDir('driad-full-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mountPoint]);
  t.teardown(() => execFileSync('umount', ['-l', mountPoint]));
  const dir = join(mountPoint, 'spool');
  mkdirSync(dir);
  const { log, lines } = capturingLogger();
  const metrics = new Metrics();
  let spool = await openSpool(dir, { log, metrics, segmentBytes: 64 * 1024 });
  const accepted: string[] = [];
  let refused = 0;
  for (let i = 0; i < 400 && refused < 20; i++) {
    const id = `r-${i}`;
    try {
      await spool.append({ id, type: 'test', pad: 'x'.repeat(1000) });
      accepted.push(id);
    } catch (err) {
      t.true(err instanceof SpoolRefused);
      t.is((err as SpoolRefused).reason, 'disk-full', (err as Error).message);
      refused++;
    }
  }
  t.true(accepted.length > 100, `${accepted.length} accepted before the disk filled`);
  t.is(refused, 20);
  t.is(metrics.get('driad_accounting_refused_total', { reason: 'disk-full' }), 20);
  t.is(lines.filter((l) => l.msg.includes('refused')).length, 1, 'refusals are logged once per interval');
  await spool.close();

  spool = await openSpool(dir, { log, metrics, segmentBytes: 64 * 1024 });
  t.is(lines.filter((l) => l.msg.includes('torn record')).length, 0, 'a failed write left no partial frame');
  t.deepEqual((await readAll(spool, 'c1')).map((e) => e.record.id), accepted);
  await spool.close();
});

(root ? test : test.skip)('driad with its spool on a full disk: usage records refused and counted, DNS keeps answering', async (t) => {
  const { startTestDriad } = await import('../helpers/driad.ts');
  const { startMxJflowSim } = await import('../sim/mx-jflow/sim.ts');
  const { ask } = await import('../helpers/dns-client.ts');
  const { until } = await import('../helpers/until.ts');
  const { freeUdpTcpPort, tunnelsFor } = await import('../collectors/ipfix/helpers.ts');
  const mountPoint = tempDir('driad-full-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=128k', 'tmpfs', mountPoint]);
  t.teardown(() => execFileSync('umount', ['-l', mountPoint]));
  const port = await freeUdpTcpPort();
  const d = await startTestDriad(`
amtRelay:
  amtRelayPublicIP: 69.25.95.1
  ipfixPort: ${port}
ipfix:
  enabled: true
  intervalMs: 200
  exporters: [{ address: 127.0.0.1, relay: mx }]
accounting:
  enabled: true
  directory: ${mountPoint}/spool
  segmentBytes: 65536
  cdni: { directory: cdni, rotateMs: 600000 }
`);
  t.teardown(() => d.stop(0));
  const sim = await startMxJflowSim({ host: '127.0.0.1', port, tunnels: tunnelsFor(200) });
  t.teardown(() => sim.close());
  const full = await until(async () => {
    await sim.round();
    return d.metrics.get('driad_accounting_refused_total', { reason: 'disk-full' }) > 0;
  }, 20_000);
  t.true(full, 'the spool reports the full disk');
  t.true(await until(async () => d.metrics.get('driad_ipfix_usage_records_total', { result: 'refused' }) > 0));
  t.true(d.metrics.get('driad_ipfix_usage_records_total', { result: 'spooled' }) > 100);
  const answer = await ask(d.dnsPort, '10.95.25.69.amt.in-addr.arpa', 'A');
  t.is(answer.answers[0]?.data, '69.25.95.1', 'DNS answers');
});
