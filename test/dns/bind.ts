// Helpers to check driad's encodings against BIND's own, through named-compilezone.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NAMED_COMPILEZONE = 'named-compilezone';
export const NAMED_CHECKZONE = 'named-checkzone';

export function hasBinary(path: string): boolean {
  return spawnSync(path, ['-v']).error === undefined;
}

export type RawRecord = { owner: string; type: number; ttl: number; rdata: Buffer[] };

/** Compiles zone text with named-compilezone and returns the text it writes back. */
export function compileToText(origin: string, zoneText: string): string {
  return withZoneFile(zoneText, (zoneFile) =>
    execFileSync(NAMED_COMPILEZONE, ['-q', '-s', 'full', '-F', 'text', '-o', '-', origin, zoneFile], { encoding: 'utf8' }),
  );
}

/** Compiles zone text to BIND's raw format and reads each RRset's wire-format rdata. */
export function compileToWire(origin: string, zoneText: string): RawRecord[] {
  return withZoneFile(zoneText, (zoneFile, dir) => {
    const out = join(dir, 'zone.raw');
    execFileSync(NAMED_COMPILEZONE, ['-q', '-F', 'raw', '-o', out, origin, zoneFile]);
    return parseRawFormat(readFileSync(out));
  });
}

/** Compiles a zone file in place (from `workdir`, where BIND resolves $INCLUDE) to raw format. */
export function compileFileToWire(origin: string, file: string, workdir: string): RawRecord[] {
  const dir = mkdtempSync(join(tmpdir(), 'driad-bind-'));
  try {
    const out = join(dir, 'zone.raw');
    execFileSync(NAMED_COMPILEZONE, ['-q', '-w', workdir, '-F', 'raw', '-o', out, origin, file]);
    return parseRawFormat(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function withZoneFile<T>(zoneText: string, fn: (zoneFile: string, dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'driad-bind-'));
  try {
    const zoneFile = join(dir, 'zone.db');
    writeFileSync(zoneFile, zoneText);
    return fn(zoneFile, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// BIND raw format (lib/dns/include/dns/rawformat.h), version 1: a 24-byte header, then per
// RRset: u32 total length, u16 class, u16 type, u16 covers, u32 ttl, u32 count, u16 + owner
// name, and count times u16 + rdata.
function parseRawFormat(buf: Buffer): RawRecord[] {
  if (buf.readUInt32BE(0) !== 2 || buf.readUInt32BE(4) !== 1) throw new Error('not BIND raw format version 1');
  const records: RawRecord[] = [];
  let pos = 24;
  while (pos < buf.length) {
    const end = pos + buf.readUInt32BE(pos);
    const type = buf.readUInt16BE(pos + 6);
    const ttl = buf.readUInt32BE(pos + 10);
    const count = buf.readUInt32BE(pos + 14);
    const ownerLength = buf.readUInt16BE(pos + 18);
    const owner = wireNameToText(buf.subarray(pos + 20, pos + 20 + ownerLength));
    let p = pos + 20 + ownerLength;
    const rdata: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const length = buf.readUInt16BE(p);
      rdata.push(Buffer.from(buf.subarray(p + 2, p + 2 + length)));
      p += 2 + length;
    }
    if (p !== end) throw new Error(`raw format RRset length mismatch at ${pos}`);
    records.push({ owner, type, ttl, rdata });
    pos = end;
  }
  return records;
}

function wireNameToText(wire: Buffer): string {
  const labels: string[] = [];
  for (let p = 0; wire[p]! > 0; p += wire[p]! + 1) labels.push(wire.toString('latin1', p + 1, p + 1 + wire[p]!));
  return labels.join('.');
}
