import test, { type ExecutionContext } from 'ava';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { TrafficOpsInventory, type DiscoveredRelay, type TrafficOpsOptions } from '../../src/inventory/traffic-ops.ts';
import { relaysFromServers } from '../../src/inventory/traffic-ops-servers.ts';
import { BadInputReporter } from '../../src/telemetry/bad-input.ts';
import type { Logger } from '../../src/telemetry/log.ts';
import { Metrics } from '../../src/telemetry/metrics.ts';
import { SIM_TLS } from '../sim/traffic-ops-tls.ts';
import { mxServer, startTrafficOpsSim, type TOServerV4, type TrafficOpsSim, type TrafficOpsSimMode, type TrafficOpsSimOptions } from '../sim/traffic-ops.ts';

const CG = 'us-east-relay';
const PROFILE = 'AMT_RELAY_MX_PROFILE';
const YEARLY = '0 0 1 1 *'; // a schedule that never fires during a test
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Our cachegroup's two usable MX relays, plus servers that must be left out. */
function servers(): TOServerV4[] {
  return [
    mxServer('mx1', ['69.25.95.1', '2001:db8:95::1/64'], { cachegroup: CG, otherAddresses: ['10.20.0.5/24'] }),
    mxServer('mx2', '2001:db8:95::2/64', { cachegroup: CG, status: 'REPORTED' }),
    mxServer('mx-eu', '198.51.100.1', { cachegroup: 'eu-west-relay', cachegroupId: 8 }),
    mxServer('mx-offline', '69.25.95.3', { cachegroup: CG, status: 'OFFLINE' }),
    mxServer('mx-admin-down', '69.25.95.4', { cachegroup: CG, status: 'ADMIN_DOWN' }),
    mxServer('mx-preprod', '69.25.95.5', { cachegroup: CG, status: 'PRE_PROD' }),
    mxServer('edge1', '69.25.95.20', { cachegroup: CG, profile: 'ATS_EDGE_TIER_CACHE', type: 'EDGE' }),
  ];
}

const EXPECTED: DiscoveredRelay[] = [
  { hostName: 'mx1', ipv4: '69.25.95.1', ipv6: '2001:db8:95::1', status: 'ONLINE', cachegroup: CG, profile: PROFILE },
  { hostName: 'mx2', ipv6: '2001:db8:95::2', status: 'REPORTED', cachegroup: CG, profile: PROFILE },
];

interface Line {
  level: number;
  msg: string;
  kind?: string;
  [k: string]: unknown;
}

interface Setup {
  sim: TrafficOpsSim;
  metrics: Metrics;
  lines: Line[];
  options: TrafficOpsOptions;
  inv: TrafficOpsInventory;
  changes: DiscoveredRelay[][];
  onChange: (r: DiscoveredRelay[]) => void;
  make: (extra?: Partial<TrafficOpsOptions>) => TrafficOpsInventory;
}

