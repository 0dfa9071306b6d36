/**
 * Test certificates for the gNMI MX simulator, made with the real openssl on first use (about
 * a dozen openssl runs, well under a second) and shared within the process:
 *
 *   ca            the CA the MX trusts for client certificates and the client trusts for the MX
 *                 (the seed's "magma certifier"), ECDSA P-256
 *   server        the MX's certificate: SAN IP:127.0.0.1, DNS:localhost, signed by ca
 *   clientEd25519 a gateway certificate with an Ed25519 key, like Magma's gateway.crt, with
 *                 several DNS SANs
 *   clientP256    the same with an ECDSA P-256 key
 *   expired       a server certificate signed by ca that expired in 2020
 *   otherCa       a second CA, and serverOtherCa / clientOtherCa signed by it (mismatched)
 *   wrongName     a server certificate signed by ca for mx.invalid only (name mismatch)
 *
 * Test-only key material in a temporary directory (removed when the process exits); it protects
 * nothing.
 */
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertKey {
  cert: Buffer;
  key: Buffer;
  certFile: string;
  keyFile: string;
}

export interface TestPki {
  dir: string;
  ca: CertKey;
  caName: string; // the CA's CN ("ca-identity" in the Junos configuration)
  server: CertKey;
  expired: CertKey;
  wrongName: CertKey;
  clientEd25519: CertKey;
  clientP256: CertKey;
  otherCa: CertKey;
  serverOtherCa: CertKey;
  clientOtherCa: CertKey;
}

const CA_CONFIG = `[ca]
default_ca = sim
[sim]
database = index.txt
new_certs_dir = .
serial = serial
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[any]
commonName = supplied
`;

const REQ_CONFIG = `[req]
distinguished_name = dn
[dn]
[v3]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
`;

async function openssl(dir: string, ...args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`);
  }
}

async function load(dir: string, name: string): Promise<CertKey> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  return { cert: await readFile(certFile), key: await readFile(keyFile), certFile, keyFile };
}

async function makeKey(dir: string, name: string, type: 'ed25519' | 'p256'): Promise<void> {
  if (type === 'ed25519') await openssl(dir, 'genpkey', '-algorithm', 'ed25519', '-out', `${name}.key`);
  else await openssl(dir, 'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`);
}

async function makeCa(dir: string, name: string, cn: string): Promise<void> {
  await makeKey(dir, name, 'p256');
  await openssl(dir, 'req', '-x509', '-new', '-key', `${name}.key`, '-subj', `/CN=${cn}`, '-days', '3650', '-out', `${name}.crt`, '-extensions', 'v3', '-config', 'req.cnf');
}

interface LeafSpec {
  name: string;
  cn: string;
  key: 'ed25519' | 'p256';
  san: string;
  usage: 'serverAuth' | 'clientAuth';
  ca: string;
  start?: string; // openssl ca -startdate, YYYYMMDDHHMMSSZ
  end?: string;
}

async function makeLeaf(dir: string, spec: LeafSpec): Promise<void> {
  await makeKey(dir, spec.name, spec.key);
  await openssl(dir, 'req', '-new', '-key', `${spec.name}.key`, '-subj', `/CN=${spec.cn}`, '-out', `${spec.name}.csr`);
  await writeFile(
    join(dir, `${spec.name}.ext`),
    `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=${spec.usage}\nsubjectAltName=${spec.san}\n`,
  );
  const dates = spec.start && spec.end ? ['-startdate', spec.start, '-enddate', spec.end] : ['-days', '3650'];
  await openssl(
    dir,
    'ca', '-batch', '-notext', '-config', 'signing.cnf', '-cert', `${spec.ca}.crt`, '-keyfile', `${spec.ca}.key`,
    '-in', `${spec.name}.csr`, '-out', `${spec.name}.crt`, '-extfile', `${spec.name}.ext`, ...dates,
  );
}

async function build(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'driad-gnmi-pki-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'signing.cnf'), CA_CONFIG);
  await writeFile(join(dir, 'req.cnf'), REQ_CONFIG);
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'serial'), '1000\n');
  await makeCa(dir, 'ca', 'magma-certifier-sim');
  await makeCa(dir, 'other-ca', 'some-other-ca');
  const local = 'IP:127.0.0.1,DNS:localhost';
  const gatewaySans = 'DNS:gateway-sim.magma.test,DNS:gw1.magma.test,DNS:localhost';
  const leaves: LeafSpec[] = [
    { name: 'server', cn: 'mx-sim', key: 'p256', san: local, usage: 'serverAuth', ca: 'ca' },
    { name: 'expired', cn: 'mx-sim', key: 'p256', san: local, usage: 'serverAuth', ca: 'ca', start: '20200101000000Z', end: '20200102000000Z' },
    { name: 'wrong-name', cn: 'mx.invalid', key: 'p256', san: 'DNS:mx.invalid', usage: 'serverAuth', ca: 'ca' },
    { name: 'server-other-ca', cn: 'mx-sim', key: 'p256', san: local, usage: 'serverAuth', ca: 'other-ca' },
    { name: 'client-ed25519', cn: 'gateway-sim', key: 'ed25519', san: gatewaySans, usage: 'clientAuth', ca: 'ca' },
    { name: 'client-p256', cn: 'gateway-sim-p256', key: 'p256', san: gatewaySans, usage: 'clientAuth', ca: 'ca' },
    { name: 'client-other-ca', cn: 'stranger', key: 'p256', san: 'DNS:stranger.test', usage: 'clientAuth', ca: 'other-ca' },
  ];
  for (const spec of leaves) await makeLeaf(dir, spec);
  return {
    dir,
    ca: await load(dir, 'ca'),
    caName: 'magma-certifier-sim',
    server: await load(dir, 'server'),
    expired: await load(dir, 'expired'),
    wrongName: await load(dir, 'wrong-name'),
    clientEd25519: await load(dir, 'client-ed25519'),
    clientP256: await load(dir, 'client-p256'),
    otherCa: await load(dir, 'other-ca'),
    serverOtherCa: await load(dir, 'server-other-ca'),
    clientOtherCa: await load(dir, 'client-other-ca'),
  };
}

let pki: Promise<TestPki> | undefined;

/** The test PKI (made once per process). */
export function testPki(): Promise<TestPki> {
  pki ??= build();
  return pki;
}
