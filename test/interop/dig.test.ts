// Interop with real DNS clients: ISC dig (BIND 9) and Knot's kdig, run as processes against
// an in-process driad. These are the tools an operator reaches for first, so their view of
// driad's answers (flags, sections, EDNS, truncation and TCP fallback) must be the right one.

import test from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { startTestDriad } from '../helpers/driad.ts';

const NAME = '10.95.25.69.amt.in-addr.arpa';
const DEFAULT_AMTRELAY = ['10 0 1 69.25.95.1', '20 0 1 192.0.2.10'];
const SOA_LINE = /^amt\.in-addr\.arpa\.\s+300\s+IN\s+SOA\s+ns1\.driad\.example\. hostmaster\.driad\.example\. 2024010101 3600 900 604800 300$/m;

/** True if `bin` is on PATH; decided once, at module load, to pick test or test.skip. */
function installed(bin: string): boolean {
  return spawnSync('/bin/sh', ['-c', 'command -v "$1"', 'sh', bin]).status === 0;
}
const HAS_DIG = installed('dig');
const HAS_KDIG = installed('kdig');
const digTest = HAS_DIG ? test : test.skip;
const kdigTest = HAS_KDIG ? test : test.skip;
const digTitle = (title: string): string => (HAS_DIG ? title : `${title} [SKIPPED: dig is not installed; apt-get install bind9-dnsutils]`);
const kdigTitle = (title: string): string => (HAS_KDIG ? title : `${title} [SKIPPED: kdig is not installed; apt-get install knot-dnsutils]`);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a client to completion (bounded by a timeout); a non-zero exit is returned, not thrown. */
function run(bin: string, args: string[], timeoutMs = 10_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') {
        reject(new Error(`${bin} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
        return;
      }
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/** dig with one try and a short wait, so a silent server fails the test quickly instead of hanging it. */
async function dig(server: string, port: number, ...args: string[]): Promise<string> {
  const r = await run('dig', [`@${server}`, '-p', String(port), '+time=2', '+tries=1', ...args]);
  if (r.code !== 0) throw new Error(`dig ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

async function kdig(port: number, ...args: string[]): Promise<Run> {
  const r = await run('kdig', ['@127.0.0.1', '-p', String(port), '+time=2', '+retry=0', ...args]);
  if (r.code !== 0) throw new Error(`kdig ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

const lines = (s: string): string[] => s.split('\n').filter((l) => l.trim() !== '');

/** The ANSWER SECTION lines of dig or kdig output. */
function answerSection(out: string): string[] {
  const m = /;; ANSWER SECTION:\n([\s\S]*?)(?:\n\n|$)/.exec(out);
  return m ? lines(m[1] as string) : [];
}

/**
 * AMTRELAY rdata from kdig: kdig 3.2 does not know the type and prints RFC 3597 generic
 * data (`\# 6 0A0145195F01`); a later kdig may print presentation format. Both become the
 * presentation text, the generic bytes decoded here by hand from RFC 8777 §4.2.
 */
function amtrelayText(rdata: string): string {
  const generic = /^\\# (\d+) ?([0-9A-Fa-f ]*)$/.exec(rdata.trim());
  if (!generic) return rdata.trim();
  const bytes = Buffer.from((generic[2] as string).replace(/ /g, ''), 'hex');
  if (bytes.length !== Number(generic[1])) throw new Error(`generic rdata length ${generic[1]} does not match ${bytes.length} bytes`);
  const precedence = bytes[0] as number;
  const d = (bytes[1] as number) >> 7;
  const type = (bytes[1] as number) & 0x7f;
  const relay = bytes.subarray(2);
  let text: string;
  if (type === 1 && relay.length === 4) text = [...relay].join('.');
  else if (type === 2 && relay.length === 16) {
    text = Array.from({ length: 8 }, (_, i) => relay.readUInt16BE(i * 2).toString(16)).join(':');
  } else throw new Error(`unexpected AMTRELAY rdata ${bytes.toString('hex')}`);
  return `${precedence} ${d} ${type} ${text}`;
}

const manyRelays = `relays:\n${Array.from({ length: 30 }, (_, i) => `  - { name: r${i}, kind: linux, ipv6: "2001:db8::${i + 1}", precedence: ${30 + i} }`).join('\n')}\n`;
/** The 32 AMTRELAY records of the manyRelays config, in precedence order (IPv6 as amtrelayText writes it, without :: compression; the config groups are hex). */
const MANY_AMTRELAY = [...DEFAULT_AMTRELAY, ...Array.from({ length: 30 }, (_, i) => `${30 + i} 0 2 2001:db8:0:0:0:0:0:${i + 1}`)];

digTest(digTitle('dig +short AMTRELAY over UDP and TCP prints exactly the two relays'), async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const udp = await dig('127.0.0.1', d.dnsPort, NAME, 'AMTRELAY', '+short');
  t.deepEqual(lines(udp), DEFAULT_AMTRELAY);
  const tcp = await dig('127.0.0.1', d.dnsPort, NAME, 'AMTRELAY', '+short', '+tcp');
  t.deepEqual(lines(tcp), DEFAULT_AMTRELAY);
  t.deepEqual(lines(await dig('127.0.0.1', d.dnsPort, NAME, 'A', '+short')), ['69.25.95.1']);
});

digTest(digTitle('dig full output: qr aa and no ra, NOERROR, answer with TTL 300, over UDP and TCP'), async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  for (const transport of ['+notcp', '+tcp']) {
    const out = await dig('127.0.0.1', d.dnsPort, NAME, 'AMTRELAY', transport);
    t.regex(out, /status: NOERROR,/, transport);
    // dig sets RD by default; driad echoes it but never sets RA.
    t.regex(out, /;; flags: qr aa rd; QUERY: 1, ANSWER: 2, AUTHORITY: 0, ADDITIONAL: 1$/m, transport);
    t.regex(out, /WARNING: recursion requested but not available/, transport);
    t.deepEqual(
      answerSection(out).map((l) => l.split(/\s+/).join(' ')),
      DEFAULT_AMTRELAY.map((r) => `${NAME}. 300 IN AMTRELAY ${r}`),
      transport,
    );
    t.regex(out, new RegExp(`SERVER: 127\\.0\\.0\\.1#${d.dnsPort}\\(127\\.0\\.0\\.1\\) \\(${transport === '+tcp' ? 'TCP' : 'UDP'}\\)`), transport);
  }
  const norec = await dig('127.0.0.1', d.dnsPort, NAME, 'A', '+norecurse');
  t.regex(norec, /;; flags: qr aa; QUERY: 1, ANSWER: 1,/);
  t.notRegex(norec, /flags:[^;]* ra[ ;]/);
});

digTest(digTitle('dig: NXDOMAIN with the SOA in AUTHORITY for an invalid name, NODATA for a prefix, REFUSED outside the zones'), async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  for (const name of ['x.amt.in-addr.arpa', '300.1.2.3.amt.in-addr.arpa', '1.2.3.4.5.amt.in-addr.arpa']) {
    for (const transport of ['+notcp', '+tcp']) {
      const out = await dig('127.0.0.1', d.dnsPort, name, 'AMTRELAY', '+norecurse', transport);
      t.regex(out, /status: NXDOMAIN,/, `${name} ${transport}`);
      t.regex(out, /;; flags: qr aa; QUERY: 1, ANSWER: 0, AUTHORITY: 1, ADDITIONAL: 1$/m, `${name} ${transport}`);
      t.regex(out, /;; AUTHORITY SECTION:\n/, `${name} ${transport}`);
      t.regex(out, SOA_LINE, `${name} ${transport}`);
    }
  }
  const nodata = await dig('127.0.0.1', d.dnsPort, '69.amt.in-addr.arpa', 'A', '+norecurse');
  t.regex(nodata, /status: NOERROR,/);
  t.regex(nodata, /;; flags: qr aa; QUERY: 1, ANSWER: 0, AUTHORITY: 1,/);
  t.regex(nodata, SOA_LINE);

  const refused = await dig('127.0.0.1', d.dnsPort, 'example.com', 'A');
  t.regex(refused, /status: REFUSED,/);
  t.regex(refused, /;; flags: qr rd; QUERY: 1, ANSWER: 0, AUTHORITY: 0,/);
});

digTest(digTitle('dig with +nsid, +cookie and +dnssec gets a normal answer with a version-0 OPT'), async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  // dig sends a COOKIE option by default; +nsid adds NSID. driad ignores options it does not implement.
  const out = await dig('127.0.0.1', d.dnsPort, NAME, 'AMTRELAY', '+nsid', '+cookie');
  t.regex(out, /status: NOERROR,/);
  t.regex(out, /; EDNS: version: 0, flags:; udp: 1232$/m);
  t.is(answerSection(out).length, 2);
  t.notRegex(out, /FORMERR|BADCOOKIE|malformed/i);
  const dnssec = await dig('127.0.0.1', d.dnsPort, NAME, 'A', '+dnssec', '+bufsize=4096');
  t.regex(dnssec, /; EDNS: version: 0, flags: do; udp: 1232$/m); // DO echoed, our own size advertised
  t.is(answerSection(dnssec).length, 1);
  const noedns = await dig('127.0.0.1', d.dnsPort, NAME, 'A', '+noedns');
  t.regex(noedns, /status: NOERROR,/);
  t.notRegex(noedns, /OPT PSEUDOSECTION/);
  t.regex(noedns, /ADDITIONAL: 0$/m);
});

digTest(digTitle('dig +edns=1: BADVERS with an OPT of version 0, then dig negotiates down to version 0'), async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const raw = await dig('127.0.0.1', d.dnsPort, NAME, 'A', '+edns=1', '+noednsnegotiation');
  t.regex(raw, /status: BADVERS,/);
  t.regex(raw, /; EDNS: version: 0, /);
  t.regex(raw, /ANSWER: 0,/);
  const negotiated = await dig('127.0.0.1', d.dnsPort, NAME, 'A', '+edns=1');
  t.regex(negotiated, /BADVERS, retrying with EDNS version 0/);
  t.regex(negotiated, /status: NOERROR,/);
  t.deepEqual(answerSection(negotiated).map((l) => l.split(/\s+/).join(' ')), [`${NAME}. 300 IN A 69.25.95.1`]);
});