async function setup(t: ExecutionContext, o: { sim?: TrafficOpsSimOptions; inv?: Partial<TrafficOpsOptions> } = {}): Promise<Setup> {
  const sim = await startTrafficOpsSim({ servers: servers(), ...o.sim });
  const dir = await mkdtemp(join(tmpdir(), 'driad-to-'));
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)) as Line);
      done();
    },
  });
  const log = pino({ level: 'debug' }, sink) as unknown as Logger;
  const metrics = new Metrics();
  const badInput = new BadInputReporter(log, metrics, 60_000);
  const options: TrafficOpsOptions = {
    url: sim.url,
    username: 'driad',
    password: 'twelve',
    cachegroup: CG,
    profile: PROFILE,
    schedule: YEARLY,
    timeoutMs: 2000,
    stateFile: join(dir, 'state', 'traffic-ops-inventory.json'),
    tlsSkipVerify: false,
    ...o.inv,
  };
  const made: TrafficOpsInventory[] = [];
  const make = (extra: Partial<TrafficOpsOptions> = {}) => {
    const inv = new TrafficOpsInventory({ ...options, ...extra }, { log, metrics, badInput });
    made.push(inv);
    return inv;
  };
  const changes: DiscoveredRelay[][] = [];
  t.teardown(async () => {
    await Promise.all(made.map((i) => i.stop()));
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { sim, metrics, lines, options, inv: make(), changes, onChange: (r) => changes.push(r), make };
}

const flushLogs = () => new Promise((r) => setImmediate(r));

test('discovers the ONLINE and REPORTED MX relays of our cachegroup only, with IPv4 and IPv6 service addresses', async (t) => {
  const s = await setup(t);
  await s.inv.start(s.onChange);
  const st = s.inv.status();
  t.deepEqual(st.relays, EXPECTED);
  t.deepEqual(s.changes, [EXPECTED]);
  t.is(st.source, 'traffic-ops');
  t.false(st.fromDisk);
  t.is(st.lastError, null);
  t.is(st.consecutiveFailures, 0);
  t.true(typeof st.lastSuccessAt === 'number' && st.lastSuccessAt === st.lastAttemptAt);
  // The client asks Traffic Ops to filter by cachegroup name and profile (API v4 parameters).
  const get = s.sim.requests.find((r) => r.method === 'GET');
  t.is(get?.path, `/api/4.0/servers?cachegroupName=${CG}&profileName=${PROFILE}`);
  t.is(s.metrics.get('driad_inventory_relays', { source: 'traffic-ops' }), 2);
  t.is(s.metrics.get('driad_inventory_polls_total', { source: 'traffic-ops', result: 'success' }), 1);
  t.true(s.metrics.get('driad_inventory_last_success_timestamp_seconds', { source: 'traffic-ops' }) > 1.7e9);
  t.regex(s.metrics.render(), /driad_inventory_relays\{source="traffic-ops"\} 2/);
});

test('the selection is also made client-side, for a Traffic Ops that ignores cachegroupName or profileName', (t) => {
  const all = servers();
  (all[0] as unknown as Record<string, unknown>).profile = 'LEGACY_PROFILE'; // a pre-4.0 style field is also accepted
  const legacy = { ...mxServer('mx-legacy', '69.25.95.9', { cachegroup: CG }), profileNames: undefined, profile: PROFILE };
  const relays = relaysFromServers({ response: [...all, legacy] }, { cachegroup: CG, profile: PROFILE });
  t.deepEqual(
    relays.map((r) => r.hostName),
    ['mx-legacy', 'mx1', 'mx2'],
  );
});

test('logs in once and reuses (and follows the refresh of) the session cookie over several polls', async (t) => {
  const s = await setup(t);
  await s.inv.start(s.onChange);
  await s.inv.pollOnce();
  await s.inv.pollOnce();
  t.is(s.sim.logins, 1);
  const gets = s.sim.requests.filter((r) => r.method === 'GET');
  t.is(gets.length, 3);
  t.true(gets.every((g) => g.status === 200 && /^mojolicious=[\w-]+$/.test(g.cookie ?? '')));
  // Traffic Ops sends a refreshed cookie with each answer; the client uses the newest.
  t.is(new Set(gets.map((g) => g.cookie)).size, 3);
  t.is(s.sim.requests.find((r) => r.method === 'POST')?.cookie, null);
});

test('an expired session is renewed transparently: 401, one login, one retry', async (t) => {
  // Ended by the simulator, not by a short TTL: on a loaded machine a TTL could also end the first poll's session.
  const s = await setup(t);
  await s.inv.start(s.onChange);
  s.sim.expireSessions();
  const before = s.sim.requests.length;
  await s.inv.pollOnce();
  t.deepEqual(
    s.sim.requests.slice(before).map((r) => `${r.method} ${r.path.split('?')[0]} ${r.status}`),
    ['GET /api/4.0/servers 401', 'POST /api/4.0/user/login 200', 'GET /api/4.0/servers 200'],
  );
  const st = s.inv.status();
  t.is(st.lastError, null);
  t.is(st.consecutiveFailures, 0);
  t.deepEqual(st.relays, EXPECTED);
  t.is(s.sim.logins, 2);
});

test('bad credentials: lastError names the login failure and the previous inventory is kept', async (t) => {
  const s = await setup(t);
  await s.inv.start(s.onChange);
  s.sim.password = 'rotated';
  s.sim.expireSessions();
  await s.inv.pollOnce();
  const st = s.inv.status();
  t.is(st.lastError, 'login: 401 Unauthorized: Invalid username or password.');
  t.deepEqual(st.relays, EXPECTED);
  t.is(st.consecutiveFailures, 1);
  t.is(s.metrics.get('driad_inventory_errors_total', { source: 'traffic-ops', kind: 'login-failed' }), 1);
  t.is(s.changes.length, 1);
});

test('unauthorized-always: a cold start with no inventory reports the login failure', async (t) => {
  const s = await setup(t);
  await s.sim.setMode('unauthorized-always');
  await s.inv.start(s.onChange);
  const st = s.inv.status();
  t.regex(st.lastError ?? '', /^login: 401 Unauthorized/);
  t.deepEqual(st.relays, []);
  t.is(st.lastSuccessAt, null);
  t.deepEqual(s.changes, []);
});

const failures: Array<{ mode: TrafficOpsSimMode; kind: string; error: RegExp }> = [
  { mode: 'down', kind: 'unreachable', error: /^GET \/api\/4\.0\/servers: .*ECONNREFUSED/ },
  { mode: 'slow', kind: 'timeout', error: /^GET \/api\/4\.0\/servers: no answer within 1500 ms$/ },
  { mode: '500', kind: 'http-status', error: /^GET \/api\/4\.0\/servers: HTTP 500: Internal Server Error$/ },
  { mode: 'malformed', kind: 'malformed-json', error: /^malformed JSON from \/api\/4\.0\/servers: / },
  { mode: 'wrong-shape', kind: 'wrong-shape', error: /^unexpected answer from \/api\/4\.0\/servers: no "response" array/ },
];

for (const f of failures) {
  test(`Traffic Ops ${f.mode}: last good inventory kept, error exposed and counted, one log line per interval`, async (t) => {
    // 1.5 s: long enough that the good first poll never times out on a loaded machine, short enough for the slow case.
    const s = await setup(t, { inv: { timeoutMs: 1500 }, sim: { slowMs: 5000 } });
    await s.inv.start(s.onChange);
    await s.sim.setMode(f.mode);
    for (let i = 0; i < 3; i++) await s.inv.pollOnce();
    await flushLogs();
    const st = s.inv.status();
    t.deepEqual(st.relays, EXPECTED);
    t.regex(st.lastError ?? '', f.error);
    t.is(st.consecutiveFailures, 3);
    t.true(st.lastErrorAt !== null && st.lastSuccessAt !== null && st.lastErrorAt >= st.lastSuccessAt);
    t.is(s.metrics.get('driad_inventory_errors_total', { source: 'traffic-ops', kind: f.kind }), 3);
    t.is(s.metrics.get('driad_inventory_polls_total', { source: 'traffic-ops', result: 'failure' }), 3);
    t.is(s.metrics.get('driad_bad_input_total', { component: 'traffic-ops', kind: f.kind }), 3);
    t.is(s.metrics.get('driad_inventory_consecutive_failures', { source: 'traffic-ops' }), 3);
    const logged = s.lines.filter((l) => l.kind === f.kind);
    t.is(logged.length, 1, 'rate-limited: one line for three failures');
    t.true(logged[0]!.msg.startsWith(`traffic-ops: ${f.kind}: `));
    t.regex(logged[0]!.msg, /keeping 2 relay\(s\) from the last good poll; 1 failed poll\(s\) in a row/);
    t.is(s.changes.length, 1, 'no change notification for a failure');

    await s.sim.setMode('ok');
    await s.inv.pollOnce();
    await flushLogs();
    const after = s.inv.status();
    t.is(after.consecutiveFailures, 0);
    t.deepEqual(after.relays, EXPECTED);
    t.truthy(after.lastError, 'the last error stays visible, with its time, after recovery');
    t.true(after.lastSuccessAt! > after.lastErrorAt! || after.lastSuccessAt === after.lastErrorAt);
    t.true(s.lines.some((l) => /polling works again after 3 failed poll/.test(l.msg)));
    t.is(s.changes.length, 1);
  });
}

test('a server without hostName or with a bad service address: the whole answer is refused', async (t) => {
  const s = await setup(t);
  await s.inv.start(s.onChange);
  const nameless = { ...mxServer('x', '69.25.95.7', { cachegroup: CG }) } as Partial<TOServerV4>;
  delete nameless.hostName;
  s.sim.servers.push(nameless as TOServerV4);
  await s.inv.pollOnce();
  t.regex(s.inv.status().lastError ?? '', /^unusable server in \/api\/4\.0\/servers: response\[\d\] has no hostName$/);
  s.sim.servers.pop();
  s.sim.servers.push(mxServer('mx3', '69.25.95.300/32', { cachegroup: CG }));
  await s.inv.pollOnce();
  t.regex(s.inv.status().lastError ?? '', /\(mx3\): interfaces\[0\]\.ipAddresses\[0\]\.address "69\.25\.95\.300\/32" is not an IP address$/);
  t.is(s.metrics.get('driad_inventory_errors_total', { source: 'traffic-ops', kind: 'bad-server' }), 2);
  t.deepEqual(s.inv.status().relays, EXPECTED);
  t.is(s.changes.length, 1);
});

test('restart while Traffic Ops is down: the inventory comes from the state file', async (t) => {
  const s = await setup(t);
  await s.inv.start(s.onChange);
  await s.inv.stop();
  const saved = JSON.parse(await readFile(s.options.stateFile, 'utf8')) as { version: number; cachegroup: string; relays: unknown };
  t.is(saved.version, 1);
  t.is(saved.cachegroup, CG);
  t.deepEqual(saved.relays, EXPECTED);

  await s.sim.setMode('down');
  const again = s.make();
  const changes: DiscoveredRelay[][] = [];
  await again.start((r) => changes.push(r));
  const st = again.status();
  t.true(st.fromDisk);
  t.deepEqual(st.relays, EXPECTED);
  t.deepEqual(changes, [EXPECTED]);
  t.regex(st.lastError ?? '', /^login: .*ECONNREFUSED/);
  t.is(st.lastSuccessAt, null);
  t.is(s.metrics.get('driad_inventory_from_disk', { source: 'traffic-ops' }), 1);

  // Traffic Ops comes back with the same list: no longer from disk, no change notification.
  await s.sim.setMode('ok');
  await again.pollOnce();
  t.false(again.status().fromDisk);
  t.is(changes.length, 1);
});

test('a corrupt state file is logged and ignored; the next good poll rewrites it', async (t) => {
  const s = await setup(t);
  await mkdir(dirname(s.options.stateFile), { recursive: true });
  await writeFile(s.options.stateFile, '{"version":1,"relays":[{"hostName":');
  await s.sim.setMode('down');
  await s.inv.start(s.onChange);
  await flushLogs();
  const st = s.inv.status();
  t.false(st.fromDisk);
  t.deepEqual(st.relays, []);
  t.deepEqual(s.changes, []);
  const line = s.lines.find((l) => l.msg.startsWith('traffic-ops: ignoring the state file'));
  t.truthy(line);
  t.regex(line!.msg, /not JSON/);
  t.is(s.metrics.get('driad_inventory_errors_total', { source: 'traffic-ops', kind: 'state-file' }), 1);

  await s.sim.setMode('ok');
  await s.inv.pollOnce();
  t.deepEqual((JSON.parse(await readFile(s.options.stateFile, 'utf8')) as { relays: unknown }).relays, EXPECTED);
  t.deepEqual(s.changes, [EXPECTED]);
});

test('a state file written for another cachegroup is not served as ours', async (t) => {
  const s = await setup(t);
  await s.inv.start(s.onChange);
  await s.inv.stop();
  await s.sim.setMode('down');
  const other = s.make({ cachegroup: 'eu-west-relay' });
  await other.start(() => t.fail('nothing to load'));
  await flushLogs();
  t.false(other.status().fromDisk);
  t.true(s.lines.some((l) => /ignoring the state file .*written for cachegroup "us-east-relay", not "eu-west-relay"/.test(l.msg)));
});

test('onChange is called only when the relay list changes; an empty list is a valid inventory, logged at warn', async (t) => {
  const s = await setup(t);
  await s.inv.start(s.onChange);
  await s.inv.pollOnce();
  await s.inv.pollOnce();
  t.is(s.changes.length, 1);

  s.sim.servers.push(mxServer('mx3', '69.25.95.33', { cachegroup: CG }));
  await s.inv.pollOnce();
  t.is(s.changes.length, 2);
  t.deepEqual(
    s.changes[1]!.map((r) => r.hostName),
    ['mx1', 'mx2', 'mx3'],
  );

  s.sim.servers.find((x) => x.hostName === 'mx1')!.status = 'OFFLINE';
  await s.inv.pollOnce();
  t.deepEqual(
    s.changes[2]!.map((r) => r.hostName),
    ['mx2', 'mx3'],
  );

  s.sim.servers = s.sim.servers.filter((x) => x.cachegroup !== CG || !x.profileNames.includes(PROFILE));
  await s.inv.pollOnce();
  await s.inv.pollOnce();
  await flushLogs();
  t.is(s.changes.length, 4);
  t.deepEqual(s.changes[3], []);
  const st = s.inv.status();
  t.deepEqual(st.relays, []);
  t.is(st.lastError, null);
  const warns = s.lines.filter((l) => l.level === 40 && /no ONLINE or REPORTED server with profile/.test(l.msg));
  t.is(warns.length, 1);
  t.deepEqual((JSON.parse(await readFile(s.options.stateFile, 'utf8')) as { relays: unknown }).relays, []);
});

test('the schedule polls, and stop() ends it', async (t) => {
  const s = await setup(t, { inv: { schedule: '* * * * * *' } });
  await s.inv.start(s.onChange);
  await sleep(2300);
  const polled = s.sim.serverListings;
  t.true(polled >= 2, `initial poll plus at least one scheduled poll (got ${polled})`);
  await s.inv.stop();
  const n = s.sim.serverListings;
  await sleep(1300);
  t.is(s.sim.serverListings, n);
});

test('polls never overlap: a tick during a slow poll is skipped, and stop() aborts the poll in flight', async (t) => {
  const s = await setup(t, { inv: { schedule: '* * * * * *', timeoutMs: 8000 }, sim: { slowMs: 7000 } });
  await s.inv.start(s.onChange);
  await s.sim.setMode('slow');
  const before = s.sim.serverListings;
  await sleep(2600);
  t.is(s.sim.serverListings - before, 1, 'one request in flight, later ticks skipped');
  t.true(s.metrics.get('driad_inventory_polls_total', { source: 'traffic-ops', result: 'skipped' }) >= 1);
  const t0 = Date.now();
  await s.inv.stop();
  t.true(Date.now() - t0 < 1000, 'stop() does not wait for the slow answer');
  const st = s.inv.status();
  t.is(st.lastError, null, 'an abort by stop() is not a failure');
  t.deepEqual(st.relays, EXPECTED);
});

test('HTTPS: a self-signed Traffic Ops certificate is refused (kind tls) unless tlsSkipVerify', async (t) => {
  const s = await setup(t, { sim: { tls: SIM_TLS } });
  t.true(s.sim.url.startsWith('https://127.0.0.1:'));
  await s.inv.start(s.onChange);
  t.regex(s.inv.status().lastError ?? '', /^login: .*self-signed certificate/);
  t.is(s.metrics.get('driad_inventory_errors_total', { source: 'traffic-ops', kind: 'tls' }), 1);

  const trusting = s.make({ tlsSkipVerify: true, stateFile: `${s.options.stateFile}.2` });
  await trusting.pollOnce();
  t.deepEqual(trusting.status().relays, EXPECTED);
  t.is(trusting.status().lastError, null);
});
