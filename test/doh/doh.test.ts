// DoH (RFC 8484) and the JSON API against a running driad: the same bytes as UDP from the same
// engine over HTTP/2+TLS, HTTP/1.1+TLS and plain HTTP/1.1; caching headers from the smallest TTL;
// the public JSON field names; CORS; the client address behind trusted proxies; bad requests.

import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildQuery, udpExchange } from '../helpers/dns-client.ts';
import { b64url, h2request, h2session, https1 } from '../helpers/doh-client.ts';
import { startTestDriad } from '../helpers/driad.ts';
import { undocumentedMetrics } from '../helpers/metrics-doc.ts';

const NAME = '10.95.25.69.amt.in-addr.arpa';
const LOOPBACK = `amtRelay:
  amtRelayPublicIP: 127.0.0.1
gateway:
  publicIP: 127.0.0.2
driad:
  ttl: 120
  degradedTtl: 20
`;

async function started(t: { teardown(fn: () => unknown): void }, yaml = LOOPBACK) {
  const d = await startTestDriad(yaml);
  t.teardown(() => d.stop(0));
  const tls = d.doh!;
  const session = await h2session(tls.port, tls.certificate);
  t.teardown(() => session.close());
  return { d, tls, session, plain: `http://127.0.0.1:${d.httpPort}` };
}

const withoutId = (b: Buffer): Buffer => b.subarray(2);

test('the same answer bytes as UDP, apart from the ID, over HTTP/2, HTTP/1.1+TLS and plain HTTP/1.1, GET and POST, ID 0 or not', async (t) => {
  const { d, tls, session, plain } = await started(t);
  t.is(tls.h2, process.env.DRIAD_DOH_NATIVE_H2 === 'false' ? 'node:http2' : 'native/h2-session', 'the HTTP/2 engine this run is for');
  const queries = [
    buildQuery(NAME, 'AMTRELAY', { id: 0, udpSize: 1232 }),
    buildQuery(NAME, 'A', { id: 0x4321 }),
    buildQuery(NAME, 'A', { id: 0, udpSize: 1232, options: [{ code: 'CLIENT_SUBNET', family: 1, sourcePrefixLength: 24, scopePrefixLength: 0, ip: '198.51.100.0' }] }),
    buildQuery('nothing.amt.in-addr.arpa', 'A', { id: 7, udpSize: 1232 }),
    buildQuery('95.25.69.amt.in-addr.arpa', 'A', { id: 0 }),
    buildQuery('example.org', 'A', { id: 0xffff }),
  ];
  for (const q of queries) {
    const udp = await udpExchange(d.dnsPort, q);
    const id = q.readUInt16BE(0);
    const answers = {
      'h2 GET': await h2request(session, { ':path': `/dns-query?dns=${b64url(q)}`, accept: 'application/dns-message' }),
      'h2 POST': await h2request(session, { ':method': 'POST', ':path': '/dns-query', 'content-type': 'application/dns-message' }, q),
      'http/1.1+TLS POST': await https1(tls.port, tls.certificate, 'POST', '/dns-query', { 'content-type': 'application/dns-message' }, q),
      'http/1.1 GET': await fetchAnswer(`${plain}/dns-query?dns=${b64url(q)}`),
    };
    for (const [how, a] of Object.entries(answers)) {
      t.is(a.status, 200, how);
      t.is(a.headers['content-type'], 'application/dns-message', how);
      t.is(a.body.readUInt16BE(0), id, `${how}: the ID is echoed`);
      t.deepEqual(withoutId(a.body), withoutId(udp), `${how}: same bytes as UDP for query ${id}`);
    }
    t.is((answers['http/1.1+TLS POST'] as { alpn: string }).alpn, 'http/1.1');
  }
  t.true(d.metrics.get('driad_dns_responses_total', { transport: 'doh', rcode: 'NOERROR' }) >= 12);
  t.true(d.metrics.get('driad_doh_requests_total', { transport: 'h2', format: 'wire', status: '200' }) >= 12);
  t.true(d.metrics.get('driad_doh_requests_total', { transport: 'http1', format: 'wire', status: '200' }) >= 6);
});