digTest(digTitle('dig +opcode=notify: NOTIMP, with an OPT record when the query had one (RFC 6891 §6.1.1)'), async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const plain = await dig('127.0.0.1', d.dnsPort, 'amt.in-addr.arpa', 'SOA', '+opcode=notify', '+norecurse', '+noedns');
  t.regex(plain, /opcode: NOTIFY, status: NOTIMP,/);
  t.notRegex(plain, /OPT PSEUDOSECTION/);
  // "If an OPT record is present in a received request, compliant responders MUST include an
  // OPT record in their respective responses." Without it dig concludes the server has no EDNS.
  const edns = await dig('127.0.0.1', d.dnsPort, 'amt.in-addr.arpa', 'SOA', '+opcode=notify', '+norecurse');
  t.regex(edns, /opcode: NOTIFY, status: NOTIMP,/);
  t.notRegex(edns, /WARNING: EDNS query returned status NOTIMP/);
  t.regex(edns, /; EDNS: version: 0, flags:; udp: 1232$/m);
});

digTest(digTitle('dig over IPv6 to @::1 on a [::1] listener, UDP and TCP'), async (t) => {
  const d = await startTestDriad(undefined, { dnsListen: ['[::1]:0'] });
  t.teardown(() => d.stop(0));
  t.deepEqual(lines(await dig('::1', d.dnsPort, NAME, 'AMTRELAY', '+short')), DEFAULT_AMTRELAY);
  t.deepEqual(lines(await dig('::1', d.dnsPort, NAME, 'AMTRELAY', '+short', '+tcp')), DEFAULT_AMTRELAY);
  const full = await dig('::1', d.dnsPort, NAME, 'A', '+norecurse');
  t.regex(full, /;; flags: qr aa; /);
  t.regex(full, new RegExp(`SERVER: ::1#${d.dnsPort}\\(::1\\) \\(UDP\\)`));
});

