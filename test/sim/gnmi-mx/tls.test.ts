/**
 * The simulated MX's TLS and credentials, with certificates made by openssl (pki.ts) and a raw
 * grpc-js client on driad's loader; openssl s_client runs the seed's verification commands.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import * as grpc from '@grpc/grpc-js';
import { credentialsMetadata } from '../../../src/collectors/gnmi/wire/load.ts';
import { capabilities, clientCredentials, simClient, subscribe, subscriptionRequest, type ClientCert } from './client.ts';
import { testPki, type TestPki } from './pki.ts';
import { DEFAULT_AUTH, startGnmiMx, type GnmiMx, type GnmiMxOptions } from './server.ts';

let pki: TestPki;
test.before(async () => {
  pki = await testPki();
});

async function withSim(t: { teardown: (fn: () => Promise<void>) => void }, options: GnmiMxOptions = {}): Promise<GnmiMx> {
  const sim = await startGnmiMx({ tls: { pki }, tunnels: 5, ...options });
  t.teardown(() => sim.stop());
  return sim;
}

async function capabilitiesError(sim: GnmiMx, cert: ClientCert | 'plaintext', md?: grpc.Metadata): Promise<grpc.ServiceError | undefined> {
  const client = simClient(sim, cert === 'plaintext' ? grpc.credentials.createInsecure() : clientCredentials(pki, cert));
  try {
    await capabilities(client, md, 4000);
    return undefined;
  } catch (err) {
    return err as grpc.ServiceError;
  } finally {
    client.close();
  }
}

test('mTLS with an Ed25519 client certificate: Capabilities lists Junos-like models, encodings and version', async (t) => {
  const sim = await withSim(t);
  const client = simClient(sim, clientCredentials(pki, 'ed25519'));
  t.teardown(() => client.close());
  const caps = await capabilities(client);
  t.is(caps.gNMI_version, '0.7.0');
  t.deepEqual(caps.supported_encodings, ['JSON', 'JSON_IETF', 'PROTO']);
  const models = (caps.supported_models ?? []).map((m) => m.name);
  t.true(models.includes('openconfig-interfaces'));
  t.true(models.includes('xmlproxyd_amt-tunnel'));
  t.is(sim.stats.rpcs.Capabilities, 1);
});

test('mTLS with an ECDSA P-256 client certificate: ONCE reaches sync_response, POLL answers polls, STREAM samples', async (t) => {
  const sim = await withSim(t);
  const client = simClient(sim, clientCredentials(pki, 'p256'));
  t.teardown(() => client.close());
  const once = subscribe(client, subscriptionRequest([{ path: '/junos/amt/summary' }], { mode: 'ONCE' }));
  t.is((await once.ended())?.code, grpc.status.OK);
  t.is(once.syncs, 1);
  t.is(once.updates().length, 1);
  const poll = subscribe(client, subscriptionRequest([{ path: '/junos/amt/statistics' }], { mode: 'POLL' }));
  t.teardown(() => poll.cancel());
  poll.call.write({ poll: {} });
  poll.call.write({ poll: {} });
  t.true(await poll.until((r) => r.syncs === 2));
  const stream = subscribe(client, subscriptionRequest([{ path: '/interfaces/interface[name=ud-0/0/0]/state/counters', sampleMs: 50 }]));
  t.teardown(() => stream.cancel());
  t.true(await stream.until((r) => r.syncs === 1 && r.updates().length >= 3));
});

test('no client certificate, or one from another CA: the handshake fails and no RPC is served', async (t) => {
  const sim = await withSim(t);
  const none = await capabilitiesError(sim, 'none');
  t.is(none?.code, grpc.status.UNAVAILABLE);
  t.regex(none?.details ?? '', /certificate required|Failed to connect|Connection dropped/);
  const stranger = await capabilitiesError(sim, 'other-ca');
  t.is(stranger?.code, grpc.status.UNAVAILABLE);
  t.is(sim.stats.rpcs.Capabilities ?? 0, 0);
  t.is((await capabilitiesError(sim, 'plaintext'))?.code, grpc.status.UNAVAILABLE, 'a plaintext client cannot talk to the TLS port');
});

test("the seed's openssl s_client checks: handshake with the gateway cert, h2, the CA named, Ed25519 requested", async (t) => {
  const sim = await withSim(t);
  const args = ['s_client', '-connect', sim.address, '-cert', pki.clientEd25519.certFile, '-key', pki.clientEd25519.keyFile, '-CAfile', pki.ca.certFile, '-alpn', 'h2'];
  const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const timer = setTimeout(() => child.stdin.end(), 500); // EOF on stdin: s_client closes after the handshake
  const killer = setTimeout(() => child.kill(), 10000);
  await new Promise<void>((resolve) => child.on('close', () => resolve()));
  clearTimeout(timer);
  clearTimeout(killer);
  t.regex(out, /SSL handshake has read \d+ bytes/);
  t.regex(out, /ALPN protocol: h2/);
  t.regex(out, /Verify return code: 0 \(ok\)/);
  t.regex(out, /Acceptable client certificate CA names\s*\n\s*CN ?= ?magma-certifier-sim/);
  t.regex(out, /Requested Signature Algorithms:[^\n]*ed25519/i);
});

test('server certificate faults: expired, from another CA, for another name; healed afterwards', async (t) => {
  const sim = await withSim(t);
  const cases: [Parameters<GnmiMx['fail']>[0], RegExp][] = [
    ['expired-cert', /certificate has expired/],
    ['wrong-ca-cert', /unable to verify the first certificate/],
    ['wrong-name-cert', /does not match certificate's altnames/],
  ];
  for (const [kind, reason] of cases) {
    await sim.fail(kind);
    const err = await capabilitiesError(sim, 'ed25519');
    t.is(err?.code, grpc.status.UNAVAILABLE, kind);
    t.regex(err?.details ?? '', reason, kind);
  }
  await sim.heal();
  t.is(await capabilitiesError(sim, 'ed25519'), undefined);
});

test('JGrpcServer credentials: wrong, empty or missing password and missing username are UNAUTHENTICATED', async (t) => {
  const sim = await withSim(t);
  const cases: [string, grpc.Metadata, RegExp][] = [
    ['wrong password', credentialsMetadata(DEFAULT_AUTH.username, 'wrong'), /invalid username or password/],
    ['empty password', credentialsMetadata(DEFAULT_AUTH.username, ''), /missing or empty password/],
    ['no password', (() => {
      const md = new grpc.Metadata();
      md.set('username', DEFAULT_AUTH.username);
      return md;
    })(), /missing or empty password/],
    ['no metadata', new grpc.Metadata(), /missing username/],
    ['wrong user', credentialsMetadata('root', DEFAULT_AUTH.password), /invalid username or password/],
  ];
  for (const [name, md, reason] of cases) {
    const err = await capabilitiesError(sim, 'ed25519', md);
    t.is(err?.code, grpc.status.UNAUTHENTICATED, name);
    t.regex(err?.details ?? '', reason, name);
  }
  t.is(sim.stats.authRejected, cases.length);

  const client = simClient(sim, clientCredentials(pki));
  t.teardown(() => client.close());
  const rec = subscribe(client, subscriptionRequest([{ path: '/junos/amt/summary' }]), credentialsMetadata(DEFAULT_AUTH.username, ''));
  t.is((await rec.ended())?.code, grpc.status.UNAUTHENTICATED, 'Subscribe is checked too');
  t.is(rec.responses.length, 0);
});

test('skip-authentication still needs a username and a non-empty password (the JSD quirk)', async (t) => {
  const sim = await withSim(t, { auth: { ...DEFAULT_AUTH, skipAuthentication: true } });
  t.is(await capabilitiesError(sim, 'ed25519', credentialsMetadata('anyone', 'anything')), undefined, 'any non-empty credentials');
  t.is((await capabilitiesError(sim, 'ed25519', credentialsMetadata('anyone', '')))?.code, grpc.status.UNAUTHENTICATED);
  t.is((await capabilitiesError(sim, 'ed25519', new grpc.Metadata()))?.code, grpc.status.UNAUTHENTICATED);
  t.deepEqual(sim.stats.lastMetadata, { passwordGiven: false }, 'what the target saw, without the secret');
});

test('password mode over plaintext: configurable credentials, the same checks', async (t) => {
  const sim = await withSim(t, { tls: false, auth: { username: 'blockcast', password: 's3cret' } });
  t.is(await capabilitiesError(sim, 'plaintext', credentialsMetadata('blockcast', 's3cret')), undefined);
  t.is((await capabilitiesError(sim, 'plaintext', credentialsMetadata('blockcast', 'nope')))?.code, grpc.status.UNAUTHENTICATED);
  t.is((await capabilitiesError(sim, 'ed25519', credentialsMetadata('blockcast', 's3cret')))?.code, grpc.status.UNAVAILABLE, 'a TLS client cannot talk to the plaintext port');
});

test('reject-auth and permission-denied faults answer every RPC so, whatever the credentials', async (t) => {
  const sim = await withSim(t);
  await sim.fail('reject-auth');
  t.is((await capabilitiesError(sim, 'ed25519'))?.code, grpc.status.UNAUTHENTICATED);
  await sim.heal();
  await sim.fail('permission-denied');
  const err = await capabilitiesError(sim, 'ed25519');
  t.is(err?.code, grpc.status.PERMISSION_DENIED);
  await sim.heal();
  t.is(await capabilitiesError(sim, 'ed25519'), undefined);
});