async function fetchAnswer(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init);
  return { status: res.status, headers: Object.fromEntries(res.headers), body: Buffer.from(await res.arrayBuffer()) };
}

test('Cache-Control from the smallest TTL: the answer TTL, the degraded TTL, the SOA minimum for negative answers; private with client rules', async (t) => {
  const { d, session } = await started(t);
  const get = async (name: string, type: string) => (await h2request(session, { ':path': `/dns-query?dns=${b64url(buildQuery(name, type, { id: 0 }))}` })).headers['cache-control'];
  t.is(await get(NAME, 'A'), 'public, max-age=120');
  t.is(await get('nothing.amt.in-addr.arpa', 'A'), 'public, max-age=300', 'NXDOMAIN: the SOA minimum (300)');
  t.is(await get('example.org', 'A'), 'public, max-age=0', 'REFUSED: nothing to go by');
  d.health.ingest({ relay: 'gateway', source: 'test', kind: 'state', value: 'degraded', at: Date.now(), maxAgeMs: 60_000 });
  t.is(await get(NAME, 'A'), 'public, max-age=20');

  const perClient = await started(t, `${LOOPBACK}policy:\n  clients:\n    - { prefix: 198.51.100.0/24, prefer: [gateway] }\n`);
  const h = await h2request(perClient.session, { ':path': `/dns-query?dns=${b64url(buildQuery(NAME, 'A', { id: 0 }))}` });
  t.is(h.headers['cache-control'], 'private, max-age=120');
});

test('the JSON API: /resolve and /dns-query with Accept: application/dns-json, the public field names, AMTRELAY in presentation form', async (t) => {
  const { session, plain } = await started(t);
  const r = await h2request(session, { ':path': `/resolve?name=${NAME}&type=AMTRELAY` });
  t.is(r.status, 200);
  t.is(r.headers['content-type'], 'application/json');
  t.is(r.headers['cache-control'], 'public, max-age=120');
  t.deepEqual(JSON.parse(r.body.toString()), {
    Status: 0,
    TC: false,
    RD: true,
    RA: false,
    AD: false,
    CD: false,
    Question: [{ name: `${NAME}.`, type: 260 }],
    Answer: [
      { name: `${NAME}.`, type: 260, TTL: 120, data: '10 0 1 127.0.0.1' },
      { name: `${NAME}.`, type: 260, TTL: 120, data: '20 0 1 127.0.0.2' },
    ],
  });

  const j = await fetch(`${plain}/dns-query?name=nothing.amt.in-addr.arpa.&type=1&cd=1`, { headers: { accept: 'application/dns-json' } });
  t.is(j.headers.get('content-type'), 'application/dns-json');
  const nx: any = await j.json();
  t.like(nx, { Status: 3, CD: true, Question: [{ name: 'nothing.amt.in-addr.arpa.', type: 1 }] });
  t.is(nx.Answer, undefined);
  t.deepEqual(nx.Authority, [{ name: 'amt.in-addr.arpa.', type: 6, TTL: 300, data: 'ns1.driad.example. hostmaster.driad.example. 2024010101 3600 900 604800 300' }]);

  const a: any = await (await fetch(`${plain}/resolve?name=${NAME}`)).json();
  t.deepEqual(a.Answer, [{ name: `${NAME}.`, type: 1, TTL: 120, data: '127.0.0.1' }], 'type defaults to A');
  const ecs: any = await (await fetch(`${plain}/resolve?name=${NAME}&type=A&edns_client_subnet=198.51.100.77/24`)).json();
  t.is(ecs.edns_client_subnet, '198.51.100.77/0', 'scope 0: the answer is the same for every client');
  const wire = await fetchAnswer(`${plain}/resolve?name=${NAME}&type=A&ct=application/dns-message`);
  t.is(wire.headers['content-type'], 'application/dns-message');
  t.is(wire.body.readUInt16BE(0), 0);

  for (const [query, message] of [
    ['', /name: required/],
    ['name=a..b', /name:/],
    [`name=${'a'.repeat(64)}.example`, /name:/],
    [`name=${NAME}&type=NOPE`, /type: unknown record type "NOPE"/],
    [`name=${NAME}&type=70000`, /type: must be 1 to 65535/],
    [`name=${NAME}&edns_client_subnet=300.1.1.1/24`, /edns_client_subnet/],
  ] as const) {
    const res = await fetch(`${plain}/resolve?${query}`);
    t.is(res.status, 400, query);
    t.regex(((await res.json()) as { error: string }).error, message, query);
  }
});

