// The pcap reader and writer against other programs' files: Wireshark's editcap converts ours
// (µs, ns, and big-endian in) and we read its output; tcpdump captures a live AMT exchange with
// the relay simulator on loopback and the reader decodes the stream as it arrives, as the
// capture fallback will (`tcpdump -w -`).

import test from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAmt } from '../../src/amt/codec.ts';
import { udpPacket } from '../../src/amt/inet.ts';
import { encodeMembershipReport } from '../../src/amt/membership.ts';
import type { AmtDecodeResult } from '../../src/amt/messages.ts';
import { decodeUdpFrame, ethernetFrame, linuxSllFrame } from '../../src/capture/frame.ts';
import { LINKTYPE, PcapReader, pcapFileHeader, readPcap, writePcap, type PcapRecord } from '../../src/capture/pcap.ts';
import { startAmtRelaySim } from '../sim/amt-relay/relay.ts';
import { startTestGateway } from '../sim/amt-relay/gateway.ts';

const installed = (bin: string): boolean => spawnSync('/bin/sh', ['-c', 'command -v "$1"', 'sh', bin]).status === 0;
const HAS_EDITCAP = installed('editcap');
const CAN_CAPTURE = installed('tcpdump') && process.getuid?.() === 0;

const RECORDS = [
  { seconds: 1_700_000_000, nanos: 1_000, data: ethernetFrame(udpPacket({ source: '192.0.2.1', destination: '192.0.2.2', sourcePort: 40000, destinationPort: 2268, payload: Buffer.from('0100000011223344', 'hex') })) },
  { seconds: 1_700_000_001, nanos: 999_999_000, data: ethernetFrame(udpPacket({ source: '2001:db8::1', destination: '2001:db8::2', sourcePort: 2268, destinationPort: 40000, payload: Buffer.alloc(30, 1) }), { vlans: [7] }) },
  { seconds: 1_700_000_002, nanos: 0, data: Buffer.alloc(60, 0xee), originalLength: 1514 },
];

test('file headers: the magic numbers, version 2.4, snaplen and link type in the byte order asked for', (t) => {
  t.is(pcapFileHeader({ linktype: LINKTYPE.ETHERNET }).toString('hex'), 'd4c3b2a1' + '0200' + '0400' + '00000000' + '00000000' + '00000400' + '01000000');
  t.is(pcapFileHeader({ linktype: LINKTYPE.RAW, littleEndian: false, nanosecond: true, snaplen: 65535 }).toString('hex'), 'a1b23c4d' + '0002' + '0004' + '00000000' + '00000000' + '0000ffff' + '00000065');
});

test('what the reader refuses, it names', (t) => {
  t.like(readPcap(Buffer.concat([Buffer.from('0a0d0d0a', 'hex'), Buffer.alloc(20)])), { ok: false, error: { reason: 'pcapng' } });
  t.like(readPcap(Buffer.alloc(24)), { ok: false, error: { reason: 'bad-magic' } });
  t.like(readPcap(Buffer.alloc(10)), { ok: false, error: { reason: 'truncated' } });
  const badVersion = pcapFileHeader({ linktype: 1 });
  badVersion.writeUInt16LE(3, 4);
  t.like(readPcap(badVersion), { ok: false, error: { reason: 'bad-header' } });
  const file = writePcap({ linktype: 1 }, RECORDS);
  t.like(readPcap(file.subarray(0, file.length - 5)), { ok: false, error: { reason: 'truncated' }, records: { length: 2 } });
  const huge = Buffer.from(file);
  huge.writeUInt32LE(10_000_000, 24 + 8);
  t.like(readPcap(huge), { ok: false, error: { reason: 'record-too-long' }, records: { length: 0 } });
});

test('records keep their timestamps, lengths and bytes; cut captures keep the original length', (t) => {
  const r = readPcap(writePcap({ linktype: LINKTYPE.ETHERNET, nanosecond: true }, RECORDS));
  t.true(r.ok);
  t.deepEqual(
    r.records.map((x: PcapRecord) => [x.seconds, x.nanos, x.originalLength, x.data.length]),
    [
      [1_700_000_000, 1_000, RECORDS[0]?.data.length, RECORDS[0]?.data.length],
      [1_700_000_001, 999_999_000, RECORDS[1]?.data.length, RECORDS[1]?.data.length],
      [1_700_000_002, 0, 1514, 60],
    ],
  );
});

