/**
 * CDNI Logging Files (RFC 7937 §3) holding driad's AMT tunnel usage records. A file is lines
 * ending in CRLF: directives `#<name>:<HTAB><value>` (§3.3) and records of HTAB-separated field
 * values (§3.4). It opens with `#version: CDNI/1.0`, a `#UUID` (a urn:uuid URN), `#claimed-origin`,
 * `#record-type` and `#fields`, and closes with `#integrity-hash`: the MD5 of every octet before
 * that line (there is no established-origin directive, which §3.3 leaves to the receiver). The
 * record type `amt_tunnel_usage_v1` is driad's own; docs/cdni.md defines it as a registrable type.
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import type { AmtTunnelUsage } from './records.ts';

export const CDNI_VERSION = 'CDNI/1.0';
export const AMT_RECORD_TYPE = 'amt_tunnel_usage_v1';

/** Field names of amt_tunnel_usage_v1, in the order driad writes them (docs/cdni.md). */
export const AMT_FIELDS = [
  'date',
  'time',
  'time-taken',
  's-ip',
  's-hostname',
  'amt-gw-ip',
  'amt-gw-port',
  'amt-group',
  'amt-bytes',
  'amt-packets',
  'amt-sampling',
  'amt-record-id',
] as const;

const CRLF = '\r\n';

export function directive(name: string, value: string): string {
  return `#${name}:\t${value}${CRLF}`;
}

/** The directives that open a file of AMT tunnel usage records. */
export function fileHeader(o: { uuid?: string; claimedOrigin: string }): string {
  return (
    directive('version', CDNI_VERSION) +
    directive('UUID', `urn:uuid:${o.uuid ?? randomUUID()}`) +
    directive('claimed-origin', hostText(o.claimedOrigin)) +
    directive('record-type', AMT_RECORD_TYPE) +
    directive('fields', AMT_FIELDS.join('\t'))
  );
}

/** One record line: the interval's end as `date` and `time` (UTC), its length as `time-taken`. */
export function usageLine(u: AmtTunnelUsage): string {
  const end = new Date(u.start + u.durationMs).toISOString();
  const values = [
    end.slice(0, 10),
    end.slice(11, 23),
    decimal(u.durationMs / 1000),
    u.relayAddress,
    hostText(u.relay),
    u.gateway,
    String(u.gatewayPort),
    u.group ?? '-',
    String(Math.round(u.bytes)),
    String(Math.round(u.packets)),
    decimal(u.samplingRate),
    u.id,
  ];
  return values.join('\t') + CRLF;
}

/** MD5 over the file as it is written; `line()` is the closing `#integrity-hash` directive. */
export class IntegrityHash {
  readonly #md5: Hash = createHash('md5');

  update(text: string): void {
    this.#md5.update(text, 'utf8');
  }

  line(): string {
    return directive('integrity-hash', this.#md5.digest('hex'));
  }
}

/** A whole file, for tests and tools: header, records, integrity hash. */
export function formatCdniFile(records: AmtTunnelUsage[], o: { uuid?: string; claimedOrigin: string }): string {
  const hash = new IntegrityHash();
  const body = fileHeader(o) + records.map(usageLine).join('');
  hash.update(body);
  return body + hash.line();
}

/** DEC (§3.1): digits with an optional fraction, never an exponent. */
function decimal(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '0';
  const text = n.toFixed(6).replace(/0+$/, '').replace(/\.$/, '');
  return text === '' ? '0' : text;
}

/** RFC 3986 `host` as a reg-name: anything outside unreserved characters is percent-encoded. */
function hostText(name: string): string {
  return name.replace(/[^A-Za-z0-9._~-]/g, (c) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
}