test('bad requests get the right status, are counted, and DNS keeps serving', async (t) => {
  const { d, session, plain } = await started(t);
  const q = buildQuery(NAME, 'A', { id: 0 });
  const cases: Array<[string, Promise<{ status: number; headers: Record<string, string>; body: Buffer }>, number, RegExp]> = [
    ['bad base64url', h2request(session, { ':path': '/dns-query?dns=not*base64!' }), 400, /not base64url/],
    ['base64url of one char too many', h2request(session, { ':path': '/dns-query?dns=AAAAA' }), 400, /not base64url/],
    ['no dns parameter', h2request(session, { ':path': '/dns-query' }), 400, /needs dns=/],
    ['not a DNS query', h2request(session, { ':path': `/dns-query?dns=${b64url(Buffer.from('hi'))}` }), 400, /not a DNS query/],
    ['a response, not a query', h2request(session, { ':path': `/dns-query?dns=${b64url(Buffer.concat([q.subarray(0, 2), Buffer.from([0x80]), q.subarray(3)]))}` }), 400, /not a DNS query/],
    ['GET dns= larger than maxQueryBytes', h2request(session, { ':path': `/dns-query?dns=${b64url(Buffer.alloc(5000))}` }), 413, /larger than doh.maxQueryBytes/],
    ['URL longer than maxUrlBytes', h2request(session, { ':path': `/dns-query?dns=${'A'.repeat(9000)}` }), 414, /longer than doh.maxUrlBytes/],
    ['POST body larger than maxQueryBytes', h2request(session, { ':method': 'POST', ':path': '/dns-query', 'content-type': 'application/dns-message' }, Buffer.alloc(5000)), 413, /larger than doh.maxQueryBytes/],
    ['POST with the wrong content type', h2request(session, { ':method': 'POST', ':path': '/dns-query', 'content-type': 'application/json' }, q), 415, /needs Content-Type: application\/dns-message/],
    ['POST without a content type', h2request(session, { ':method': 'POST', ':path': '/dns-query' }, q), 415, /got "none"/],
    ['PUT', h2request(session, { ':method': 'PUT', ':path': '/dns-query', 'content-type': 'application/dns-message' }, q), 405, /method PUT is not allowed/],
    ['POST /resolve', h2request(session, { ':method': 'POST', ':path': '/resolve', 'content-type': 'application/dns-message' }, q), 405, /allowed: GET, OPTIONS/],
    ['unknown path on the DoH listener', h2request(session, { ':path': '/metrics' }), 404, /no route/],
    ['http/1.1 oversized POST', fetchAnswer(`${plain}/dns-query`, { method: 'POST', headers: { 'content-type': 'application/dns-message' }, body: new Uint8Array(70_000) }), 413, /larger than doh.maxQueryBytes/],
  ];
  for (const [what, answer, status, message] of cases) {
    const a = await answer;
    t.is(a.status, status, what);
    t.regex(JSON.parse(a.body.toString()).error, message, what);
    t.is(a.headers['cache-control'] as string | undefined, status === 404 ? undefined : 'no-store', what);
  }
  const put = await h2request(session, { ':method': 'DELETE', ':path': '/dns-query' });
  t.is(put.headers.allow, 'GET, POST, OPTIONS');
  for (const kind of ['bad base64url', 'not a dns query', 'query too large', 'uri too long', 'unsupported media type', 'method not allowed']) {
    t.true(d.metrics.get('driad_bad_input_total', { component: 'doh', kind }) >= 1, kind);
  }
  t.true(d.metrics.get('driad_doh_requests_total', { transport: 'h2', format: 'wire', status: '413' }) >= 2);
  const udp = await udpExchange(d.dnsPort, q);
  t.is(udp.readUInt16BE(6), 1, 'UDP still answers');
  const ok = await h2request(session, { ':path': `/dns-query?dns=${b64url(q)}` });
  t.is(ok.status, 200, 'the same session still answers');
});

