// HTTP/2 floods from a raw client (frames written by hand over node:tls, test/helpers/h2-raw.ts)
// that ignores the server's SETTINGS: more streams than doh.maxConcurrentStreams, and rapid reset.
// Run for native/h2-session here and for node:http2 by node-http2-h2-raw.test.ts.

import test from 'ava';
import { buildQuery, udpExchange } from '../helpers/dns-client.ts';
import { b64url, h2request, h2session } from '../helpers/doh-client.ts';
import { startTestDriad } from '../helpers/driad.ts';
import { FRAME, H2_ERROR, frame, headersFrame, rawH2, rstFrame } from '../helpers/h2-raw.ts';
import { until } from '../helpers/until.ts';
import { loadH2Addon } from '../../src/doh/h2-native.ts';

const NAME = '10.95.25.69.amt.in-addr.arpa';
const CONFIG = `amtRelay:
  amtRelayPublicIP: 127.0.0.1
gateway:
  publicIP: 127.0.0.2
doh:
  maxConcurrentStreams: 5
  idleTimeoutMs: 5000
`;
const native = process.env.DRIAD_DOH_NATIVE_H2 !== 'false';
const engine = native ? 'native/h2-session' : 'node:http2';
const query = buildQuery(NAME, 'A', { id: 0 });
const request = (method: string, path: string): Array<[string, string]> => [
  [':method', method],
  [':scheme', 'https'],
  [':authority', '127.0.0.1'],
  [':path', path],
  ['content-type', 'application/dns-message'],
];

async function driad(t: { teardown(fn: () => unknown): void }) {
  const d = await startTestDriad(CONFIG);
  t.teardown(() => d.stop(0));
  return d;
}

async function stillServes(d: Awaited<ReturnType<typeof driad>>): Promise<boolean> {
  const dns = (await udpExchange(d.dnsPort, buildQuery(NAME, 'A', { id: 9 }))).readUInt16BE(6) === 1;
  const session = await h2session(d.doh!.port, d.doh!.certificate);
  try {
    return dns && (await h2request(session, { ':path': `/dns-query?dns=${b64url(query)}` })).status === 200;
  } finally {
    session.destroy();
  }
}

if (native) {
  test('native/h2-session is built here (CI builds it; node:http2 is the fallback for machines without libnghttp2-dev)', (t) => {
    const { addon, reason } = loadH2Addon();
    t.truthy(addon, reason);
  });
}

test(`${engine}: a raw client opening 12 streams against maxConcurrentStreams 5, SETTINGS ignored, gets REFUSED_STREAM for the 7 beyond; the 5 are answered`, async (t) => {
  const d = await driad(t);
  t.is(d.doh!.h2, engine);
  const c = await rawH2(d.doh!.port, d.doh!.certificate);
  t.teardown(() => c.socket.destroy());
  // Twelve POSTs whose bodies are still to come, in one write, without waiting for the server's SETTINGS.
  const ids = Array.from({ length: 12 }, (_, i) => 1 + 2 * i);
  c.write(Buffer.concat(ids.map((id) => headersFrame(id, request('POST', '/dns-query'), false))));
  t.true(await until(async () => c.resets.size >= 7 || c.goaway !== null, 3000), `refused: ${[...c.resets].join(' ')}`);
  if (c.goaway === null) {
    t.deepEqual([...c.resets.keys()].sort((a, b) => a - b), ids.slice(5), 'the streams beyond the limit are refused');
    t.true([...c.resets.values()].every((code) => code === H2_ERROR.REFUSED_STREAM), 'with REFUSED_STREAM');
  }
  // The five it took get their bodies and are answered.
  c.write(Buffer.concat(ids.slice(0, 5).map((id) => frame(FRAME.DATA, 1, id, query))));
  t.true(await until(async () => ids.slice(0, 5).every((id) => c.responses.has(id)), 3000), `answered: ${[...c.responses].join(' ')}`);
  t.false(ids.slice(5).some((id) => c.responses.has(id)), 'no refused stream is answered');
  t.is(d.metrics.get('driad_doh_requests_total', { transport: 'h2', format: 'wire', status: '200' }), 5);
  if (native) t.is(d.metrics.get('driad_doh_connection_errors_total', { kind: 'refused stream' }), 7);
  t.true(await stillServes(d));
});

test(`${engine}: a raw rapid-reset client (HEADERS then RST_STREAM, 100 pairs a write) is cut off with GOAWAY`, async (t) => {
  const d = await driad(t);
  const c = await rawH2(d.doh!.port, d.doh!.certificate);
  t.teardown(() => c.socket.destroy());
  const path = `/dns-query?dns=${b64url(query)}`;
  let id = 1;
  for (let round = 0; round < 100 && c.goaway === null && !c.closed; round++) {
    const pairs: Buffer[] = [];
    for (let i = 0; i < 100; i++, id += 2) pairs.push(headersFrame(id, request('GET', path), true), rstFrame(id, H2_ERROR.CANCEL));
    c.write(Buffer.concat(pairs));
    await new Promise((r) => setTimeout(r, 5));
  }
  t.true(await until(async () => c.goaway !== null, 3000), `GOAWAY after ${(id - 1) / 2} streams`);
  t.not(c.goaway!.code, H2_ERROR.NO_ERROR, 'with an error code');
  t.true(await until(async () => c.closed, 5000), 'and the connection is closed');
  t.true(c.responses.size < (id - 1) / 2, 'not every reset stream was answered');
  t.true(d.metrics.get('driad_doh_connection_errors_total', { kind: 'h2 session error' }) >= 1);
  t.true(await stillServes(d));
});

