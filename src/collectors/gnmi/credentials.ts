/**
 * How driad authenticates to an MX (amtRelay.gnmiAuthMode, the seed's values): `tls` is mutual
 * TLS with the gateway's certificate and key; `password` is gRPC metadata only, over TLS that
 * verifies the MX (or plaintext with gnmi.plaintext); `tls+password` is both. Whatever the mode,
 * a configured username goes into the metadata with its password, since Junos JGrpcServer wants
 * both even with `skip-authentication`. Files are read at every connection attempt, so renewed
 * certificates and rotated secrets are picked up without a restart.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { usesTls, type GnmiSettings } from './settings.ts';
import { credentialsMetadata } from './wire/load.ts';

export type { GnmiSettings } from './settings.ts';

/** A credential that cannot be used (file missing, secret empty): the message names the key and the file, never a secret. */
export class CredentialError extends Error {
  override name = 'CredentialError';
}

export interface Connection {
  credentials: grpc.ChannelCredentials;
  metadata: grpc.Metadata;
  options: grpc.ChannelOptions;
  /** Values never to show (the password), for redact(). */
  secrets: string[];
}

const QUIRK = 'Junos JGrpcServer rejects an empty password even with skip-authentication';

/**
 * The password: GNMI_PASSWORD (gnmi.password), else the secret named by amtRelay.gnmiPasswordSecret
 * as Kubernetes mounts it: the file `<secretsDir>/<name>/password` (a Secret with key `password`
 * mounted at `<secretsDir>/<name>`), or `<secretsDir>/<name>` when that is the file itself.
 */
export async function readPassword(s: GnmiSettings): Promise<string | undefined> {
  if (s.password !== undefined) return s.password;
  if (s.passwordSecret === undefined) return undefined;
  const dir = join(s.secretsDir, s.passwordSecret);
  let file = join(dir, 'password');
  try {
    if ((await stat(dir)).isFile()) file = dir;
  } catch {
    throw new CredentialError(`amtRelay.gnmiPasswordSecret: no secret ${s.passwordSecret} mounted (looked for ${file} and ${dir})`);
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CredentialError(`amtRelay.gnmiPasswordSecret: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const password = text.replace(/\r?\n$/, '');
  if (password === '') throw new CredentialError(`amtRelay.gnmiPasswordSecret: ${file} is empty: ${QUIRK}`);
  return password;
}

async function pem(file: string, key: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new CredentialError(`${key}: cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Channel credentials, metadata and options for one connection attempt. */
export async function connection(s: GnmiSettings): Promise<Connection> {
  const secrets: string[] = [];
  const metadata = new grpc.Metadata();
  let md = metadata;
  if (s.username) {
    const password = await readPassword(s);
    if (!password) throw new CredentialError(`amtRelay.gnmiUsername is set but no password is available (GNMI_PASSWORD or amtRelay.gnmiPasswordSecret): ${QUIRK}`);
    secrets.push(password);
    md = credentialsMetadata(s.username, password);
  }

  const options: grpc.ChannelOptions = { 'grpc.max_receive_message_length': s.maxMessageBytes };
  if (!usesTls(s)) return { credentials: grpc.credentials.createInsecure(), metadata: md, options, secrets };

  const ca = s.tlsSkipVerify ? null : await pem(s.tls.caFile, 'gnmi.tls.caFile', 'CA certificate');
  let key: Buffer | null = null;
  let cert: Buffer | null = null;
  if (s.authMode !== 'password') {
    cert = await pem(s.tls.certFile, 'gnmi.tls.certFile', 'client certificate');
    key = await pem(s.tls.keyFile, 'gnmi.tls.keyFile', 'client key');
  }
  const verify: grpc.VerifyOptions = s.tlsSkipVerify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {};
  let credentials: grpc.ChannelCredentials;
  try {
    credentials = grpc.credentials.createSsl(ca, key, cert, verify);
  } catch (err) {
    // createSsl parses the PEM files: a key that does not match, or a file that is not PEM
    throw new CredentialError(`gnmi.tls: ${(err as Error).message}`);
  }
  if (s.tls.serverName) {
    options['grpc.ssl_target_name_override'] = s.tls.serverName;
    options['grpc.default_authority'] = s.tls.serverName;
  }
  return { credentials, metadata: md, options, secrets };
}

/** Text with every secret replaced, for logs, status and signal reasons. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length > 0) out = out.split(s).join('***');
  return out;
}

let quieted = false;

/**
 * grpc-js gives the target's host as the TLS server name even when it is an IP address (an MX is
 * usually reached by address), and Node warns about that (DEP0123) on stderr, outside the log.
 * That one warning is dropped; every other goes through.
 */
export function quietIpServerNameWarning(): void {
  if (quieted) return;
  quieted = true;
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((...args: unknown[]) => {
    const [, type, code] = args;
    if (code === 'DEP0123' || (typeof type === 'object' && (type as { code?: string } | null)?.code === 'DEP0123')) return;
    emit(...args);
  }) as typeof process.emitWarning;
}
