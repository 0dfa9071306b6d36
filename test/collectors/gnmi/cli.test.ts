import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { testPki } from '../../sim/gnmi-mx/pki.ts';
import { DEFAULT_AUTH, startGnmiMx, type GnmiMx } from '../../sim/gnmi-mx/server.ts';

const run = promisify(execFile);
const MAIN = new URL('../../../src/main.ts', import.meta.url).pathname;

async function cli(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, 'gnmi', ...args], { timeout: 20_000, env: { PATH: process.env.PATH ?? '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The seed's setup: mTLS with the gateway's (Ed25519) certificate, credentials in metadata. */
async function setup(t: { teardown(f: () => unknown): void }): Promise<{ mx: GnmiMx; config: string; env: Record<string, string> }> {
  const pki = await testPki();
  const mx = await startGnmiMx({ tunnels: 3, tls: { pki } });
  t.teardown(() => mx.stop());
  const dir = mkdtempSync(join(tmpdir(), 'driad-gnmi-cli-'));
  const config = join(dir, 'driad.yaml');
  writeFileSync(
    config,
    `amtRelay:
  gnmiTarget: ${mx.address}
  gnmiUsername: ${DEFAULT_AUTH.username}
  gnmiAuthMode: tls
gnmi:
  tls:
    certFile: ${pki.clientEd25519.certFile}
    keyFile: ${pki.clientEd25519.keyFile}
    caFile: ${pki.ca.certFile}
`,
  );
  return { mx, config, env: { GNMI_PASSWORD: DEFAULT_AUTH.password } };
}

test('driad gnmi get: human lines and --json, over mTLS with the config; TARGET may be a relay name', async (t) => {
  const { mx, config, env } = await setup(t);
  const human = await cli(env, 'get', mx.address, '/junos/amt/summary', '-c', config);
  t.is(human.code, 0, human.stderr);
  t.regex(human.stdout, /^\d{4}-\d\d-\d\dT\S+Z \/junos\/amt\/summary\/active-tunnels = 3$/m);
  t.regex(human.stdout, /\/junos\/amt\/summary\/tunnel-limit = 500000$/m);

  const json = await cli(env, 'get', 'mx', '/interfaces/interface[name=xe-0/0/0]/state/oper-status', '/junos/amt/summary/active-tunnels', '--json', '--encoding', 'JSON_IETF', '-c', config);
  t.is(json.code, 0, json.stderr);
  const doc = JSON.parse(json.stdout);
  const updates = doc.notifications.flatMap((n: { updates: unknown[] }) => n.updates);
  t.deepEqual(
    updates.map((u: { path: string; value: unknown }) => [u.path, u.value]),
    [
      ['/interfaces/interface[name=xe-0/0/0]/state/oper-status', 'UP'],
      ['/junos/amt/summary/active-tunnels', 3],
    ],
  );
});

test('driad gnmi subscribe: ONCE ends after the sync; POLL polls --count times; STREAM stops after --count', async (t) => {
  const { mx, config, env } = await setup(t);
  const once = await cli(env, 'subscribe', mx.address, '/junos/amt/summary', '-c', config);
  t.is(once.code, 0, once.stderr);
  t.regex(once.stdout, /active-tunnels = 3\n/);
  t.regex(once.stdout, /# sync_response\n$/);

  const polls = mx.stats.polls;
  const poll = await cli(env, 'subscribe', mx.address, '/junos/amt/summary/active-tunnels', '--mode', 'poll', '--count', '2', '--interval', '50', '--json', '-c', config);
  t.is(poll.code, 0, poll.stderr);
  const lines = poll.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.is(lines.filter((l) => l.type === 'sync').length, 2);
  t.is(lines.filter((l) => l.type === 'update').length, 2);
  t.is(mx.stats.polls - polls, 2);

  const stream = await cli(env, 'subscribe', mx.address, '/interfaces/interface[name=xe-0/0/0]/state/counters/out-octets', '--mode', 'stream', '--interval', '50', '--count', '3', '-c', config);
  t.is(stream.code, 0, stream.stderr);
  t.is(stream.stdout.split('\n').filter((l) => l.includes('out-octets = ')).length, 3);
});

test('driad gnmi: a wrong password is one clear line, exit 1, the password not echoed', async (t) => {
  const { mx, config } = await setup(t);
  const r = await cli({ GNMI_PASSWORD: 'not-the-password-93' }, 'get', mx.address, '/junos/amt/summary', '-c', config);
  t.is(r.code, 1);
  t.regex(r.stderr, /^driad: gNMI auth failed: Get: UNAUTHENTICATED/);
  t.false((r.stdout + r.stderr).includes('not-the-password-93'));
  const bad = await cli({ GNMI_PASSWORD: DEFAULT_AUTH.password }, 'get', mx.address, '/no/such/path', '-c', config);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /^driad: gNMI subscription rejected: Get: UNIMPLEMENTED: path \/no\/such\/path is not implemented/);
});
