import { spawnSync } from 'node:child_process';
import type { ExecutionContext } from 'ava';
import { IpfixDecoder, type DecodeResult, type IpfixDecoderOptions, type IpfixSource } from '../../src/ipfix/decoder.ts';
import type { FlowRecord } from '../../src/ipfix/compile.ts';

export const MX: IpfixSource = { address: '192.0.2.1', port: 50101 };

/** A clock the test moves by hand. */
export function manualClock(start = 1000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

export function decoder(options: Partial<IpfixDecoderOptions> = {}): IpfixDecoder {
  return new IpfixDecoder({ fields: ['sourceIPv4Address', 'destinationIPv4Address', 'sourceTransportPort', 'destinationTransportPort', 'octetDeltaCount', 'packetDeltaCount'], ...options });
}

/** Decodes and insists on success. */
export function ok(t: ExecutionContext, r: DecodeResult): Extract<DecodeResult, { ok: true }> {
  if (!r.ok) {
    t.fail(`decode failed: ${r.kind}: ${r.reason}`);
    throw new Error('unreachable');
  }
  return r;
}

export function recordsOf(r: DecodeResult): FlowRecord[] {
  return r.ok ? r.sets.flatMap((s) => s.records) : [];
}

/** Drops the keys whose value is undefined (fields the template did not have). */
export function present(record: FlowRecord): FlowRecord {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}

/** True if `bin` is on PATH. */
export function installed(bin: string): boolean {
  return spawnSync('/bin/sh', ['-c', 'command -v "$1"', 'sh', bin]).status === 0;
}
