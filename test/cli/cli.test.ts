import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ADMIN_TOKEN, startTestDriad } from '../helpers/driad.ts';

const run = promisify(execFile);
const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;

async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, ...args], { timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('driad relays: a table of relays and their signals; --json gives the API document', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  await fetch(`http://127.0.0.1:${d.httpPort}/api/v1/signals`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify({ relay: 'mx', source: 'gnmi', kind: 'tunnels', value: 250000, maxAgeMs: 60000 }),
  });
  const server = `http://127.0.0.1:${d.httpPort}`;
  const text = await cli('relays', '--server', server);
  t.is(text.code, 0, text.stderr);
  const lines = text.stdout.split('\n');
  t.regex(lines[0] ?? '', /^RELAY\s+KIND\s+ORIGIN\s+ADDRESS\s+STATE\s+LOAD\s+RTT\s+REASON$/);
  t.regex(text.stdout, /^mx\s+juniper\s+config\s+69\.25\.95\.1\s+up\s+50\.0%\s+-\s+1 fresh signal, tunnels at 50\.0%$/m);
  t.regex(text.stdout, /^gateway\s+linux\s+config\s+192\.0\.2\.10\s+up\s+/m);
  t.regex(text.stdout, /^ {2}gnmi\/tunnels = 250000, \d+\.\d s old$/m);
  const json = await cli('relays', '--server', server, '--json');
  t.deepEqual(JSON.parse(json.stdout).relays.map((r: { name: string }) => r.name), ['mx', 'gateway']);
});

test('driad explain: the answer and the trace, human-readable and --json', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const server = `http://127.0.0.1:${d.httpPort}`;
  const text = await cli('explain', '69.25.95.10', '--client', '198.51.100.7', '--server', server);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /^69\.25\.95\.10 for client 198\.51\.100\.7: 10\.95\.25\.69\.amt\.in-addr\.arpa$/m);
  t.regex(text.stdout, /^ {2}A {9}69\.25\.95\.1 {2}\(mx\)$/m);
  t.regex(text.stdout, /^ {2}AMTRELAY {2}10 0 1 69\.25\.95\.1 {2}\(mx\)$/m);
  t.regex(text.stdout, /^ {2}2\. health: relays that are down or unknown are removed$/m);
  const json = await cli('explain', '69.25.95.10', '--server', server, '--json');
  t.is(JSON.parse(json.stdout).answer.a.relay, 'mx');
});

test('driad explain with a bad address, or no server: one clear line and a non-zero exit', async (t) => {
  const d = await startTestDriad();
  t.teardown(() => d.stop(0));
  const bad = await cli('explain', 'nope', '--server', `http://127.0.0.1:${d.httpPort}`);
  t.is(bad.code, 1);
  t.is(bad.stderr.trim(), 'driad: source: must be an IPv4 or IPv6 address (got "nope")');
  const down = await cli('relays', '--server', 'http://127.0.0.1:9');
  t.is(down.code, 1);
  t.regex(down.stderr.trim(), /^driad: cannot reach driad at http:\/\/127\.0\.0\.1:9: /);
});

test('driad check-config: zone data that is not served as written is reported with file:line; errors exit 1', async (t) => {
  const ok = await cli('check-config', '--zones', 'test/dns/fixtures/semantics');
  t.is(ok.code, 0, ok.stderr);
  t.regex(ok.stdout, /^config OK \(embedded default\); zones: amt\.in-addr\.arpa, amt\.ip6\.arpa, child\.example, example \(2 warnings: data not served as written\)$/m);
  t.regex(ok.stderr, /^warning: \S*example\.zone:15: "deep\.sub\.example" TXT is below the delegation at "sub\.example": occluded, not served$/m);
  t.regex(ok.stderr, /^warning: \S*example\.zone:10: "a\.\*\.mid\.example" has an asterisk label that is not the leftmost one/m);
  const dir = mkdtempSync(join(tmpdir(), 'driad-cli-'));
  writeFileSync(join(dir, 'example.zone'), '$ORIGIN example.\n$TTL 60\n@ SOA ns1 h 1 2 3 4 5\n  NS ns1\nns1 A 192.0.2.1\nx CNAME ns1\nx TXT "beside"\n');
  const bad = await cli('check-config', '--zones', dir);
  t.is(bad.code, 1);
  t.regex(bad.stderr.trim(), /^driad: \S*example\.zone:7: CNAME and other data at "x\.example"$/);
});
