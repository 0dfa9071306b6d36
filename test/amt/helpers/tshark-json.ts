// tshark's JSON output (-T json) read back in tests: every value of a field anywhere in a packet,
// and whether a packet decoded cleanly (no malformed mark, no expert warning or error, every
// checksum tshark verified good). Shared by tshark.test.ts and generator-tshark.test.ts.
import type { ExecutionContext } from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { parseIp } from '../../../src/amt/inet.ts';

export const HAS_TSHARK = spawnSync('/bin/sh', ['-c', 'command -v tshark']).status === 0;

export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

/** Every value under `key` anywhere below `node`, in document order, arrays flattened. */
export function all(node: Json | undefined, key: string): string[] {
  const out: string[] = [];
  const visit = (n: Json | undefined): void => {
    if (Array.isArray(n)) n.forEach(visit);
    else if (n && typeof n === 'object') {
      for (const [k, v] of Object.entries(n)) {
        if (k === key) (Array.isArray(v) ? v : [v]).forEach((x) => (typeof x === 'object' ? visit(x) : out.push(String(x))));
        else visit(v);
      }
    }
  };
  visit(node);
  return out;
}

export function one(node: Json | undefined, key: string): string | undefined {
  const v = all(node, key);
  return v.length === 1 ? v[0] : v.length === 0 ? undefined : `<${v.length} values: ${v.join(',')}>`;
}

export const ip16 = (text: string): string => {
  const b = parseIp(text) as Buffer;
  return (b.length === 4 ? Buffer.concat([Buffer.alloc(12), b]) : b).toString('hex');
};

/** `extra`: more arguments, e.g. `-d udp.port==N,amt` for AMT on another port than 2268. */
export function runTshark(file: string, extra: string[] = []): Promise<Json[]> {
  return new Promise((resolve, reject) => {
    execFile(
      'tshark',
      ['-n', '-r', file, '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-T', 'json', '--no-duplicate-keys', ...extra],
      { timeout: 30_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`tshark failed: ${err.message}\n${stderr}`));
        try {
          resolve(JSON.parse(stdout) as Json[]);
        } catch (e) {
          reject(new Error(`tshark printed no JSON: ${(e as Error).message}\n${stderr}`));
        }
      },
    );
  });
}

/** No malformed mark, no expert item of warning severity or worse, every verified checksum good. */
export function assertClean(t: ExecutionContext, layers: Json, where: string): void {
  t.deepEqual(all(layers, '_ws.malformed'), [], `${where}: malformed packet`);
  const severe = all(layers, '_ws.expert.severity').filter((s) => Number(s) >= 0x600000);
  t.deepEqual(severe, [], `${where}: expert items ${all(layers, '_ws.expert.message').join('; ')}`);
  const statuses = Object.entries(flatKeys(layers)).filter(([k]) => k.endsWith('checksum.status'));
  t.true(statuses.length > 0, `${where}: no checksum was verified`);
  for (const [k, v] of statuses) t.true(v.every((s) => s === '1'), `${where}: ${k} = ${v.join(',')} (1 = good)`);
}

export function flatKeys(node: Json): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const visit = (n: Json): void => {
    if (Array.isArray(n)) n.forEach(visit);
    else if (n && typeof n === 'object') {
      for (const [k, v] of Object.entries(n)) {
        if (v !== null && typeof v === 'object') visit(v);
        else (out[k] ??= []).push(String(v));
      }
    }
  };
  visit(node);
  return out;
}