test('Linux cooked frames (v1 as written here) decode to their UDP datagram', (t) => {
  const frame = linuxSllFrame(udpPacket({ source: '192.0.2.1', destination: '192.0.2.2', sourcePort: 1, destinationPort: 2268, payload: Buffer.from('abc') }), { packetType: 4 });
  t.like(decodeUdpFrame(LINKTYPE.LINUX_SLL, frame, { verifyChecksum: true }), { ok: true, frame: { source: '192.0.2.1', destinationPort: 2268, checksumOk: true } });
  t.like(decodeUdpFrame(LINKTYPE.ETHERNET, ethernetFrame(Buffer.from(frame.subarray(16)).fill(0x99, 9, 10))), { ok: false, reason: 'not-udp' });
});

(HAS_EDITCAP ? test : test.skip)(
  HAS_EDITCAP ? "editcap (Wireshark) reads our µs, ns and big-endian files, and we read what it writes" : 'editcap interop [SKIPPED: editcap is not installed; apt-get install tshark]',
  (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'pcap-editcap-'));
    try {
      for (const [name, header] of [
        ['le-us', { linktype: LINKTYPE.ETHERNET }],
        ['be-ns', { linktype: LINKTYPE.ETHERNET, littleEndian: false, nanosecond: true }],
      ] as const) {
        const ours = join(dir, `${name}.pcap`);
        writeFileSync(ours, writePcap(header, RECORDS));
        for (const format of ['pcap', 'nsecpcap']) {
          const theirs = join(dir, `${name}.${format}`);
          execFileSync('editcap', ['-F', format, ours, theirs], { timeout: 20_000 });
          const back = readPcap(readFileSync(theirs));
          t.true(back.ok, `${name} -> ${format}: ${JSON.stringify(!back.ok && back.error)}`);
          t.is(back.header?.nanosecond, format === 'nsecpcap');
          t.is(back.header?.linktype, LINKTYPE.ETHERNET);
          t.deepEqual(
            back.records.map((r) => [r.seconds, r.nanos, r.originalLength, r.data.toString('hex')]),
            RECORDS.map((r) => [r.seconds, r.nanos, r.originalLength ?? r.data.length, r.data.toString('hex')]),
            `${name} -> ${format}`,
          );
        }
        const ng = join(dir, `${name}.pcapng`);
        execFileSync('editcap', ['-F', 'pcapng', ours, ng], { timeout: 20_000 });
        t.like(readPcap(readFileSync(ng)), { ok: false, error: { reason: 'pcapng' } });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

interface Captured {
  linktype: number;
  messages: Array<{ sourcePort: number; destinationPort: number; result: AmtDecodeResult }>;
}

/** Runs tcpdump on `iface` for `port`, feeding its stdout through the incremental reader, until `done` or a deadline. */
async function capture(iface: string, port: number, exchange: () => Promise<void>, done: (c: Captured) => boolean): Promise<Captured> {
  const tcpdump = spawn('tcpdump', ['-i', iface, '-n', '-U', '--immediate-mode', '-s', '0', '-w', '-', 'udp', 'port', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const reader = new PcapReader();
  const got: Captured = { linktype: -1, messages: [] };
  const errors: string[] = [];
  tcpdump.stdout.on('data', (chunk: Buffer) => {
    for (const e of reader.push(chunk)) {
      if (e.kind === 'header') got.linktype = e.header.linktype;
      else if (e.kind === 'error') errors.push(e.error.detail);
      else {
        const f = decodeUdpFrame(got.linktype, e.record.data);
        if (f.ok) got.messages.push({ sourcePort: f.frame.sourcePort, destinationPort: f.frame.destinationPort, result: decodeAmt(f.frame.payload) });
        else errors.push(`${f.reason}: ${f.detail}`);
      }
    }
  });
  let stderr = '';
  const listening = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tcpdump did not start: ${stderr}`)), 10_000);
    tcpdump.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (stderr.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    tcpdump.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump exited with ${code}: ${stderr}`));
    });
  });
  const exited = new Promise<void>((resolve) => tcpdump.once('exit', () => resolve()));
  try {
    await listening;
    await exchange();
    const end = Date.now() + 5000;
    while (!done(got) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
  } finally {
    if (tcpdump.exitCode === null && tcpdump.pid !== undefined) process.kill(tcpdump.pid, 'SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  }
  if (errors.length) throw new Error(`capture errors: ${errors.join('; ')}`);
  return got;
}

(CAN_CAPTURE ? test : test.skip)(
  CAN_CAPTURE ? 'tcpdump -w - on loopback: the reader decodes a live AMT exchange with the relay simulator, in order' : 'live capture [SKIPPED: needs tcpdump (apt-get install tcpdump) and root for packet capture]',
  async (t) => {
    const relay = await startAmtRelaySim();
    const gw = await startTestGateway(relay);
    t.teardown(async () => {
      await gw.close();
      await relay.close();
    });
    const expectedCount = 9;
    const got = await capture(
      'lo',
      relay.port,
      async () => {
        await gw.send({ type: 'relay-discovery', nonce: 0x0d15c0 });
        await gw.receive();
        await gw.send({ type: 'request', p: false, nonce: 0x0e0001 });
        const q = (await gw.receive())?.result;
        if (!q?.ok || q.message.type !== 'membership-query') throw new Error('no query');
        await gw.send({ type: 'membership-update', responseMac: q.message.responseMac, nonce: 0x0e0001, packet: encodeMembershipReport({ family: 4, records: [{ type: 1, group: '232.1.1.1', sources: ['192.0.2.1'] }] }) });
        await gw.send({ type: 'request', p: true, nonce: 0x0e0002 }, { kernelFlags: true });
        await gw.receive();
        await gw.send({ type: 'teardown', responseMac: q.message.responseMac, nonce: 0x0e0001, gateway: { port: gw.port, address: '127.0.0.1' } });
        await gw.send(Buffer.from([0x42, 0, 0, 0]));
      },
      (c) => c.messages.length >= expectedCount,
    );
    t.is(got.linktype, LINKTYPE.ETHERNET, 'Linux loopback captures as Ethernet');
    const summary = got.messages.map((m) => {
      const dir = m.destinationPort === relay.port ? 'up' : 'down';
      if (!m.result.ok) return `${dir} error:${m.result.reason}`;
      const msg = m.result.message;
      const nonce = 'nonce' in msg ? ` ${msg.nonce.toString(16)}` : '';
      return `${dir} ${msg.type}${nonce}${m.result.deviation ? ` (${m.result.deviation})` : ''}`;
    });
    t.deepEqual(summary, [
      'up relay-discovery d15c0',
      'down relay-advertisement d15c0',
      'up request e0001',
      'down membership-query e0001',
      'up membership-update e0001',
      'up request e0002 (kernel-p-flag)',
      'down membership-query e0002',
      'up teardown e0001',
      'up error:version',
    ]);
    t.true(await new Promise<boolean>((r) => setTimeout(() => r(relay.tunnels.size === 0 && relay.counts.accepted === 2), 50)));
  },
);

(CAN_CAPTURE ? test : test.skip)(
  CAN_CAPTURE ? 'tcpdump -i any writes Linux cooked v2 frames, which decode the same' : 'live capture on any [SKIPPED: needs tcpdump and root]',
  async (t) => {
    const relay = await startAmtRelaySim();
    const gw = await startTestGateway(relay);
    t.teardown(async () => {
      await gw.close();
      await relay.close();
    });
    const got = await capture(
      'any',
      relay.port,
      async () => {
        await gw.send({ type: 'relay-discovery', nonce: 0xa11 });
        await gw.receive();
      },
      (c) => c.messages.some((m) => m.result.ok && m.result.message.type === 'relay-advertisement'),
    );
    t.true([LINKTYPE.LINUX_SLL2, LINKTYPE.LINUX_SLL].includes(got.linktype as 276 | 113), `link type ${got.linktype}`);
    const kinds = new Set(got.messages.map((m) => (m.result.ok ? `${m.result.message.type} ${'nonce' in m.result.message ? m.result.message.nonce : ''}` : m.result.reason)));
    t.deepEqual([...kinds].sort(), ['relay-advertisement 2577', 'relay-discovery 2577']);
  },
);
