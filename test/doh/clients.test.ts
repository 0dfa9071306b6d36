// Real DoH clients against a running driad: curl --doh-url resolving a DRIAD name and connecting to
// the relay it names (a loopback address, so nothing leaves the machine), and kdig's +https (POST)
// and +https-get (GET), verifying the self-signed certificate by file and by its SPKI pin.

import test from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestDriad } from '../helpers/driad.ts';

const NAME = '10.95.25.69.amt.in-addr.arpa';
const installed = (bin: string): boolean => spawnSync('/bin/sh', ['-c', 'command -v "$1"', 'sh', bin]).status === 0;
const curlTest = installed('curl') ? test : test.skip;
const kdigTest = installed('kdig') ? test : test.skip;
const skipped = (bin: string, pkg: string): string => (installed(bin) ? '' : ` [SKIPPED: ${bin} is not installed; apt-get install ${pkg}]`);

// Both relays on loopback: whatever driad answers, curl connects to this machine.
const LOOPBACK = `amtRelay:
  amtRelayPublicIP: 127.0.0.1
gateway:
  publicIP: 127.0.0.2
`;

function run(bin: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(bin, args, { timeout: 15_000, encoding: 'utf8' }, (err, stdout, stderr) => resolve({ code: err ? ((err.code as number) ?? -1) : 0, stdout, stderr })),
  );
}

async function driad(t: { teardown(fn: () => unknown): void }) {
  const d = await startTestDriad(LOOPBACK);
  t.teardown(() => d.stop(0));
  const ca = join(mkdtempSync(join(tmpdir(), 'driad-doh-ca-')), 'ca.pem');
  writeFileSync(ca, d.doh!.certificate);
  return { d, ca, url: `https://127.0.0.1:${d.doh!.port}/dns-query` };
}

curlTest(`curl --doh-url resolves a DRIAD name through driad and connects to the relay it names${skipped('curl', 'curl')}`, async (t) => {
  const { d, ca, url } = await driad(t);
  // The "relay": an HTTP server on the address DRIAD answers (127.0.0.1), saying who it is.
  const relay = createServer((req, res) => res.end(`relay at ${req.socket.localAddress}, asked for ${req.headers.host}\n`));
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => relay.close(() => resolve())));
  const port = (relay.address() as { port: number }).port;

  const r = await run('curl', ['-sS', '--max-time', '10', '--doh-url', url, '--cacert', ca, `http://${NAME}:${port}/`]);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `relay at 127.0.0.1, asked for ${NAME}:${port}\n`);
  t.true(d.metrics.get('driad_dns_queries_total', { qtype: 'A', rcode: 'NOERROR' }) >= 1, 'curl asked driad for A');
  t.true(d.metrics.get('driad_doh_requests_total', { transport: 'h2', format: 'wire', status: '200' }) >= 1, 'over HTTP/2');

  // A relay going down changes what curl connects to: the gateway (127.0.0.2), where nothing listens.
  d.health.setOverride('mx', 'down', 'test');
  const down = await run('curl', ['-sS', '-v', '--max-time', '10', '--doh-url', url, '--cacert', ca, `http://${NAME}:${port}/`]);
  t.not(down.code, 0);
  t.regex(down.stderr, /Trying 127\.0\.0\.2:/);

  const untrusted = await run('curl', ['-sS', '--max-time', '10', '--doh-url', url, `http://${NAME}:${port}/`]);
  t.not(untrusted.code, 0, 'without the certificate curl refuses the DoH server');
});

kdigTest(`kdig +https (POST) and +https-get (GET) get the DRIAD answers, verifying the certificate by file and by SPKI pin${skipped('kdig', 'knot-dnsutils')}`, async (t) => {
  const { d, ca } = await driad(t);
  const port = String(d.doh!.port);
  const post = await run('kdig', ['@127.0.0.1', '-p', port, '+https', `+tls-ca=${ca}`, '+time=3', '+retry=0', NAME, 'TYPE260']);
  t.is(post.code, 0, post.stderr);
  t.regex(post.stdout, /HTTP session \(HTTP\/2-POST\)-\(127\.0\.0\.1\/dns-query\)-\(status: 200\)/);
  t.regex(post.stdout, /status: NOERROR/);
  t.regex(post.stdout, new RegExp(`${NAME.replace(/\./g, '\\.')}\\.\\s+300\\s+IN\\s+TYPE260\\s+\\\\# 6 0A017F000001`), "the MX first: precedence 10, type 1, 127.0.0.1");

  const get = await run('kdig', ['@127.0.0.1', '-p', port, '+https-get', `+tls-pin=${d.doh!.spki}`, '+time=3', '+retry=0', NAME, 'A']);
  t.is(get.code, 0, get.stderr);
  t.regex(get.stdout, /HTTP session \(HTTP\/2-GET\)-\(127\.0\.0\.1\/dns-query\)-\(status: 200\)/);
  t.regex(get.stdout, new RegExp(`${NAME.replace(/\./g, '\\.')}\\.\\s+300\\s+IN\\s+A\\s+127\\.0\\.0\\.1`));

  const nx = await run('kdig', ['@127.0.0.1', '-p', port, '+https-get', `+tls-ca=${ca}`, '+time=3', '+retry=0', 'nothing.amt.in-addr.arpa', 'A']);
  t.regex(nx.stdout, /status: NXDOMAIN/);
  const wrongPin = await run('kdig', ['@127.0.0.1', '-p', port, '+https', `+tls-pin=${Buffer.alloc(32).toString('base64')}`, '+time=3', '+retry=0', NAME, 'A']);
  t.notRegex(wrongPin.stdout, /status: NOERROR/, 'a wrong pin is refused');
  t.true(d.metrics.get('driad_doh_requests_total', { transport: 'h2', format: 'wire', status: '200' }) >= 3);
});
