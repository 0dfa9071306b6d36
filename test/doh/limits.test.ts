// Floods and slow clients against the DoH listener, each bounded by a limit, counted, and never
// in the way of DNS: too many streams, rapid reset, huge headers, slow bodies, stalled TLS
// handshakes, idle connections, too many connections.

import test from 'ava';
import { constants, type ClientHttp2Session } from 'node:http2';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { buildQuery, udpExchange } from '../helpers/dns-client.ts';
import { b64url, h2request, h2session, https1 } from '../helpers/doh-client.ts';
import { startTestDriad } from '../helpers/driad.ts';
import { until } from '../helpers/until.ts';

const NAME = '10.95.25.69.amt.in-addr.arpa';
const CONFIG = `amtRelay:
  amtRelayPublicIP: 127.0.0.1
gateway:
  publicIP: 127.0.0.2
doh:
  maxConcurrentStreams: 5
  maxHeaderBytes: 4096
  handshakeTimeoutMs: 300
  idleTimeoutMs: 600
  maxConnections: 20
`;

async function driad(t: { teardown(fn: () => unknown): void }, yaml = CONFIG) {
  const d = await startTestDriad(yaml);
  t.teardown(() => d.stop(0));
  return d;
}

const query = b64url(buildQuery(NAME, 'A', { id: 0 }));

async function dnsStillAnswers(port: number): Promise<boolean> {
  const r = await udpExchange(port, buildQuery(NAME, 'A', { id: 99 }));
  return r.readUInt16BE(6) === 1;
}

export const closed = (session: ClientHttp2Session): Promise<void> => new Promise((resolve) => (session.closed || session.destroyed ? resolve() : session.once('close', () => resolve())));

test('ten stalled POSTs on one connection: the server advertises maxConcurrentStreams 5, each slow body ends in 408, and the connection and DNS still serve', async (t) => {
  const d = await driad(t);
  const session = await h2session(d.doh!.port, d.doh!.certificate);
  t.teardown(() => session.destroy());
  t.true(await until(async () => session.remoteSettings.maxConcurrentStreams === 5, 2000));
  // Ten POSTs whose bodies never finish, opened at once, ignoring the server's limit.
  const codes: number[] = [];
  const streams = Array.from({ length: 10 }, () => {
    const s = session.request({ ':method': 'POST', ':path': '/dns-query', 'content-type': 'application/dns-message' }, { endStream: false });
    s.on('error', () => {});
    s.on('close', () => codes.push(s.rstCode ?? -1));
    s.write(Buffer.alloc(4));
    return s;
  });
  // The client queues what the limit holds back; the slow bodies run into doh.idleTimeoutMs.
  t.true(await until(async () => codes.length === 10, 8000), `all streams end (${codes.length})`);
  t.true(d.metrics.get('driad_doh_connection_errors_total', { kind: 'slow body' }) >= 5, 'slow bodies timed out');
  t.true(d.metrics.get('driad_doh_requests_total', { transport: 'h2', format: 'wire', status: '408' }) >= 5);
  t.true(streams.length === 10);
  t.true(await dnsStillAnswers(d.dnsPort));
  const fresh = await h2session(d.doh!.port, d.doh!.certificate);
  t.teardown(() => fresh.destroy());
  t.is((await h2request(fresh, { ':path': `/dns-query?dns=${query}` })).status, 200);
});

