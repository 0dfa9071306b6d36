import test from 'ava';
import { createSocket } from 'node:dgram';
import { loadBatchAddon } from '../../src/dns/server/udp-batch.ts';
import { startTestDriad } from '../helpers/driad.ts';
import { ask, buildQuery, decodeMessage, u16, udpExchange } from '../helpers/dns-client.ts';

const NAME = '10.95.25.69.amt.in-addr.arpa';

test('the native batched UDP path is built here (CI builds it; the dgram fallback is for machines without a compiler)', (t) => {
  const { addon, reason } = loadBatchAddon();
  t.truthy(addon, reason);
});

for (const udpBatch of [true, false]) {
  const path = udpBatch ? 'batched (recvmmsg/sendmmsg)' : 'node:dgram';

  test(`UDP ${path}: answers, large EDNS sizes, bursts and bad input behave the same`, async (t) => {
    const d = await startTestDriad(`dns:\n  udpBatch: ${udpBatch}\n`, { dnsListen: ['127.0.0.1:0', '[::1]:0'] });
    t.teardown(() => d.stop(0));
    t.is((await ask(d.dnsPort, NAME, 'A')).answers[0]?.data, '69.25.95.1');
    const v6Port = (d.dns[1] as { port: number }).port;
    t.is(decodeMessage(await udpExchange(v6Port, buildQuery(NAME, 'AMTRELAY'), '::1')).answers.length, 2);
    const huge = decodeMessage(await udpExchange(d.dnsPort, buildQuery(NAME, 'A', { udpSize: 65000 })));
    t.is(huge.answers.length, 1);

    // Many queries in one burst: each gets its own answer, to its own sender.
    const ids = Array.from({ length: 200 }, (_, i) => i + 1);
    const replies = await Promise.all(ids.map((id) => udpExchange(d.dnsPort, buildQuery(`${id}.0.0.10.amt.in-addr.arpa`, 'A', { id }))));
    t.deepEqual(replies.map((r) => decodeMessage(r).id), ids);
    t.deepEqual([...new Set(replies.map((r) => decodeMessage(r).questions[0]?.name))].length, 200);
    const batches = d.metrics.get('driad_dns_udp_batches_total');
    const datagrams = d.metrics.get('driad_dns_udp_batch_datagrams_total');
    if (udpBatch) {
      // 203 queries so far on two sockets: every datagram counted, in at least one batch per socket.
      t.is(datagrams, 203);
      t.true(batches >= 2 && batches <= datagrams, `${batches} batches`);
    } else {
      t.is(datagrams, 0);
    }

    // A datagram that is not DNS, and one larger than any query, are counted and do not stop the listener.
    const s = createSocket('udp4');
    s.send(Buffer.concat([u16(9), u16(0x8000)]), d.dnsPort, '127.0.0.1');
    s.send(Buffer.alloc(5000, 1), d.dnsPort, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 100));
    s.close();
    t.true(d.metrics.get('driad_dns_dropped_total', { transport: 'udp' }) >= 1);
    t.is((await ask(d.dnsPort, NAME, 'A')).answers[0]?.data, '69.25.95.1');
  });
}