digTest(digTitle('dig with a large answer: TC over UDP at 512 bytes, then the full answer over TCP'), async (t) => {
  const d = await startTestDriad(manyRelays);
  t.teardown(() => d.stop(0));
  const truncated = await dig('127.0.0.1', d.dnsPort, NAME, 'AMTRELAY', '+norecurse', '+bufsize=512', '+ignore');
  t.regex(truncated, /;; flags: qr aa tc; QUERY: 1, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 1$/m);
  const fallback = await dig('127.0.0.1', d.dnsPort, NAME, 'AMTRELAY', '+norecurse', '+bufsize=512');
  t.regex(fallback, /Truncated, retrying in TCP mode/);
  t.regex(fallback, /;; flags: qr aa; QUERY: 1, ANSWER: 32,/);
  t.regex(fallback, /\(TCP\)/);
  t.is(answerSection(fallback).length, 32);
});

kdigTest(kdigTitle('kdig over UDP and TCP prints both AMTRELAY records (generic RFC 3597 form, bytes verified)'), async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  // kdig 3.2 has no AMTRELAY mnemonic ("bad type"); TYPE260 is the RFC 3597 spelling.
  for (const transport of ['+notcp', '+tcp']) {
    const short = (await kdig(d.dnsPort, NAME, 'TYPE260', '+short', transport)).stdout;
    const rdata = lines(short);
    t.log(transport, rdata);
    t.deepEqual(rdata.map(amtrelayText), DEFAULT_AMTRELAY, transport);
    if (rdata.every((r) => r.startsWith('\\#'))) {
      // 0x0A = precedence 10, 0x01 = D 0 type 1, then 69.25.95.1; 0x14 = 20, 192.0.2.10.
      t.deepEqual(rdata, ['\\# 6 0A0145195F01', '\\# 6 1401C000020A'], transport);
    }
    const full = (await kdig(d.dnsPort, NAME, 'TYPE260', transport)).stdout;
    t.regex(full, /status: NOERROR;/, transport);
    t.regex(full, /;; Flags: qr aa rd; QUERY: 1; ANSWER: 2; AUTHORITY: 0; ADDITIONAL: 0$/m, transport);
    t.regex(full, new RegExp(`From 127\\.0\\.0\\.1@${d.dnsPort}\\(${transport === '+tcp' ? 'TCP' : 'UDP'}\\)`), transport);
    t.is(answerSection(full).filter((l) => /^10\.95\.25\.69\.amt\.in-addr\.arpa\.\s+300\s+IN\s+(TYPE260|AMTRELAY)\s/.test(l)).length, 2, transport);
  }
  const nx = (await kdig(d.dnsPort, 'x.amt.in-addr.arpa', 'A', '+norecurse')).stdout;
  t.regex(nx, /status: NXDOMAIN;/);
  t.regex(nx, /;; Flags: qr aa; /);
  t.regex(nx, /;; AUTHORITY SECTION:\namt\.in-addr\.arpa\.\s+300\s+IN\s+SOA\s+ns1\.driad\.example\. hostmaster\.driad\.example\. 2024010101 /);
});

