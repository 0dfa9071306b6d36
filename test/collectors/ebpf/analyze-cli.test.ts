import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ethernetFrame } from '../../../src/capture/frame.ts';
import { LINKTYPE, writePcap } from '../../../src/capture/pcap.ts';
import { gatewayMessages, toRelayPacket } from './helpers/amt-pcap.ts';

const run = promisify(execFile);
const MAIN = new URL('../../../src/main.ts', import.meta.url).pathname;
const RELAY = '192.0.2.1';

function capture(): Buffer {
  const packets: Buffer[] = [];
  // 20 IPv4 gateways join two groups; every fourth leaves one, every fifth tears down.
  for (let i = 0; i < 20; i++) {
    const gw = { address: `203.0.113.${1 + (i % 10)}`, port: 40000 + i };
    const msgs = gatewayMessages(gw, 0x1000 + i, ['232.1.1.1', `232.2.2.${i}`], { leave: i % 4 === 0 ? ['232.1.1.1'] : [], teardown: i % 5 === 0 });
    for (const m of msgs) packets.push(toRelayPacket(gw, RELAY, 2268, m));
  }
  // An IPv6 gateway whose Request is kernel-shaped (P at 0x80).
  const v6 = { address: '2001:db8::20', port: 50000 };
  for (const m of gatewayMessages(v6, 0xabcdef, ['ff3e::8000:1'], { kernelShaped: true })) packets.push(toRelayPacket(v6, '2001:db8::1', 2268, m));
  // Garbage on the port: a wrong version, an unknown type, a short Request; and unrelated UDP.
  const bad = { address: '203.0.113.99', port: 1234 };
  for (const payload of [Buffer.from([0x13, 0, 0, 0, 1, 2, 3, 4]), Buffer.from([0x0f, 0, 0, 0]), Buffer.from([0x03, 0, 0])]) packets.push(toRelayPacket(bad, RELAY, 2268, payload));
  packets.push(toRelayPacket(bad, RELAY, 53, Buffer.from('not amt')));
  return writePcap(
    { linktype: LINKTYPE.ETHERNET },
    packets.map((p, i) => ({ seconds: 1_700_000_000 + i, data: ethernetFrame(p) })),
  );
}

test('driad amt analyze --json: tunnels, groups, counts, deviations and malformed packets of a pcap written with src/capture', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'driad-amt-analyze-'));
  const file = join(dir, 'amt.pcap');
  writeFileSync(file, capture());
  const { stdout } = await run(process.execPath, [MAIN, 'amt', 'analyze', file, '--json'], { timeout: 30_000 });
  const a = JSON.parse(stdout);
  t.is(a.packets, 20 * 3 + 5 + 4 + 3 + 3 + 1);
  t.is(a.skipped, 1);
  t.deepEqual(a.malformed, { 'amt-version': 1, 'amt-unknown-type': 1, 'amt-short': 1 });
  t.deepEqual(a.deviations, { 'kernel-p-flag': 1 });
  t.is(a.gateways.length, 21);
  // 20 + 1 opened, 4 torn down (i = 0, 5, 10, 15); 10 IPv4 addresses, of which .1 and .6 have
  // only torn-down ports, + the IPv6 one.
  t.is(a.activeTunnels, 17);
  t.is(a.activeAddresses, 9);
  const g = (port: number) => a.gateways.find((x: { port: number }) => x.port === port);
  t.like(g(40001), { address: '203.0.113.2', active: true, groups: ['232.1.1.1', '232.2.2.1'], messages: { discovery: 1, request: 1, update: 1 }, joins: 2, leaves: 0 });
  t.like(g(40004), { groups: ['232.2.2.4'], joins: 2, leaves: 1, messages: { discovery: 1, request: 1, update: 2 } });
  t.like(g(40005), { active: false, tornDown: true, groups: [], messages: { teardown: 1 } });
  t.like(g(50000), { address: '2001:db8::20', kernelShapedRequests: 1, groups: ['ff3e::8000:1'] });
  // Discovery 8 + Request 8 + Update 12 + IPv4 with Router Alert 24 + IGMPv3 8 + two records of 12.
  t.is(g(40001).bytes, 8 + 8 + 12 + 24 + 8 + 2 * 12);
});

test('driad amt analyze: the text form names each gateway; a pcapng file is a clear error, not a crash', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'driad-amt-analyze-'));
  const file = join(dir, 'amt.pcap');
  writeFileSync(file, capture());
  const { stdout } = await run(process.execPath, [MAIN, 'amt', 'analyze', file], { timeout: 30_000 });
  t.regex(stdout, /: 76 packets, 21 gateways, 17 active tunnels \(9 gateway addresses/);
  t.regex(stdout, /^203\.0\.113\.2:40001 {2}active {2}groups 232\.1\.1\.1 232\.2\.2\.1/m);
  t.regex(stdout, /^\[2001:db8::20\]:50000 .*kernel-shaped requests 1/m);
  const ng = join(dir, 'x.pcapng');
  writeFileSync(ng, Buffer.from('0a0d0d0a1c0000004d3c2b1a01000000ffffffffffffffff1c000000', 'hex'));
  const { stdout: out } = await run(process.execPath, [MAIN, 'amt', 'analyze', ng, '--json'], { timeout: 30_000 });
  t.regex(JSON.parse(out).pcapError, /^pcapng: /);
});
