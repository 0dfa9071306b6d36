// The TLS credentials of the DoH listener: the operator's PEM files, or a self-signed certificate
// made with openssl at first start and kept in doh.stateDir, so its fingerprint stays the same.

import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { DohConfig } from '../config/types.ts';

export interface DohCredentials {
  cert: Buffer;
  key: Buffer;
  /** SHA-256 of the certificate (DER), colon-separated hex: what `openssl x509 -fingerprint -sha256` prints. */
  fingerprint: string;
  /** SHA-256 of the public key (SubjectPublicKeyInfo), base64: the pin of `kdig +tls-pin` and `curl --pinnedpubkey sha256//`. */
  spki: string;
  /** 'config': doh.certFile/keyFile; 'generated': made now; 'kept': made at an earlier start. */
  origin: 'config' | 'generated' | 'kept';
  /** The PEM file holding the certificate. */
  file: string;
}

const SELF_SIGNED = 'self-signed.pem';

/** Loads the configured certificate and key, or the kept self-signed pair, generating it first if there is none (or it expired). */
export function loadCredentials(config: DohConfig, listenHost: string): DohCredentials {
  if (config.certFile && config.keyFile) {
    const cert = readPem(config.certFile, 'doh.certFile');
    const key = readPem(config.keyFile, 'doh.keyFile');
    return { cert, key, ...describe(cert, `config error: doh.certFile: ${config.certFile}`), origin: 'config', file: config.certFile };
  }
  const file = join(config.stateDir, SELF_SIGNED);
  const kept = readKept(file);
  if (kept) return { ...kept, ...describe(kept.cert, file), origin: 'kept', file };
  const made = generate(config.stateDir, file, listenHost);
  return { ...made, ...describe(made.cert, file), origin: made.origin, file };
}

function readPem(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`config error: ${key}: cannot read ${file}: ${(err as Error).message}`);
  }
}

function describe(cert: Buffer, where: string): { fingerprint: string; spki: string } {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (err) {
    throw new Error(`${where}: not a PEM certificate: ${(err as Error).message}`);
  }
  const spki = createHash('sha256').update(x509.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  return { fingerprint: x509.fingerprint256, spki };
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----\n?/g;

function readKept(file: string): { cert: Buffer; key: Buffer } | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const blocks = [...text.matchAll(PEM_BLOCK)];
  const key = blocks.find((b) => (b[1] as string).endsWith('PRIVATE KEY'))?.[0];
  const cert = blocks.find((b) => b[1] === 'CERTIFICATE')?.[0];
  if (!key || !cert) return null;
  try {
    if (Date.parse(new X509Certificate(cert).validTo) < Date.now() + 86_400_000) return null;
  } catch {
    return null;
  }
  return { cert: Buffer.from(cert), key: Buffer.from(key) };
}

/**
 * A P-256 key and a certificate for it, valid 825 days, naming the loopback addresses, localhost
 * and the listen address. Written beside the final file and linked into place, so that two
 * processes starting at once end up using the same pair (the second one reads the first's).
 */
function generate(dir: string, file: string, listenHost: string): { cert: Buffer; key: Buffer; origin: 'generated' | 'kept' } {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = mkdtempSync(join(dir, '.gen-'));
  try {
    const names = new Set(['IP:127.0.0.1', 'IP:::1', 'DNS:localhost']);
    if (isIP(listenHost) && listenHost !== '0.0.0.0' && listenHost !== '::') names.add(`IP:${listenHost}`);
    const keyFile = join(tmp, 'key.pem');
    const certFile = join(tmp, 'cert.pem');
    try {
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '825', '-subj', '/CN=driad DoH',
          '-addext', `subjectAltName=${[...names].join(',')}`, '-keyout', keyFile, '-out', certFile],
        { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 },
      );
    } catch (err) {
      throw new Error(`doh: no doh.certFile/doh.keyFile, and openssl could not make a self-signed certificate (install openssl, or set both keys): ${(err as Error).message}`);
    }
    const key = readFileSync(keyFile);
    const cert = readFileSync(certFile);
    const both = join(tmp, SELF_SIGNED);
    writeFileSync(both, Buffer.concat([key, cert]), { mode: 0o600 });
    try {
      linkSync(both, file);
      return { cert, key, origin: 'generated' };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const other = readKept(file);
      if (!other) {
        // An expired or broken file is in the way: replace it.
        rmSync(file, { force: true });
        linkSync(both, file);
        return { cert, key, origin: 'generated' };
      }
      return { ...other, origin: 'kept' };
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