test('rapid reset (CVE-2023-44487): a client that opens and cancels streams in a burst loses its session', async (t) => {
  const d = await driad(t);
  const session = await h2session(d.doh!.port, d.doh!.certificate);
  session.on('error', () => {});
  t.teardown(() => session.destroy());
  // HEADERS, then RST_STREAM right after, in bursts of 20, up to 3000 streams.
  const batch: Array<{ close(code: number): void }> = [];
  for (let i = 0; i < 3000 && !session.closed && !session.destroyed; i++) {
    const s = session.request({ ':path': `/dns-query?dns=${query}` });
    s.on('error', () => {});
    batch.push(s);
    if (batch.length === 20) {
      await new Promise((r) => setImmediate(r));
      for (const x of batch.splice(0)) x.close(constants.NGHTTP2_CANCEL);
    }
    if (d.metrics.get('driad_doh_connection_errors_total', { kind: 'h2 session error' }) > 0) break;
  }
  t.true(await until(async () => d.metrics.get('driad_doh_connection_errors_total', { kind: 'h2 session error' }) >= 1, 5000), 'the server ended the session');
  t.true(await until(async () => d.metrics.get('driad_doh_connections') === 0, 5000), 'its connection is closed');
  t.true(d.metrics.get('driad_doh_requests_total', { transport: 'h2', format: 'wire', status: '200' }) < 3000, 'not every reset stream was answered');
  t.true(await dnsStillAnswers(d.dnsPort));
  const fresh = await h2session(d.doh!.port, d.doh!.certificate);
  t.teardown(() => fresh.destroy());
  t.is((await h2request(fresh, { ':path': `/dns-query?dns=${query}` })).status, 200, 'other clients are served');
});

test('headers larger than maxHeaderBytes: the HTTP/2 stream is refused, HTTP/1.1 gets 431', async (t) => {
  const d = await driad(t);
  const session = await h2session(d.doh!.port, d.doh!.certificate);
  session.on('error', () => {});
  t.teardown(() => session.destroy());
  const big = 'x'.repeat(8000);
  const h2 = await h2request(session, { ':path': `/dns-query?dns=${query}`, 'x-big': big }).then(
    (r) => `status ${r.status}`,
    (err: NodeJS.ErrnoException) => `error ${err.code}`,
  );
  t.regex(h2, /error ERR_HTTP2_(STREAM_ERROR|SESSION_ERROR)|status 431/);
  const h1 = await https1(d.doh!.port, d.doh!.certificate, 'GET', `/dns-query?dns=${query}`, { 'x-big': big }).then((r) => r.status, () => 0);
  t.is(h1, 431);
  t.true(d.metrics.get('driad_doh_connection_errors_total', { kind: 'header too large' }) >= 1);
  t.true(await dnsStillAnswers(d.dnsPort));
});

test('a TLS handshake that stalls, and a connection left idle, are closed by their timeouts and counted', async (t) => {
  const d = await driad(t);
  const stalled: Socket = tcpConnect(d.doh!.port, '127.0.0.1');
  stalled.on('error', () => {});
  t.teardown(() => stalled.destroy());
  const closedAt = await new Promise<number>((resolve) => stalled.once('close', () => resolve(Date.now())));
  t.truthy(closedAt);
  t.true(await until(async () => d.metrics.get('driad_doh_connection_errors_total', { kind: 'tls handshake timeout' }) >= 1, 2000));

  const session = await h2session(d.doh!.port, d.doh!.certificate);
  session.on('error', () => {});
  t.is((await h2request(session, { ':path': `/dns-query?dns=${query}` })).status, 200);
  await Promise.race([closed(session), new Promise((r) => setTimeout(r, 5000))]);
  t.true(session.closed || session.destroyed, 'the idle session was closed by the server');
  t.true(await dnsStillAnswers(d.dnsPort));
});

test('connections beyond maxConnections are closed at once and counted', async (t) => {
  const d = await driad(t, CONFIG.replace('maxConnections: 20', 'maxConnections: 2'));
  const open = await Promise.all([1, 2].map(() => h2session(d.doh!.port, d.doh!.certificate)));
  t.teardown(() => open.forEach((s) => s.destroy()));
  const third = tlsConnect({ host: '127.0.0.1', port: d.doh!.port, ca: d.doh!.certificate, ALPNProtocols: ['h2'] });
  const outcome = await new Promise<string>((resolve) => {
    third.once('secureConnect', () => resolve('connected'));
    third.once('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code}`));
    third.once('close', () => resolve('closed'));
  });
  third.destroy();
  t.not(outcome, 'connected');
  t.true(d.metrics.get('driad_doh_connection_errors_total', { kind: 'too many connections' }) >= 1);
  t.is((await h2request(open[0]!, { ':path': `/dns-query?dns=${query}` })).status, 200);
});
