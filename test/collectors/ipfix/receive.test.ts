// The collector's UDP socket (src/collectors/ipfix/receive.ts) on both paths, the native batched
// receive (recvmmsg through native/udp-batch) and node:dgram: every datagram arrives whole and in
// order with its sender, the receive buffer is set and the kernel's cap (net.core.rmem_max) is
// reported; and inside a running driad both paths count the same flows, bursts included.

import test from 'ava';
import { createSocket, type Socket } from 'node:dgram';
import { loadBatchAddon } from '../../../src/dns/server/udp-batch.ts';
import { openUdpReceiver, readRmemMax } from '../../../src/collectors/ipfix/receive.ts';
import { MxJflowExporter } from '../../sim/mx-jflow/exporter.ts';
import { startTestDriad } from '../../helpers/driad.ts';
import { until } from '../../helpers/until.ts';
import { freeUdpTcpPort, getJson, tunnelsFor } from './helpers.ts';

const noError = (err: Error): void => {
  throw err;
};

async function sendAll(sock: Socket, messages: Buffer[], port: number): Promise<void> {
  for (const [i, m] of messages.entries()) {
    await new Promise<void>((resolve, reject) => sock.send(m, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    if (i % 32 === 31) await new Promise((r) => setTimeout(r, 1));
  }
}

for (const batched of [true, false]) {
  const path = batched ? 'batched (recvmmsg)' : 'node:dgram';

  test(`${path}: datagrams arrive whole, in order, with their sender; the buffer asked for is granted`, async (t) => {
    const got: Array<{ bytes: Buffer; port: number; address: string; transient: boolean }> = [];
    const rx = await openUdpReceiver('127.0.0.1', 0, { batched, receiveBufferBytes: 1 << 20, onError: noError }, (message, source, transient) =>
      got.push({ bytes: Buffer.from(message), port: source.port, address: source.address, transient }),
    );
    t.teardown(() => rx.close());
    t.is(rx.mode, batched ? 'recvmmsg' : 'dgram', rx.fallback ?? '');
    const rmemMax = readRmemMax();
    if (rmemMax !== null && rmemMax >= 1 << 20) t.like(rx.receiveBuffer, { requested: 1 << 20, granted: 1 << 20, clamped: false, rmemMax });

    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
    t.teardown(() => sock.close());
    // More than one recvmmsg batch of 32; sizes from empty to the largest UDP payload.
    const messages = Array.from({ length: 150 }, (_, i) => Buffer.alloc(i === 7 ? 65507 : i === 9 ? 0 : 20 + ((i * 37) % 1400), i & 255));
    await sendAll(sock, messages, rx.port);
    t.true(await until(async () => got.length === messages.length, 5000), `${got.length} of ${messages.length}`);
    t.deepEqual(
      got.map((g) => g.bytes),
      messages,
    );
    const own = sock.address().port;
    t.true(got.every((g) => g.port === own && g.address === '127.0.0.1' && g.transient === batched));
  });

  test(`${path}: a receive buffer beyond net.core.rmem_max is granted at the cap and reported as clamped`, async (t) => {
    const rmemMax = readRmemMax();
    if (rmemMax === null) return t.pass('no /proc/sys/net/core/rmem_max here');
    const requested = rmemMax * 4;
    const rx = await openUdpReceiver('127.0.0.1', 0, { batched, receiveBufferBytes: requested, onError: noError }, () => {});
    t.teardown(() => rx.close());
    t.deepEqual(rx.receiveBuffer, { requested, granted: rmemMax, rmemMax, clamped: true });
  });
}

test('an IPv6 listen address is read through node:dgram, and says why', async (t) => {
  const rx = await openUdpReceiver('::1', 0, { batched: true, receiveBufferBytes: 1 << 16, onError: noError }, () => {});
  t.teardown(() => rx.close());
  t.is(rx.mode, 'dgram');
  t.regex(rx.fallback ?? '', /IPv4-only/);
});

test('the batched receive is what a driad built here uses (CI builds native/udp-batch)', (t) => {
  const { addon, reason } = loadBatchAddon();
  t.truthy(addon, reason);
});

// Inside driad: the same export rounds through either path count the same flows; a burst of
// several hundred datagrams (many recvmmsg batches, many decoding slices) is decoded in full.
const counts: Record<string, { flows: number; decoded: number }> = {};
for (const batched of [true, false]) {
  test(`driad with ipfix.batchedReceive ${batched}: status shows the path and buffer; a burst is decoded whole`, async (t) => {
    const port = await freeUdpTcpPort();
    const d = await startTestDriad(`
amtRelay:
  ipfixPort: ${port}
ipfix:
  enabled: true
  intervalMs: 3600000
  receiveBufferBytes: 2097152
  batchedReceive: ${batched}
  exporters:
    - { address: 127.0.0.1, relay: mx }
`);
    t.teardown(() => d.stop(0));
    const status = async (): Promise<any> => (await getJson(d.httpPort, '/api/v1/relays')).collectors.find((c: any) => c.collector === 'ipfix');
    const s = await status();
    t.is(s.receive, batched ? 'recvmmsg' : 'dgram');
    t.is(s.receiveBuffer.requested, 2097152);
    t.is(s.receiveBuffer.clamped, s.receiveBuffer.granted < 2097152);

    const tunnels = tunnelsFor(250).map((x, i) => ({ ...x, gateway: `10.1.${i >> 8}.${i & 255}` }));
    const mx = new MxJflowExporter({ tunnels, samplingRate: 10 });
    const messages = [...mx.domains.flatMap((dom) => mx.templateMessages(dom, 1_700_000_000))];
    for (let round = 0; round < 40; round++) messages.push(...mx.dataMessages(1_700_000_001 + round, 0, 1000));
    const sock = createSocket('udp4');
    t.teardown(() => sock.close());
    await sendAll(sock, messages, port);
    const decoded = (): number => d.metrics.get('driad_ipfix_messages_total', { transport: 'udp', result: 'decoded' });
    t.true(await until(async () => decoded() === messages.length && (await status()).queued === 0, 10_000), `${decoded()} of ${messages.length} decoded`);
    const flows = d.metrics.get('driad_ipfix_amt_flows_total');
    t.is(flows, 40 * tunnels.length);
    counts[String(batched)] = { flows, decoded: decoded() };
  });
}

test.after.always('both paths counted the same', (t) => {
  if (counts.true && counts.false) t.deepEqual(counts.true, counts.false);
});