test('CORS: any origin by default, preflight for POST; configured origins only, echoed with Vary', async (t) => {
  const { session } = await started(t);
  const q = b64url(buildQuery(NAME, 'A', { id: 0 }));
  const get = await h2request(session, { ':path': `/dns-query?dns=${q}`, origin: 'http://page.example' });
  t.is(get.headers['access-control-allow-origin'], '*');
  const pre = await h2request(session, { ':method': 'OPTIONS', ':path': '/dns-query', origin: 'http://page.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' });
  t.is(pre.status, 204);
  t.is(pre.headers['access-control-allow-origin'], '*');
  t.is(pre.headers['access-control-allow-methods'], 'GET, POST, OPTIONS');
  t.regex(pre.headers['access-control-allow-headers'] ?? '', /content-type/);

  const only = await started(t, `${LOOPBACK}doh:\n  corsOrigins: ["http://good.example"]\n`);
  const good = await h2request(only.session, { ':path': `/resolve?name=${NAME}`, origin: 'http://good.example' });
  t.is(good.headers['access-control-allow-origin'], 'http://good.example');
  t.is(good.headers.vary, 'origin');
  const bad = await h2request(only.session, { ':path': `/resolve?name=${NAME}`, origin: 'http://evil.example' });
  t.is(bad.status, 200, 'answered, but a browser will not hand it to the page');
  t.is(bad.headers['access-control-allow-origin'] as string | undefined, undefined);
  const badPre = await h2request(only.session, { ':method': 'OPTIONS', ':path': '/dns-query', origin: 'http://evil.example', 'access-control-request-method': 'POST' });
  t.is(badPre.status, 403);
  t.true(only.d.metrics.get('driad_bad_input_total', { component: 'doh', kind: 'cors origin refused' }) >= 1);
});

test('the client address: the connection, or X-Forwarded-For / Forwarded from trusted proxies only, drives per-client rules', async (t) => {
  const rules = `${LOOPBACK}policy:\n  clients:\n    - { prefix: 198.51.100.0/24, prefer: [gateway] }\n`;
  const first = async (base: string, headers: Record<string, string>): Promise<string> => ((await (await fetch(`${base}/resolve?name=${NAME}&type=A`, { headers })).json()) as any).Answer[0].data;

  const untrusted = await started(t, rules);
  t.is(await first(untrusted.plain, {}), '127.0.0.1', 'the connection (127.0.0.1) matches no client rule: mx');
  t.is(await first(untrusted.plain, { 'x-forwarded-for': '198.51.100.7' }), '127.0.0.1', 'X-Forwarded-For from an untrusted peer is ignored');

  const trusted = await started(t, `${rules}doh:\n  trustedProxies: [127.0.0.1, "10.0.0.0/8"]\n`);
  t.is(await first(trusted.plain, { 'x-forwarded-for': '198.51.100.7' }), '127.0.0.2', 'trusted proxy: the forwarded client prefers the gateway');
  t.is(await first(trusted.plain, { 'x-forwarded-for': '198.51.100.7, 10.1.2.3' }), '127.0.0.2', 'through two trusted proxies');
  t.is(await first(trusted.plain, { 'x-forwarded-for': '198.51.100.7, 203.0.113.9' }), '127.0.0.1', 'the nearest untrusted hop is the client, not what it claims');
  t.is(await first(trusted.plain, { forwarded: 'for="[2001:db8::1]:4711", for=198.51.100.9;proto=https' }), '127.0.0.2', 'Forwarded (RFC 7239)');
  t.is(await first(trusted.plain, { forwarded: 'for=unknown' }), '127.0.0.1', 'an unknown hop stops at the proxy');
  const h2 = await h2request(trusted.session, { ':path': `/resolve?name=${NAME}`, 'x-forwarded-for': '198.51.100.7' });
  t.is(JSON.parse(h2.body.toString()).Answer[0].data, '127.0.0.2', 'over HTTP/2 too');
  const wire = await h2request(trusted.session, { ':path': `/dns-query?dns=${b64url(buildQuery(NAME, 'A', { id: 0 }))}`, 'x-forwarded-for': '198.51.100.7' });
  t.is(wire.body.subarray(-4).join('.'), '127.0.0.2');
  const c: any = await (await fetch(`${trusted.plain}/api/v1/candidates?source=69.25.95.10`, { headers: { 'x-forwarded-for': '198.51.100.7' } })).json();
  t.is(c.client, '198.51.100.7');
  t.deepEqual(c.candidates.map((x: { relay: string }) => x.relay), ['gateway', 'mx']);
});

