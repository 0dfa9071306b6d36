// A throwaway UDP responder that records which QTYPEs arrive, to check that dnsperf really sends
// qtype 260 for the "TYPE260" lines of the query file (and A for "A").
//
// Usage: node bench/dns-qps/qtype-probe.ts --expect N [--timeout-ms 10000]
// Prints "port P" once listening on 127.0.0.1 (an ephemeral port), answers every query with an
// empty NOERROR response (so dnsperf does not wait for timeouts), and after N queries (or the
// timeout) prints one line "qtypes 1=X 260=Y ..." and exits (status 1 on timeout).

import { createSocket } from 'node:dgram';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { expect: { type: 'string' }, 'timeout-ms': { type: 'string', default: '10000' } },
  strict: true,
});
const expected = Number(values.expect);
if (!Number.isInteger(expected) || expected < 1) throw new Error('--expect N is required');

const counts = new Map<number, number>();
let received = 0;
const socket = createSocket('udp4');

function finish(code: number): void {
  const summary = [...counts.entries()]
    .sort(([a], [b]) => a - b)
    .map(([t, n]) => `${t}=${n}`)
    .join(' ');
  console.log(`qtypes ${summary}`);
  socket.close();
  process.exit(code);
}

/** Offset just past the QNAME of the question starting at byte 12, or -1 if malformed. */
function skipName(msg: Buffer, offset: number): number {
  while (offset < msg.length) {
    const len = msg[offset] as number;
    if (len === 0) return offset + 1;
    if (len >= 0xc0) return offset + 2;
    offset += 1 + len;
  }
  return -1;
}

socket.on('message', (msg, rinfo) => {
  if (msg.length < 12) return;
  const end = skipName(msg, 12);
  if (end < 0 || end + 4 > msg.length) return;
  const qtype = msg.readUInt16BE(end);
  counts.set(qtype, (counts.get(qtype) ?? 0) + 1);
  // Header + question only: QR=1, opcode and RD copied, RCODE=0, one question, no records.
  const reply = Buffer.from(msg.subarray(0, end + 4));
  reply[2] = 0x80 | ((msg[2] as number) & 0x79);
  reply[3] = 0;
  reply.writeUInt16BE(1, 4);
  reply.writeUInt16BE(0, 6);
  reply.writeUInt16BE(0, 8);
  reply.writeUInt16BE(0, 10);
  socket.send(reply, rinfo.port, rinfo.address);
  if (++received >= expected) setTimeout(() => finish(0), 50);
});

socket.bind(0, '127.0.0.1', () => {
  console.log(`port ${socket.address().port}`);
  setTimeout(() => finish(1), Number(values['timeout-ms'])).unref();
});
