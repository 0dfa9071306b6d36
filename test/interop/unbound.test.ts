// A real recursive resolver resolving through driad: unbound, with stub zones for
// amt.in-addr.arpa and amt.ip6.arpa pointing at an in-process driad. This is what delegation
// from a site resolver (or Apache Traffic Router) to driad looks like in production, with the
// resolver behaviours that stress an authoritative server turned on: QNAME minimisation (asks
// driad about partial names such as 69.amt.in-addr.arpa, which must be NODATA, not NXDOMAIN),
// harden-below-nxdomain (a wrong NXDOMAIN would cut off everything below it), 0x20 random
// letter case in queries (use-caps-for-id), and fallback to TCP on truncation.

import test, { type ExecutionContext } from 'ava';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_TOKEN, startTestDriad } from '../helpers/driad.ts';
import { buildQuery, decodeMessage, udpExchange } from '../helpers/dns-client.ts';

const NAME = '10.95.25.69.amt.in-addr.arpa';
const DEFAULT_AMTRELAY = ['10 0 1 69.25.95.1', '20 0 1 192.0.2.10'];

/** True if `bin` is on PATH; decided once, at module load, to pick test or test.skip. */
function installed(bin: string): boolean {
  return spawnSync('/bin/sh', ['-c', 'command -v "$1"', 'sh', bin]).status === 0;
}
const MISSING = ['unbound', 'unbound-checkconf', 'dig'].filter((b) => !installed(b));
const ubTest = MISSING.length === 0 ? test : test.skip;
const title = (s: string): string => (MISSING.length === 0 ? s : `${s} [SKIPPED: ${MISSING.join(', ')} not installed; apt-get install unbound bind9-dnsutils]`);

function run(bin: string, args: string[], timeoutMs = 15_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') reject(new Error(`${bin} ${args.join(' ')}: ${err.message}\n${stdout}\n${stderr}`));
      else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/** A loopback port free for both UDP and TCP right now (unbound binds both). */
async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
      s.on('error', reject);
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
}

interface Unbound {
  port: number;
  log: () => string;
}

/**
 * Starts unbound in the foreground on a free loopback port, forwarding nothing and validating
 * nothing: the iterator alone, with driad as the stub for both DRIAD zones. Killed in teardown.
 */
async function startUnbound(t: ExecutionContext, driadPort: number, extra: string[] = []): Promise<Unbound> {
  const dir = mkdtempSync(join(tmpdir(), 'driad-unbound-'));
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const conf = join(dir, 'unbound.conf');
    writeFileSync(
      conf,
      [
        'server:',
        '  interface: 127.0.0.1',
        `  port: ${port}`,
        '  do-daemonize: no',
        '  username: ""',
        '  chroot: ""',
        `  directory: "${dir}"`,
        `  pidfile: "${join(dir, 'unbound.pid')}"`,
        '  use-syslog: no',
        '  logfile: ""',
        '  verbosity: 1',
        '  num-threads: 1',
        '  do-ip4: yes',
        '  do-ip6: no',
        '  access-control: 127.0.0.0/8 allow',
        // Iterator only: no validator module, no trust anchors, so DNSSEC plays no part.
        '  module-config: "iterator"',
        '  qname-minimisation: yes',
        '  harden-below-nxdomain: yes',
        '  use-caps-for-id: yes',
        // Essential: unbound refuses to send queries to 127.0.0.0/8 otherwise.
        '  do-not-query-localhost: no',
        ...extra.map((l) => `  ${l}`),
        'stub-zone:',
        '  name: "amt.in-addr.arpa"',
        `  stub-addr: 127.0.0.1@${driadPort}`,
        'stub-zone:',
        '  name: "amt.ip6.arpa"',
        `  stub-addr: 127.0.0.1@${driadPort}`,
        '',
      ].join('\n'),
    );
    const check = await run('unbound-checkconf', [conf]);
    t.is(check.code, 0, `unbound-checkconf: ${check.stdout}${check.stderr}`);
    t.regex(check.stdout, /no errors/);

    const child: ChildProcess = spawn('unbound', ['-d', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (c) => (out += c));
    child.stderr?.on('data', (c) => (out += c));
    let exited = false;
    const exit = new Promise<void>((resolve) =>
      child.on('exit', () => {
        exited = true;
        resolve();
      }),
    );
    t.teardown(async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(killer);
    });

    // Ready when it answers id.server CH TXT, a query it answers itself without asking driad.
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline) {
      try {
        await udpExchange(port, buildQuery('id.server', 'TXT', { qclass: 'CH' }), '127.0.0.1', 200);
        return { port, log: () => out };
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    if (exited && /bind|address already in use/i.test(out) && attempt < 3) continue; // lost a port race
    throw new Error(`unbound did not become ready on port ${port}:\n${out}`);
  }
}