test(`${engine}: bytes that are not HTTP/2 after ALPN h2 end the connection, counted, and DNS keeps serving`, async (t) => {
  const d = await driad(t);
  const c = await rawH2(d.doh!.port, d.doh!.certificate);
  t.teardown(() => c.socket.destroy());
  c.write(Buffer.from('GET / HTTP/1.1\r\nhost: x\r\n\r\n'.repeat(4)));
  t.true(await until(async () => c.closed, 5000), 'the connection is closed');
  t.true(await until(async () => d.metrics.get('driad_doh_connection_errors_total', { kind: 'h2 session error' }) >= 1, 2000), 'counted');
  t.true(await stillServes(d));
});

test(`${engine}: 300 GETs in one write (more than one batch of the native engine) are all answered, each on its stream`, async (t) => {
  const d = await startTestDriad(CONFIG.replace('maxConcurrentStreams: 5', 'maxConcurrentStreams: 400'));
  t.teardown(() => d.stop(0));
  const c = await rawH2(d.doh!.port, d.doh!.certificate);
  t.teardown(() => c.socket.destroy());
  const ids = Array.from({ length: 300 }, (_, i) => 1 + 2 * i);
  // Each with its own query ID in dns=: every answer must come back on its own stream.
  c.write(Buffer.concat(ids.map((id) => headersFrame(id, request('GET', `/dns-query?dns=${b64url(buildQuery(NAME, 'A', { id }))}`), true))));
  t.true(await until(async () => c.bodies.size === 300 && [...c.bodies.values()].every((b) => b.length >= 12), 5000), `${c.bodies.size} answered`);
  t.deepEqual([...c.responses].sort((a, b) => a - b), ids);
  t.true(ids.every((id) => c.bodies.get(id)!.readUInt16BE(0) === id), 'each answer on the stream of its query');
  t.is(c.resets.size, 0);
  t.is(d.metrics.get('driad_doh_requests_total', { transport: 'h2', format: 'wire', status: '200' }), 300);
});

// native/h2-session only: node:http2 refuses streams a client this fast opens before it has
// written the earlier answers, and ends the session after 100 refusals (maxSessionRejectedStreams).
if (native) test(`${engine}: a client that sends requests but does not read its answers is stopped being read, and served again once it reads`, async (t) => {
  const d = await startTestDriad(CONFIG.replace('maxConcurrentStreams: 5', 'maxConcurrentStreams: 100').replace('idleTimeoutMs: 5000', 'idleTimeoutMs: 60000'));
  t.teardown(() => d.stop(0));
  const c = await rawH2(d.doh!.port, d.doh!.certificate);
  t.teardown(() => c.socket.destroy());
  c.socket.pause();
  // JSON answers (about 400 bytes each): 24 MB in all, more than the loopback socket buffers hold.
  const answered = () => d.metrics.get('driad_doh_requests_total', { transport: 'h2', format: 'json', status: '200' });
  const refusedByServer = () => d.metrics.get('driad_doh_connection_errors_total', { kind: 'refused stream' });
  const total = 60_000;
  const get = (id: number) => headersFrame(id, request('GET', `/resolve?name=${NAME}&type=AMTRELAY`), true);
  for (let sent = 0; sent < total; sent += 1000) {
    c.write(Buffer.concat(Array.from({ length: 1000 }, (_, i) => get(1 + 2 * (sent + i)))));
    await new Promise((r) => setImmediate(r));
  }
  // The answers pile up in the socket buffers until the server stops reading: answered stops growing.
  let before = -1;
  let still = false;
  for (let i = 0; i < 20 && !still; i++) {
    await new Promise((r) => setTimeout(r, 500));
    still = answered() === before;
    before = answered();
  }
  t.true(still, 'the server stops answering');
  // ... because it stopped reading: requests it has not seen are still on the way (a server that
  // read on would have answered or refused every one, its unsent answers piling up in memory).
  t.true(before + refusedByServer() < total, `${before} answered, ${refusedByServer()} refused of ${total} while the client does not read`);
  c.socket.resume();
  // Streams the client opened while answers to earlier ones waited in the stalled socket were over
  // the concurrency limit: refused. Every other one is answered now.
  const refused = () => [...c.resets.values()].filter((code) => code === H2_ERROR.REFUSED_STREAM).length;
  t.true(await until(async () => answered() + refused() === total, 20_000), `${answered()} answered and ${refused()} refused of ${total} once it reads`);
  t.is(c.resets.size, refused(), 'no other reset');
  t.is(c.goaway, null, 'the connection stays');
});
