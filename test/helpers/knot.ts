// Knot DNS (knotd, Debian package `knot`) as a reference authoritative server for tests: one
// knotd on a free loopback port, one zone per file, no DNSSEC, no RRL (both are modules or
// policies Knot only applies when configured), answering from a generated knot.conf.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildQuery, decodeMessage, udpExchange } from './dns-client.ts';

/** Knot's EDNS UDP size, set to driad's default (dns.udpPayloadSize). */
export const KNOT_UDP_SIZE = 1232;

export interface KnotZone {
  /** Zone apex, without the trailing dot. */
  origin: string;
  /** Master file Knot loads (copied into Knot's directory). */
  file: string;
  /** Master-file text appended to Knot's copy only. */
  append?: string;
}

export interface Knot {
  port: number;
  /** knotd's stdout and stderr so far. */
  log(): string;
  stop(): Promise<void>;
}

/** True if knotd is on PATH (it lives in /usr/sbin, which a non-root PATH may lack). */
export function knotdPath(): string | null {
  const r = spawnSync('/bin/sh', ['-c', 'command -v knotd || { test -x /usr/sbin/knotd && echo /usr/sbin/knotd; }']);
  const path = r.stdout.toString().trim();
  return r.status === 0 && path !== '' ? path : null;
}

/** A loopback port free for both UDP and TCP right now (knotd binds both). */
export async function freeLoopbackPort(): Promise<number> {
  for (let tries = 0; tries < 20; tries++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
      s.on('error', reject);
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const u = createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no loopback port free for both UDP and TCP after 20 tries');
}

/**
 * The settings that make Knot answer like driad where Knot has a setting for it (see
 * docs/knot-differences.md): no identity or version in the CHAOS class (both then REFUSED),
 * no NSID (Knot's default is the host name), the same EDNS UDP size as driad's default, and
 * Client Subnet echoed with scope 0 as driad does (RFC 7871 §7.2.1).
 */
const MATCH_DRIAD = ['    identity: ""', '    version: ""', '    nsid: ""', `    udp-max-payload: ${KNOT_UDP_SIZE}`, '    edns-client-subnet: on'];

/** Starts knotd and resolves once every zone answers its SOA. Up to 3 tries when a port was taken meanwhile. */
export async function startKnot(zones: KnotZone[]): Promise<Knot> {
  const knotd = knotdPath();
  if (!knotd) throw new Error('knotd is not installed (apt-get install knot)');
  const dir = mkdtempSync(join(tmpdir(), 'driad-knot-'));
  for (const zone of zones) {
    const copy = join(dir, `${zone.origin}.zone`);
    copyFileSync(zone.file, copy);
    if (zone.append !== undefined) writeFileSync(copy, `\n$ORIGIN ${zone.origin}.\n${zone.append}`, { flag: 'a' });
  }
  mkdirSync(join(dir, 'db'));
  for (let attempt = 1; ; attempt++) {
    const port = await freeLoopbackPort();
    const conf = join(dir, 'knot.conf');
    writeFileSync(
      conf,
      [
        'server:',
        `    rundir: "${dir}"`,
        `    listen: 127.0.0.1@${port}`,
        '    udp-workers: 1',
        '    tcp-workers: 1',
        '    background-workers: 1',
        ...MATCH_DRIAD,
        'log:',
        '  - target: stderr',
        '    any: notice',
        'database:',
        `    storage: "${join(dir, 'db')}"`,
        'control:',
        `    listen: "${join(dir, 'knot.sock')}"`,
        'template:',
        '  - id: default',
        `    storage: "${dir}"`,
        '    file: "%s.zone"',
        '    journal-content: none',
        '    zonefile-sync: -1',
        '    zonefile-load: whole',
        'zone:',
        ...zones.map((z) => `  - domain: ${z.origin}`),
        '',
      ].join('\n'),
    );
    const child: ChildProcess = spawn(knotd, ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (c) => (out += c));
    child.stderr?.on('data', (c) => (out += c));
    let exited = false;
    const exit = new Promise<void>((resolve) =>
      child.on('exit', () => {
        exited = true;
        resolve();
      }),
    );
    const halt = async (): Promise<void> => {
      if (exited) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(killer);
    };
    const stop = async (): Promise<void> => {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    };

    const pending = new Set(zones.map((z) => z.origin));
    const deadline = Date.now() + 15_000;
    while (!exited && pending.size > 0 && Date.now() < deadline) {
      for (const origin of [...pending]) {
        try {
          const reply = decodeMessage(await udpExchange(port, buildQuery(origin, 'SOA'), '127.0.0.1', 200));
          if (reply.flag_aa && reply.answers.some((a) => a.type === 'SOA')) pending.delete(origin);
        } catch {
          // not listening yet, or the zone is still loading
        }
      }
      if (pending.size > 0) await new Promise((r) => setTimeout(r, 50));
    }
    if (pending.size === 0) return { port, log: () => out, stop };
    const lostPortRace = exited && /address already in use/i.test(out);
    if (lostPortRace && attempt < 3) {
      await halt();
      continue;
    }
    await stop();
    throw new Error(`knotd did not serve ${[...pending].join(', ')} on port ${port}:\n${out}`);
  }
}
