// IPFIX over TCP (RFC 7011 §10.4): messages framed by their header's Length, whatever the reads.

import test from 'ava';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { IpfixDecoder } from '../../src/ipfix/decoder.ts';
import { encodeDataSet, encodeTemplateSet, encodeWithdrawalSet, IpfixMessageWriter, type TemplateDef } from '../../src/ipfix/encoder.ts';
import { IpfixStreamFramer } from '../../src/ipfix/stream.ts';
import { mulberry32 } from '../sim/mx-jflow/sim.ts';

const T: TemplateDef = { id: 256, fields: [{ id: 8 }, { id: 1 }, { id: 82 }] };

function stream(messages: number): Buffer[] {
  const w = new IpfixMessageWriter();
  const out = [w.message(1, 1, [encodeTemplateSet([T])])];
  for (let i = 0; i < messages; i++) {
    const records = Array.from({ length: 1 + (i % 40) }, (_, j) => [`10.0.${i % 256}.${j}`, i * 1000 + j, 'x'.repeat((i * 7 + j) % 400)]);
    out.push(w.message(1, 1, [encodeDataSet(T, records)]));
  }
  return out;
}

test('the framer gives back exactly the messages, however the stream is cut', (t) => {
  const messages = stream(30);
  const whole = Buffer.concat(messages);
  const random = mulberry32(7);
  for (const cut of ['bytes', 'random', 'whole', 'headers'] as const) {
    const framer = new IpfixStreamFramer();
    const out: Buffer[] = [];
    let p = 0;
    while (p < whole.length) {
      const n = cut === 'bytes' ? 1 : cut === 'whole' ? whole.length : cut === 'headers' ? 3 : 1 + Math.floor(random() * 3000);
      const r = framer.push(whole.subarray(p, p + n));
      t.true(r.ok);
      out.push(...r.messages);
      p += n;
    }
    t.deepEqual(out.map((m) => m.toString('hex')), messages.map((m) => m.toString('hex')), cut);
    t.is(framer.buffered, 0);
  }
});

test('a stream that is not IPFIX fails once and stays failed', (t) => {
  const framer = new IpfixStreamFramer();
  const [template] = stream(0);
  const r1 = framer.push(Buffer.concat([template, Buffer.from('GET / HTTP/1.1\r\n')]));
  t.false(r1.ok);
  t.is(r1.messages.length, 1, 'the message before the garbage is still delivered');
  t.regex(framer.failed ?? '', /version 18245, not 10/);
  t.false(framer.push(template).ok);
  // A header split across reads is checked as soon as its four octets are in.
  const f2 = new IpfixStreamFramer();
  t.true(f2.push(Buffer.from([0])).ok);
  t.false(f2.push(Buffer.from([10, 0, 8])).ok);
  t.regex(f2.failed ?? '', /length 8 is shorter than its header/);
});

test('over a real TCP connection: partial reads, templates, withdrawal, and the session end', async (t) => {
  const decoder = new IpfixDecoder({ fields: ['sourceIPv4Address', 'octetDeltaCount', 'interfaceName'], transport: 'tcp' });
  const received: Array<{ ip: unknown; octets: unknown }> = [];
  let closed = false;
  const server = createServer((socket: Socket) => {
    const source = { address: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 };
    const framer = new IpfixStreamFramer();
    socket.on('data', (chunk) => {
      const r = framer.push(chunk);
      for (const m of r.messages) {
        const d = decoder.decode(m, source);
        if (d.ok) for (const s of d.sets) for (const rec of s.records) received.push({ ip: rec.sourceIPv4Address, octets: rec.octetDeltaCount });
      }
      if (!r.ok) socket.destroy();
    });
    socket.on('close', () => {
      decoder.closeSession(source);
      closed = true;
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  try {
    const messages = stream(60);
    const w = new IpfixMessageWriter();
    const whole = Buffer.concat([...messages, w.message(1, 2, [encodeWithdrawalSet([256], 'template')]), w.message(1, 2, [encodeDataSet(T, [['10.9.9.9', 1, '']])])]);
    const client = connect(port, '127.0.0.1');
    await once(client, 'connect');
    client.setNoDelay(true);
    const random = mulberry32(3);
    for (let p = 0; p < whole.length; ) {
      const n = 1 + Math.floor(random() * 700);
      client.write(whole.subarray(p, p + n));
      p += n;
      if (random() < 0.2) await new Promise((r) => setTimeout(r, 1));
    }
    client.end();
    await once(client, 'close');
    const deadline = Date.now() + 5000;
    while (!closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const expected = Array.from({ length: 60 }, (_, i) => 1 + (i % 40)).reduce((a, b) => a + b, 0);
    t.is(received.length, expected, 'every record of every message; none after the withdrawal');
    t.deepEqual(received[0], { ip: '10.0.0.0', octets: 0 });
    t.deepEqual(received.at(-1), { ip: '10.0.59.19', octets: 59019 });
    t.is(decoder.stats.templatesWithdrawn, 1);
    t.is(decoder.stats.messagesRejected, 0);
    t.true(closed);
    t.is(decoder.status().exporters, 0, 'the session end forgot the exporter');
  } finally {
    server.close();
  }
});