/** dig with RD=1 (its default) to unbound; returns the full output. */
async function dig(port: number, ...args: string[]): Promise<string> {
  const r = await run('dig', ['@127.0.0.1', '-p', String(port), '+time=5', '+tries=1', ...args]);
  if (r.code !== 0) throw new Error(`dig ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

async function short(port: number, name: string, type: string, ...args: string[]): Promise<string[]> {
  return (await dig(port, name, type, '+short', ...args))
    .split('\n')
    .filter((l) => l.trim() !== '')
    .sort();
}

const status = (out: string): string => /status: ([A-Z]+),/.exec(out)?.[1] ?? `no status in:\n${out}`;

async function setRelayState(httpPort: number, relay: string, state: string): Promise<void> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/api/v1/relays/${relay}/state`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ state, reason: 'unbound interop test' }),
  });
  if (res.status !== 200) throw new Error(`PUT ${relay} state ${state}: ${res.status} ${await res.text()}`);
}

ubTest(title('unbound resolves A and AMTRELAY through driad with QNAME minimisation and 0x20'), async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const ub = await startUnbound(t, d.dnsPort);

  const amt = await dig(ub.port, NAME, 'AMTRELAY');
  t.is(status(amt), 'NOERROR');
  t.regex(amt, /;; flags: qr rd ra;/); // a recursive answer: RA from unbound, AA gone
  t.deepEqual(await short(ub.port, NAME, 'AMTRELAY'), DEFAULT_AMTRELAY);

  // Only AMTRELAY was asked of unbound, yet driad saw A queries: QNAME minimisation walked
  // down from the stub apex asking A for 69., 25.69. and 95.25.69.amt.in-addr.arpa, and driad
  // answered NODATA (NOERROR, no answer). Had it said NXDOMAIN, unbound would have stopped
  // there and answered NXDOMAIN above.
  const minimised = d.metrics.get('driad_dns_queries_total', { qtype: 'A', rcode: 'NOERROR' });
  t.true(minimised >= 3, `driad saw ${minimised} A queries while unbound resolved an AMTRELAY query`);
  t.is(d.metrics.get('driad_dns_queries_total', { qtype: 'AMTRELAY', rcode: 'NOERROR' }), 1); // the second answer came from unbound's cache
  t.deepEqual(await short(ub.port, NAME, 'A'), ['69.25.95.1']);
  t.is(d.metrics.get('driad_dns_responses_total', { transport: 'udp', rcode: 'NXDOMAIN' }), 0);
  t.is(d.metrics.get('driad_dns_responses_total', { transport: 'udp', rcode: 'FORMERR' }), 0);

  // A nibble name under amt.ip6.arpa: 32 labels, minimised several labels at a time.
  const v6 = '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.amt.ip6.arpa';
  t.deepEqual(await short(ub.port, v6, 'AMTRELAY'), DEFAULT_AMTRELAY);
  const aaaa = await dig(ub.port, v6, 'AAAA');
  t.is(status(aaaa), 'NOERROR'); // NODATA: no relay has an IPv6 address in the default config
  t.regex(aaaa, /ANSWER: 0,/);
});

ubTest(title('unbound: NXDOMAIN for invalid names does not cut off valid names beside them (harden-below-nxdomain)'), async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const ub = await startUnbound(t, d.dnsPort);

  const nx = await dig(ub.port, '300.1.2.3.amt.in-addr.arpa', 'AMTRELAY');
  t.is(status(nx), 'NXDOMAIN');
  t.regex(nx, /amt\.in-addr\.arpa\.\s+\d+\s+IN\s+SOA\s+ns1\.driad\.example\. /);
  // Its parent and a sibling are valid reversed addresses and still resolve.
  t.deepEqual(await short(ub.port, '4.1.2.3.amt.in-addr.arpa', 'A'), ['69.25.95.1']);
  t.deepEqual(await short(ub.port, '4.1.2.3.amt.in-addr.arpa', 'AMTRELAY'), DEFAULT_AMTRELAY);
  t.is(status(await dig(ub.port, '1.2.3.amt.in-addr.arpa', 'A')), 'NOERROR');

  // Five labels is not an address, but its four-label suffix is.
  t.is(status(await dig(ub.port, '1.2.3.4.5.amt.in-addr.arpa', 'A')), 'NXDOMAIN');
  t.deepEqual(await short(ub.port, '2.3.4.5.amt.in-addr.arpa', 'A'), ['69.25.95.1']);

  // A bad label right under the apex is NXDOMAIN, and the names below it are too (now from
  // unbound's cache, as RFC 8020 allows); other valid names are untouched.
  t.is(status(await dig(ub.port, 'x.amt.in-addr.arpa', 'A')), 'NXDOMAIN');
  t.is(status(await dig(ub.port, '1.x.amt.in-addr.arpa', 'A')), 'NXDOMAIN');
  t.deepEqual(await short(ub.port, NAME, 'AMTRELAY'), DEFAULT_AMTRELAY);
  t.deepEqual(await short(ub.port, '99.99.99.99.amt.in-addr.arpa', 'A'), ['69.25.95.1']);
});