kdigTest(kdigTitle('kdig +bufsize=512 against a large answer: TC over UDP, full answer by TCP fallback and with +tcp'), async (t) => {
  const d = await startTestDriad(manyRelays);
  t.teardown(() => d.stop(0));
  // +ignore: show the truncated UDP reply itself instead of retrying.
  const tc = (await kdig(d.dnsPort, NAME, 'TYPE260', '+bufsize=512', '+ignore')).stdout;
  t.regex(tc, /;; Flags: qr aa tc rd; QUERY: 1; ANSWER: 0; AUTHORITY: 0; ADDITIONAL: 1$/m);
  t.regex(tc, /UDP size: 1232 B/);
  t.regex(tc, /\(UDP\)/);

  // kdig's default: on TC it retries over TCP by itself.
  const fallback = await kdig(d.dnsPort, NAME, 'TYPE260', '+bufsize=512');
  t.regex(fallback.stderr, /truncated reply from 127\.0\.0\.1@\d+\(UDP\), retrying over TCP/);
  t.regex(fallback.stdout, /;; Flags: qr aa rd; QUERY: 1; ANSWER: 32;/);
  t.regex(fallback.stdout, /\(TCP\)/);

  const tcp = await kdig(d.dnsPort, NAME, 'TYPE260', '+bufsize=512', '+tcp', '+short');
  t.deepEqual(lines(tcp.stdout).map(amtrelayText), MANY_AMTRELAY);

  // A buffer that fits (the answer is under 1 KB) gets everything over UDP.
  const big = (await kdig(d.dnsPort, NAME, 'TYPE260', '+bufsize=4096')).stdout;
  t.regex(big, /;; Flags: qr aa rd; QUERY: 1; ANSWER: 32;/);
  t.regex(big, /\(UDP\)/);
  t.deepEqual(answerSection(big).map((l) => amtrelayText(l.split(/\s+/).slice(4).join(' '))), MANY_AMTRELAY);
});
