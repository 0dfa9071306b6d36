// Spool append rate: N tunnel usage records appended as the IPFIX collector does (batches of
// 1000 in flight), with each fsync policy, then read back by a consumer. Prints records/s.
//   node bench/accounting/spool-rate.ts [records]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tunnelUsageId, type AmtTunnelUsage } from '../../src/accounting/records.ts';
import { Spool, type FsyncPolicy } from '../../src/accounting/spool.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { Metrics } from '../../src/telemetry/metrics.ts';

const total = Number(process.argv[2] ?? 200_000);
for (const fsync of ['always', 'interval'] as FsyncPolicy[]) {
  const dir = mkdtempSync(join(tmpdir(), 'driad-spool-bench-'));
  const spool = await Spool.open({ directory: dir, consumers: ['c'], fsync, fsyncIntervalMs: 1000, segmentBytes: 16 << 20, maxBytes: 2 ** 34, log: silentLogger(), metrics: new Metrics() });
  const started = performance.now();
  for (let i = 0; i < total; i += 1000) {
    await Promise.all(
      Array.from({ length: Math.min(1000, total - i) }, (_, j) => {
        const n = i + j;
        const key = { source: 'ipfix', relay: 'mx', gateway: `198.51.${100 + (n >> 16)}.${(n >> 8) & 255}`, gatewayPort: 40000 + (n & 255), group: null, start: 1_700_000_000_000, durationMs: 60_000 };
        const r: AmtTunnelUsage = { type: 'amt-tunnel-usage', id: tunnelUsageId(key), ...key, relayAddress: '69.25.95.1', bytes: 1316000, packets: 1000, samplingRate: 1000 };
        return spool.append(r as never);
      }),
    );
  }
  const appendS = (performance.now() - started) / 1000;
  const readStart = performance.now();
  let read = 0;
  for (let b = await spool.consumer('c').read(5000); b.length > 0; b = await spool.consumer('c').read(5000)) read += b.length;
  const readS = (performance.now() - readStart) / 1000;
  const octets = spool.bytes;
  await spool.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(`fsync ${fsync}: ${total} records appended in ${appendS.toFixed(2)} s (${Math.round(total / appendS)} records/s), read back ${read} in ${readS.toFixed(2)} s (${Math.round(read / readS)} records/s), ${(octets / total).toFixed(0)} octets/record`);
}
