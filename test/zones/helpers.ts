import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** Writes files (path -> text) into a fresh temporary directory and returns its path. */
export function writeTree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'driad-zone-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** A zone file in a temporary directory; returns its path. */
export function writeZone(text: string, name = 'test.zone'): string {
  return join(writeTree({ [name]: text }), name);
}

export const APEX = '$ORIGIN example.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n  NS ns1\nns1 A 192.0.2.1\n';
