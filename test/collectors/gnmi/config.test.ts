import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gnmiCollector } from '../../../src/collectors/gnmi/setup.ts';
import { subscribeRequest } from '../../../src/collectors/gnmi/request.ts';
import { loadConfig } from '../../../src/config/load.ts';

function yaml(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'driad-gnmi-config-'));
  const file = join(dir, 'driad.yaml');
  writeFileSync(file, text);
  return file;
}

const load = (text: string, env: Record<string, string> = {}) => loadConfig({ config: yaml(text) }, env);

test('defaults: off, Magma certificate paths, Juniper-shaped paths; the collector starts only when enabled', (t) => {
  const c = loadConfig({}, {});
  t.false(c.gnmi.enabled);
  t.is(gnmiCollector.configOf(c), null);
  t.deepEqual(c.gnmi.tls, { certFile: '/var/opt/magma/certs/gateway.crt', keyFile: '/var/opt/magma/certs/gateway.key', caFile: '/var/opt/magma/certs/rootCA.pem', serverName: undefined });
  t.deepEqual(c.gnmi.paths.map((p) => `${p.mode} ${p.path}`), [
    'sample /interfaces/interface/state/counters',
    'on_change /interfaces/interface/state/oper-status',
    'on_change /interfaces/interface/state/high-speed',
    'on_change /junos/amt/summary',
    'sample /junos/amt/statistics',
  ]);
  const on = loadConfig({}, { GNMI_ENABLED: 'true' });
  t.like(gnmiCollector.configOf(on), { enabled: true, authMode: 'tls', tlsSkipVerify: false, sampleIntervalMs: 10_000 });
});

test("the seed's Helm values work as written: username with a password secret; GNMI_PASSWORD from the environment", (t) => {
  const c = load('amtRelay:\n  gnmiAuthMode: tls\n  gnmiUsername: blockcast\n  gnmiPasswordSecret: amt-relay-gnmi-password\n  gnmiTLSSkipVerify: true\ngnmi:\n  enabled: true\n');
  t.like(gnmiCollector.configOf(c), { username: 'blockcast', passwordSecret: 'amt-relay-gnmi-password', tlsSkipVerify: true });
  const env = load('amtRelay:\n  gnmiUsername: blockcast\n', { GNMI_PASSWORD: 'p' });
  t.is(env.gnmi.password, 'p');
});

const bad: Array<[string, string]> = [
  ['gnmi:\n  workerNice: 20\n', 'config error: gnmi.workerNice: must be an integer from 0 to 19 (got 20)'],
  [
    'amtRelay:\n  gnmiUsername: blockcast\n',
    'config error: amtRelay.gnmiUsername: is set without a password (GNMI_PASSWORD or amtRelay.gnmiPasswordSecret): Junos JGrpcServer rejects an empty password even with skip-authentication (it needs username and password in gRPC metadata)',
  ],
  [
    'amtRelay:\n  gnmiUsername: blockcast\ngnmi:\n  password: ""\n',
    'config error: amtRelay.gnmiUsername: is set without a password (GNMI_PASSWORD or amtRelay.gnmiPasswordSecret): Junos JGrpcServer rejects an empty password even with skip-authentication (it needs username and password in gRPC metadata)',
  ],
  ['gnmi:\n  password: x\n', 'config error: gnmi.password: is set but amtRelay.gnmiUsername is not'],
  ['gnmi:\n  plaintext: true\n', 'config error: gnmi.plaintext: needs amtRelay.gnmiAuthMode password (mode tls means mutual TLS)'],
  ['gnmi:\n  backoff: { initialMs: 5000, maxMs: 100 }\n', 'config error: gnmi.backoff.maxMs: must not be below gnmi.backoff.initialMs (100 < 5000)'],
  ['gnmi:\n  sampleIntervalMs: 0\n', 'config error: gnmi.sampleIntervalMs: must be an integer from 10 to 3600000 (got 0)'],
  ['gnmi:\n  paths: []\n', 'config error: gnmi.paths: needs at least one path'],
  ['gnmi:\n  paths: [{ path: "/a[b" }]\n', 'config error: gnmi.paths[0].path: unterminated key in path "/a[b"'],
  ['gnmi:\n  paths: [{ path: /a, mode: fast }]\n', 'config error: gnmi.paths[0].mode: must be one of sample, on_change (got "fast")'],
  ['gnmi:\n  paths: [{ path: /a, heartbeatIntervalMs: 10 }]\n', 'config error: gnmi.paths[0].heartbeatIntervalMs: applies to on_change paths only'],
  ['gnmi:\n  encoding: ASCII\n', 'config error: gnmi.encoding: must be one of PROTO, JSON, JSON_IETF (got "ASCII")'],
  ['gnmi:\n  tls:\n    certFile: ""\n', 'config error: gnmi.tls.certFile: must be a non-empty string (got "")'],
  ['gnmi:\n  tsl: {}\n', 'config error: gnmi.tsl: unknown key'],
  ['amtRelay:\n  gnmiUsername: u\n  gnmiPasswordSecret: ../etc/passwd\n', `config error: amtRelay.gnmiPasswordSecret: must be a secret name (letters, digits, '.', '_', '-'; got "../etc/passwd")`],
];

test('config errors name the key and say why', (t) => {
  for (const [text, message] of bad) t.throws(() => load(text), { message }, text);
});

test('paths: a plain string is a sample path; on_change paths carry the heartbeat, their own if they give one', (t) => {
  const c = load('gnmi:\n  heartbeatIntervalMs: 30000\n  paths:\n    - /interfaces/interface/state/counters\n    - { path: /junos/amt/summary, mode: on_change }\n    - { path: /junos/amt/tunnels/tunnel, mode: on_change, heartbeatIntervalMs: 0 }\n');
  t.deepEqual(c.gnmi.paths, [
    { path: '/interfaces/interface/state/counters', mode: 'sample' },
    { path: '/junos/amt/summary', mode: 'on_change' },
    { path: '/junos/amt/tunnels/tunnel', mode: 'on_change', heartbeatIntervalMs: 0 },
  ]);
  const req = subscribeRequest(c.gnmi.paths, { mode: 'STREAM', encoding: 'PROTO', sampleIntervalMs: 10_000, heartbeatIntervalMs: 30_000 });
  t.deepEqual(
    req.subscribe!.subscription!.map((s) => [s.mode, s.sample_interval, s.heartbeat_interval]),
    [
      ['SAMPLE', '10000000000', undefined],
      ['ON_CHANGE', undefined, '30000000000'],
      ['ON_CHANGE', undefined, undefined],
    ],
  );
  const poll = subscribeRequest(c.gnmi.paths, { mode: 'POLL', encoding: 'JSON_IETF', sampleIntervalMs: 10_000, heartbeatIntervalMs: 30_000 });
  t.like(poll.subscribe, { mode: 'POLL', encoding: 'JSON_IETF' });
  t.true(poll.subscribe!.subscription!.every((s) => s.mode === undefined && s.sample_interval === undefined));
});
