// CDNI Logging Files (RFC 7937 §3) of AMT tunnel usage: the format read back by an independent
// parser and md5sum; the rotating file consumer reading the spool, acknowledging only completed
// files, and rewriting the records of a file a crash left unfinished.

import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AMT_FIELDS, formatCdniFile } from '../../src/accounting/cdni.ts';
import { CdniFileWriter } from '../../src/accounting/cdni-file.ts';
import { tunnelLifecycleId, tunnelUsageId, type AmtTunnelLifecycle, type AmtTunnelUsage } from '../../src/accounting/records.ts';
import { Metrics } from '../../src/telemetry/metrics.ts';
import { until } from '../helpers/until.ts';
import { amtRecordProblems, parseCdniFile } from './cdni-parser.ts';
import { capturingLogger, openSpool, tempDir } from './helpers.ts';

function usage(i: number, over: Partial<AmtTunnelUsage> = {}): AmtTunnelUsage {
  const base = { source: 'ipfix', relay: 'mx', gateway: `198.51.100.${(i % 250) + 1}`, gatewayPort: 40000 + i, group: null, start: 1_700_000_000_000 + 60_000 * Math.floor(i / 10), durationMs: 60_000 };
  return { type: 'amt-tunnel-usage', id: tunnelUsageId({ ...base, ...over }), relayAddress: '69.25.95.1', bytes: 1316 * 1000 * (i + 1), packets: 1000 * (i + 1), samplingRate: 1000, ...base, ...over };
}

test('the file format: directives, fields and records as RFC 7937 §3 has them, with a matching MD5', (t) => {
  const records = [usage(0), usage(1, { group: '232.1.1.1', relay: 'mx west', relayAddress: '2001:db8::1', gateway: '2001:db8:100::7' }), usage(2, { durationMs: 1500, samplingRate: 1.5 })];
  const text = formatCdniFile(records, { claimedOrigin: 'driad-1.example.net', uuid: '0d4e6c3a-97b2-4c1e-8f3d-2a6b9e1f5c70' });
  const lines = text.split('\r\n');
  t.is(lines[0], '#version:\tCDNI/1.0');
  t.is(lines[1], '#UUID:\turn:uuid:0d4e6c3a-97b2-4c1e-8f3d-2a6b9e1f5c70');
  t.is(lines[2], '#claimed-origin:\tdriad-1.example.net');
  t.is(lines[3], '#record-type:\tamt_tunnel_usage_v1');
  t.is(lines[4], `#fields:\t${AMT_FIELDS.join('\t')}`);
  const parsed = parseCdniFile(Buffer.from(text));
  t.is(parsed.version, 'CDNI/1.0');
  t.is(parsed.groups.length, 1);
  t.is(parsed.groups[0]?.recordType, 'amt_tunnel_usage_v1');
  const [a, b, c] = parsed.groups[0]!.records;
  for (const r of [a, b, c]) t.deepEqual(amtRecordProblems(r!), []);
  t.like(a, { date: '2023-11-14', time: '22:14:20.000', 'time-taken': '60', 's-ip': '69.25.95.1', 's-hostname': 'mx', 'amt-gw-ip': '198.51.100.1', 'amt-gw-port': '40000', 'amt-group': '-', 'amt-bytes': '1316000', 'amt-packets': '1000', 'amt-sampling': '1000', 'amt-record-id': records[0]!.id });
  t.like(b, { 's-hostname': 'mx%20west', 's-ip': '2001:db8::1', 'amt-gw-ip': '2001:db8:100::7', 'amt-group': '232.1.1.1' });
  t.like(c, { 'time-taken': '1.5', 'amt-sampling': '1.5' });

  // md5sum (coreutils) over everything before the last line agrees with the directive.
  const dir = tempDir('driad-cdni-');
  const file = join(dir, 'f.cdni');
  writeFileSync(file, text);
  const md5 = execFileSync('sh', ['-c', `head -n -1 "$1" | md5sum`, 'sh', file]).toString().split(' ')[0];
  t.is(lines[lines.length - 2], `#integrity-hash:\t${md5}`);
  t.is(lines[lines.length - 1], '', 'the last line ends with CRLF too');

  const tampered = Buffer.from(text.replace('1316000', '1316001'));
  t.throws(() => parseCdniFile(tampered), { message: /does not match/ });
});

test('record ids are stable: the same tunnel and interval give the same id, anything else another', (t) => {
  t.is(usage(3).id, usage(3).id);
  t.not(usage(3).id, usage(4).id);
  t.not(usage(3).id, usage(3, { start: usage(3).start + 60_000 }).id);
  t.regex(usage(3).id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'an RFC 9562 version 5 UUID');
});