test('a self-signed certificate is made at first start, kept (same fingerprint next start), and a configured one is used instead', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'driad-doh-state-'));
  const yaml = `${LOOPBACK}doh:\n  stateDir: ${dir}\n`;
  const a = await startTestDriad(yaml);
  const fingerprint = a.doh!.fingerprint;
  await a.stop(0);
  const file = join(dir, 'self-signed.pem');
  t.is(statSync(file).mode & 0o777, 0o600);
  const openssl = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', file], { encoding: 'utf8' });
  t.is(openssl.trim().split('=')[1], fingerprint, 'the logged fingerprint is what openssl computes');
  const sans = execFileSync('openssl', ['x509', '-noout', '-ext', 'subjectAltName', '-in', file], { encoding: 'utf8' });
  t.regex(sans, /IP Address:127\.0\.0\.1/);
  const b = await startTestDriad(yaml);
  t.teardown(() => b.stop(0));
  t.is(b.doh!.fingerprint, fingerprint);

  const own = mkdtempSync(join(tmpdir(), 'driad-doh-own-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=own', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(own, 'k.pem'), '-out', join(own, 'c.pem')], { stdio: 'ignore' });
  const c = await startTestDriad(`${LOOPBACK}doh:\n  certFile: ${join(own, 'c.pem')}\n  keyFile: ${join(own, 'k.pem')}\n`);
  t.teardown(() => c.stop(0));
  t.is(c.doh!.certificate, readFileSync(join(own, 'c.pem'), 'utf8'));
  const r = await https1(c.doh!.port, readFileSync(join(own, 'c.pem')), 'GET', `/resolve?name=${NAME}`);
  t.is(r.status, 200);
  writeFileSync(join(own, 'broken.pem'), 'not a certificate');
  await t.throwsAsync(() => startTestDriad(`${LOOPBACK}doh:\n  certFile: ${join(own, 'broken.pem')}\n  keyFile: ${join(own, 'k.pem')}\n`), { message: /broken\.pem: not a PEM certificate/ });
});

test('every DoH metric is in docs/metrics.md', async (t) => {
  const { plain, session } = await started(t);
  await h2request(session, { ':path': '/dns-query?dns=!!' });
  await fetch(`${plain}/resolve?name=${NAME}`);
  const text = await (await fetch(`${plain}/metrics`)).text();
  t.regex(text, /^driad_doh_requests_total\{transport="h2",format="wire",status="400"\} 1$/m);
  t.regex(text, /^driad_doh_connections 1$/m);
  t.deepEqual(undocumentedMetrics(text), []);
});