ubTest(title('unbound follows relay health: with the MX down, fresh names and expired cache entries get the gateway'), async (t) => {
  // Short TTLs so a cached answer expires within the test: this is the failover bound a resolver imposes.
  const d = await startTestDriad('driad:\n  ttl: 2\n  degradedTtl: 1\n');
  t.teardown(() => d.stop(0));
  const ub = await startUnbound(t, d.dnsPort);

  t.deepEqual(await short(ub.port, NAME, 'A'), ['69.25.95.1']);
  t.deepEqual(await short(ub.port, NAME, 'AMTRELAY'), DEFAULT_AMTRELAY);

  await setRelayState(d.httpPort, 'mx', 'down');
  const fresh = '1.0.0.232.amt.in-addr.arpa';
  t.deepEqual(await short(ub.port, fresh, 'A'), ['192.0.2.10']);
  t.deepEqual(await short(ub.port, fresh, 'AMTRELAY'), ['20 0 1 192.0.2.10']);

  // The name asked before the change: once unbound's copies expire (TTL 2), the gateway.
  const expired = async (type: string, want: string[]): Promise<string[]> => {
    let got: string[] = [];
    for (const end = Date.now() + 8000; Date.now() < end; ) {
      got = await short(ub.port, NAME, type);
      if (got.join() === want.join()) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    return got;
  };
  t.deepEqual(await expired('A', ['192.0.2.10']), ['192.0.2.10']);
  t.deepEqual(await expired('AMTRELAY', ['20 0 1 192.0.2.10']), ['20 0 1 192.0.2.10']);

  await setRelayState(d.httpPort, 'mx', 'up');
  t.deepEqual(await short(ub.port, '2.0.0.232.amt.in-addr.arpa', 'A'), ['69.25.95.1']);
});

const manyRelays = `relays:\n${Array.from({ length: 30 }, (_, i) => `  - { name: r${i}, kind: linux, ipv6: "2001:db8::${i + 1}", precedence: ${30 + i} }`).join('\n')}\n`;

ubTest(title('unbound with a 512-byte EDNS buffer gets TC from driad and retries over TCP'), async (t) => {
  const d = await startTestDriad(manyRelays);
  t.teardown(() => d.stop(0));
  const ub = await startUnbound(t, d.dnsPort, ['edns-buffer-size: 512']);

  // 32 records (about 1 KB) do not fit unbound's 512 bytes to driad; the client asks unbound over TCP.
  const out = await dig(ub.port, NAME, 'AMTRELAY', '+tcp');
  t.is(status(out), 'NOERROR');
  t.regex(out, /ANSWER: 32,/);
  t.true(d.metrics.get('driad_dns_responses_total', { transport: 'tcp', rcode: 'NOERROR' }) >= 1, 'unbound never asked driad over TCP');
});

ubTest(title('unbound with tcp-upstream asks driad only over TCP'), async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const ub = await startUnbound(t, d.dnsPort, ['tcp-upstream: yes']);

  t.deepEqual(await short(ub.port, NAME, 'AMTRELAY'), DEFAULT_AMTRELAY);
  t.is(status(await dig(ub.port, '300.1.2.3.amt.in-addr.arpa', 'A')), 'NXDOMAIN');
  t.is(d.metrics.get('driad_dns_queries_total', { qtype: 'AMTRELAY', rcode: 'NOERROR' }), 1);
  t.is(d.metrics.get('driad_dns_responses_total', { transport: 'udp', rcode: 'NOERROR' }), 0);
  t.true(d.metrics.get('driad_dns_responses_total', { transport: 'tcp', rcode: 'NOERROR' }) >= 2);
  // And unbound's own reply to a client, decoded: recursion available, not authoritative.
  const reply = decodeMessage(await udpExchange(ub.port, Buffer.from(setRd(buildQuery(NAME, 'A')))));
  t.true(reply.flag_ra);
  t.false(reply.flag_aa);
  t.deepEqual(reply.answers.map((r) => r.data), ['69.25.95.1']);
});

function setRd(q: Buffer): Buffer {
  q.writeUInt16BE(q.readUInt16BE(2) | 0x0100, 2);
  return q;
}
