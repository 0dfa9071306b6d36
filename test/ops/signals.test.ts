import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ask, rcodeOf } from '../helpers/dns-client.ts';
import { until } from '../helpers/until.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).pathname;
const ZONES = new URL('../../zones', import.meta.url).pathname;
const NAME = '10.95.25.69.amt.in-addr.arpa';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Running {
  child: ChildProcess;
  port: number;
  output: () => string;
  exited: Promise<number | null>;
}

async function run(zonesDir: string, readyLine = 'serving'): Promise<Running> {
  const port = await freePort();
  const httpPort = await freePort();
  const child = spawn(process.execPath, [MAIN, '--zones', zonesDir, '--dns-listen', `127.0.0.1:${port}`, '--http-listen', `127.0.0.1:${httpPort}`, '--doh-listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c) => (out += c));
  child.stderr?.on('data', (c) => (out += c));
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      done = true;
      resolve(code);
    }),
  );
  for (let i = 0; i < 1000 && !done && !out.includes(readyLine); i++) await new Promise((r) => setTimeout(r, 10));
  return { child, port, output: () => out, exited };
}

function zonesCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'driad-zones-'));
  cpSync(ZONES, dir, { recursive: true });
  return dir;
}

test('SIGHUP reloads zones while queries keep being answered', async (t) => {
  const dir = zonesCopy();
  const d = await run(dir);
  t.teardown(() => d.child.kill('SIGKILL'));
  const zoneFile = join(dir, 'amt.in-addr.arpa.zone');
  appendFileSync(zoneFile, '\nreload-marker 300 IN TXT "reloaded"\n');

  let answered = 0;
  let failed = 0;
  let stop = false;
  t.teardown(() => void (stop = true)); // the load below ends even when an assertion throws
  const load = (async () => {
    while (!stop) {
      try {
        const r = await ask(d.port, NAME, 'A', { id: answered & 0xffff });
        if (r.answers?.[0]?.data === '69.25.95.1') answered++;
        else failed++;
      } catch {
        failed++;
      }
    }
  })();
  await new Promise((r) => setTimeout(r, 200));
  d.child.kill('SIGHUP');
  // A probe that goes unanswered is asked again; the load above counts every unanswered query.
  const seen = await until(async () => (await ask(d.port, 'reload-marker.amt.in-addr.arpa', 'TXT').catch(() => null))?.answers?.length === 1);
  await new Promise((r) => setTimeout(r, 200));
  stop = true;
  await load;
  t.true(seen, d.output());
  t.true(answered > 20, `answered ${answered}`);
  t.is(failed, 0);
});

test('a SIGHUP while the server is still starting is not fatal: it reloads once started', async (t) => {
  const dir = zonesCopy();
  appendFileSync(join(dir, 'amt.in-addr.arpa.zone'), '\nreload-marker 300 IN TXT "reloaded"\n');
  // The DNS sockets listen before the collectors, DoH and HTTP start: the signal lands in between.
  const d = await run(dir, 'DNS listening');
  t.teardown(() => d.child.kill('SIGKILL'));
  d.child.kill('SIGHUP');
  t.true(await until(async () => d.output().includes('reloaded config and zones'), 10_000), d.output());
  t.is(d.child.exitCode, null, 'still running');
  t.true(await until(async () => (await ask(d.port, 'reload-marker.amt.in-addr.arpa', 'TXT').catch(() => null))?.answers?.length === 1), d.output());
});

test('a bad zone file on reload keeps the old zone serving and logs file:line: reason', async (t) => {
  const dir = zonesCopy();
  const d = await run(dir);
  t.teardown(() => d.child.kill('SIGKILL'));
  const zoneFile = join(dir, 'amt.in-addr.arpa.zone');
  const lines = readFileSync(zoneFile, 'utf8').split('\n').length;
  appendFileSync(zoneFile, 'broken 300 IN A 1.2.3\n');
  d.child.kill('SIGHUP');
  t.true(await until(async () => d.output().includes('reload failed')), d.output());
  t.regex(d.output(), new RegExp(`${zoneFile}:${lines}: `));
  t.is((await ask(d.port, NAME, 'A')).answers?.[0]?.data, '69.25.95.1');
});

test('a bad zone file stops the start with file:line: reason', async (t) => {
  const dir = zonesCopy();
  const zoneFile = join(dir, 'amt.in-addr.arpa.zone');
  writeFileSync(zoneFile, readFileSync(zoneFile, 'utf8') + 'oops 300 IN AMTRELAY 10 0 9 x\n');
  const d = await run(dir);
  t.is(await d.exited, 1);
  t.regex(d.output(), new RegExp(`^driad: ${zoneFile}:\\d+: `, 'm'));
});

test('SIGTERM drains and exits 0', async (t) => {
  const d = await run(ZONES);
  t.is(rcodeOf(await ask(d.port, NAME, 'A')), 'NOERROR');
  d.child.kill('SIGTERM');
  t.is(await d.exited, 0);
  t.regex(d.output(), /"msg":"stopped"/);
});

test('--query-log writes one structured line per query', async (t) => {
  const port = await freePort();
  const httpPort = await freePort();
  const child = spawn(process.execPath, [MAIN, '--query-log', '--dns-listen', `127.0.0.1:${port}`, '--http-listen', `127.0.0.1:${httpPort}`, '--doh-listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  t.true(await until(async () => out.includes('serving'), 20_000), 'driad started');
  await ask(port, NAME, 'AMTRELAY');
  t.true(await until(async () => out.includes('"msg":"query"'), 20_000));
  const line = JSON.parse(out.split('\n').find((l) => l.includes('"msg":"query"')) as string);
  t.like(line.query, { client: '127.0.0.1', transport: 'udp', qname: NAME, qtype: 'AMTRELAY', rcode: 'NOERROR', answers: 2, truncated: false });
});