test('the file consumer writes completed files from the spool and acknowledges them; a crash\'s partial file is redone', async (t) => {
  const spoolDir = tempDir();
  const cdniDir = tempDir('driad-cdni-');
  const metrics = new Metrics();
  const { log, lines } = capturingLogger();
  let spool = await openSpool(spoolDir, { consumers: ['cdni-file'], metrics });
  const records = Array.from({ length: 25 }, (_, i) => usage(i));
  for (const r of records) await spool.append(r as never);
  await spool.append({ id: 'other-1', type: 'something-else' });

  let writer = new CdniFileWriter({ directory: cdniDir, rotateMs: 60_000, maxRecords: 10, claimedOrigin: 'test', consumer: spool.consumer('cdni-file'), log, metrics });
  await writer.start();
  t.true(await until(async () => readdirSync(cdniDir).filter((n) => n.endsWith('.cdni')).length === 2));
  // The third file (5 records) stays open until rotation: its records are not acknowledged.
  t.true(await until(async () => writer.status().pending === 5));
  t.is(spool.consumer('cdni-file').acked, 20);
  // A crash now: the writer never completes the third file.
  await spool.close();
  t.true(readdirSync(cdniDir).some((n) => n.endsWith('.partial')));

  spool = await openSpool(spoolDir, { consumers: ['cdni-file'], metrics });
  writer = new CdniFileWriter({ directory: cdniDir, rotateMs: 200, maxRecords: 10, claimedOrigin: 'test', consumer: spool.consumer('cdni-file'), log, metrics });
  await writer.start();
  t.is(lines.filter((l) => l.msg.includes('left by a crash')).length, 1);
  t.true(await until(async () => spool.consumer('cdni-file').acked === 26, 5000), 'the rest is written at rotation and acknowledged');
  await writer.stop();
  await spool.close();

  const files = readdirSync(cdniDir).sort();
  t.false(files.some((n) => n.endsWith('.partial')));
  t.is(files.length, 3);
  const written = files.flatMap((f) => parseCdniFile(readFileSync(join(cdniDir, f))).groups.flatMap((g) => g.records));
  t.deepEqual(written.map((r) => r['amt-record-id']), records.map((r) => r.id), 'every record exactly once, in order');
  t.is(written.reduce((n, r) => n + Number(r['amt-bytes']), 0), records.reduce((n, r) => n + r.bytes, 0));
  t.is(metrics.get('driad_cdni_records_total'), 25);
  t.is(metrics.get('driad_cdni_files_total'), 3);
});

test('the file consumer writes an ebpf amt-tunnel-lifecycle record as an amt_tunnel_usage_v1 line (docs/cdni.md, "What each source fills")', async (t) => {
  const spool = await openSpool(tempDir(), { consumers: ['cdni-file'] });
  const cdniDir = tempDir('driad-cdni-');
  const life = (gateway: string, groups: string[]): AmtTunnelLifecycle => {
    const key = { source: 'ebpf', relay: 'gateway', gateway, gatewayPort: 40000, start: 1_700_000_000_000 };
    return { type: 'amt-tunnel-lifecycle', id: tunnelLifecycleId(key), ...key, relayAddress: gateway.includes(':') ? '2001:db8::10' : '192.0.2.10', end: 1_700_000_090_500, durationMs: 90_500, endReason: 'teardown', groups, groupsOmitted: 0, packets: 10, bytes: 13_000, packetsFromGateway: 3, bytesFromGateway: 120, mode: 'xdp' };
  };
  const records = [life('198.51.100.9', ['232.1.1.1']), life('2001:db8:100::9', ['ff3e::8000:1', 'ff3e::8000:2'])];
  for (const r of records) await spool.append(r as never);
  const writer = new CdniFileWriter({ directory: cdniDir, rotateMs: 100, maxRecords: 10, claimedOrigin: 'test', consumer: spool.consumer('cdni-file'), log: capturingLogger().log, metrics: new Metrics() });
  await writer.start();
  t.true(await until(async () => spool.consumer('cdni-file').acked === 2, 5000));
  await writer.stop();
  await spool.close();
  const [file] = readdirSync(cdniDir).filter((n) => n.endsWith('.cdni'));
  const [v4, v6] = parseCdniFile(readFileSync(join(cdniDir, file!))).groups[0]!.records;
  for (const r of [v4, v6]) t.deepEqual(amtRecordProblems(r!), []);
  t.like(v4, { date: '2023-11-14', time: '22:14:50.500', 'time-taken': '90.5', 's-ip': '192.0.2.10', 's-hostname': 'gateway', 'amt-gw-ip': '198.51.100.9', 'amt-gw-port': '40000', 'amt-group': '232.1.1.1', 'amt-bytes': String(13_000 + 10 * 28), 'amt-packets': '10', 'amt-sampling': '1', 'amt-record-id': records[0]!.id });
  t.like(v6, { 's-ip': '2001:db8::10', 'amt-group': '-', 'amt-bytes': String(13_000 + 10 * 48), 'amt-record-id': records[1]!.id });
  t.not(records[0]!.id, records[1]!.id);
});
