import test from 'ava';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GnmiSettings } from '../../../src/collectors/gnmi/settings.ts';
import { testPki, type CertKey } from '../../sim/gnmi-mx/pki.ts';
import { startGnmiMx } from '../../sim/gnmi-mx/server.ts';
import { mxRelay, PASSWORD, startHarness, testSettings } from './harness.ts';

/** mTLS as the seed configures it: the gateway's certificate and key, a CA to verify the MX, and the metadata password. */
async function tlsSettings(client: CertKey, over: Partial<GnmiSettings> = {}): Promise<GnmiSettings> {
  const pki = await testPki();
  return testSettings({ authMode: 'tls', plaintext: false, tls: { certFile: client.certFile, keyFile: client.keyFile, caFile: pki.ca.certFile }, ...over });
}

type ServerCert = 'expired' | 'serverOtherCa' | 'wrongName';

/** `serverCert` starts the MX with that certificate (rather than fail() restarting it onto the same port, which a busy machine may have reused). */
async function run(t: { teardown(f: () => unknown): void }, settings: GnmiSettings, serverCert?: ServerCert, requireClientCert = true) {
  const real = await testPki();
  const pki = serverCert ? { ...real, server: real[serverCert] } : real;
  const mx = await startGnmiMx({ tunnels: 7, tls: { pki, requireClientCert } });
  t.teardown(() => mx.stop());
  const h = await startHarness(settings, [mxRelay('mx', mx.address)]);
  t.teardown(() => h.stop());
  return { mx, h, reachable: () => h.latest('reachable'), pki };
}

for (const key of ['Ed25519', 'P-256'] as const) {
  test(`mutual TLS with an ${key} client certificate`, async (t) => {
    const pki = await testPki();
    const { h, mx } = await run(t, await tlsSettings(key === 'Ed25519' ? pki.clientEd25519 : pki.clientP256));
    t.true(await h.waitFor(() => h.latest('tunnels')?.value === 7));
    t.is(h.latest('reachable')?.value, true);
    t.like(mx.stats.lastMetadata, { username: 'driad', passwordGiven: true }, 'the JGrpcServer quirk: credentials in metadata even with mTLS');
    t.false(h.lines.some((l) => l.includes('not verified')), 'no skip-verify warning');
  });
}

const tlsFailures: Array<[string, ServerCert]> = [
  ['an expired MX certificate', 'expired'],
  ['an MX certificate from another CA', 'serverOtherCa'],
  ['an MX certificate for another name', 'wrongName'],
];
for (const [what, fault] of tlsFailures) {
  test(`${what}: relay down, "gNMI TLS handshake failed"`, async (t) => {
    const pki = await testPki();
    const { h, reachable } = await run(t, await tlsSettings(pki.clientEd25519), fault);
    t.true(await h.waitFor(() => reachable()?.value === false));
    t.regex(reachable()!.reason!, /^gNMI TLS handshake failed: /);
    t.regex(h.session()!.lastError!, /^gNMI TLS handshake failed/);
    t.true(h.metrics.get('driad_gnmi_errors_total', { relay: 'mx', kind: 'tls' }) >= 1);
  });
}

test('gnmiTLSSkipVerify accepts an MX certificate from another CA, with one warning at start', async (t) => {
  const pki = await testPki();
  const { h } = await run(t, await tlsSettings(pki.clientEd25519, { tlsSkipVerify: true, tls: { certFile: pki.clientEd25519.certFile, keyFile: pki.clientEd25519.keyFile, caFile: '/nonexistent/ca.pem' } }), 'serverOtherCa');
  t.true(await h.waitFor(() => h.latest('tunnels')?.value === 7));
  t.is(h.lines.filter((l) => l.includes('gnmiTLSSkipVerify is true')).length, 1);
});

test('gnmi.tls.serverName: the name the MX certificate carries when it is not the target address', async (t) => {
  const pki = await testPki();
  const { h } = await run(t, await tlsSettings(pki.clientP256, { tls: { certFile: pki.clientP256.certFile, keyFile: pki.clientP256.keyFile, caFile: pki.ca.certFile, serverName: 'mx.invalid' } }), 'wrongName');
  t.true(await h.waitFor(() => h.latest('tunnels')?.value === 7));
});

test('a client certificate the MX does not trust: relay down with a TLS reason', async (t) => {
  const pki = await testPki();
  const { h, reachable } = await run(t, await tlsSettings(pki.clientOtherCa));
  t.true(await h.waitFor(() => reachable()?.value === false));
  t.regex(reachable()!.reason!, /^gNMI (TLS handshake failed|target unreachable|stream failed)/);
  t.is(h.latest('tunnels'), undefined);
});

test('unreadable certificate or key files: "gNMI credentials unusable", naming the key and the file', async (t) => {
  const pki = await testPki();
  const { h, reachable } = await run(t, await tlsSettings(pki.clientEd25519, { tls: { certFile: '/nonexistent/gateway.crt', keyFile: pki.clientEd25519.keyFile, caFile: pki.ca.certFile } }));
  t.true(await h.waitFor(() => reachable()?.value === false));
  t.is(reachable()!.reason, 'gNMI credentials unusable: gnmi.tls.certFile: cannot read the client certificate /nonexistent/gateway.crt: ENOENT');
});

test('tls+password with a wrong password: gNMI auth failed', async (t) => {
  const pki = await testPki();
  const { h, reachable } = await run(t, await tlsSettings(pki.clientEd25519, { authMode: 'tls+password', password: 'not-it' }));
  t.true(await h.waitFor(() => reachable()?.value === false));
  t.regex(reachable()!.reason!, /^gNMI auth failed/);
});

test('password mode over TLS without a client certificate', async (t) => {
  const pki = await testPki();
  const { h } = await run(t, testSettings({ authMode: 'password', plaintext: false, tls: { certFile: '/nonexistent/unused.crt', keyFile: '/nonexistent/unused.key', caFile: pki.ca.certFile } }), undefined, false);
  t.true(await h.waitFor(() => h.latest('tunnels')?.value === 7));
});

test('the password from a mounted secret (<secretsDir>/<gnmiPasswordSecret>/password); an empty one says why', async (t) => {
  const pki = await testPki();
  const dir = mkdtempSync(join(tmpdir(), 'driad-secrets-'));
  mkdirSync(join(dir, 'amt-relay-gnmi-password'));
  writeFileSync(join(dir, 'amt-relay-gnmi-password', 'password'), `${PASSWORD}\n`);
  writeFileSync(join(dir, 'empty-secret'), '');
  const base = await tlsSettings(pki.clientEd25519, { password: undefined, secretsDir: dir });
  const good = await run(t, { ...base, passwordSecret: 'amt-relay-gnmi-password' });
  t.true(await good.h.waitFor(() => good.h.latest('tunnels')?.value === 7));
  t.false(good.h.lines.join('').includes(PASSWORD));

  const empty = await run(t, { ...base, passwordSecret: 'empty-secret' });
  t.true(await empty.h.waitFor(() => empty.reachable()?.value === false));
  t.regex(empty.reachable()!.reason!, /^gNMI credentials unusable: amtRelay.gnmiPasswordSecret: .*empty-secret is empty: Junos JGrpcServer rejects an empty password even with skip-authentication/);
  t.is(empty.mx.stats.rpcs.Capabilities ?? 0, 0, 'nothing was sent without a password');

  const missing = await run(t, { ...base, passwordSecret: 'no-such-secret' });
  t.true(await missing.h.waitFor(() => missing.reachable()?.value === false));
  t.regex(missing.reachable()!.reason!, /no secret no-such-secret mounted/);
});
