// MLD messages as AMT carries them: MLDv2 Query and Report (RFC 3810 §5.1, §5.2), MLDv1 Report
// and Done (RFC 2710 §3), without the IPv6 header (membership.ts adds it). ICMPv6 checksums
// cover a pseudo-header, so every function takes the packet's source and destination bytes.

import { formatIpv6, internetChecksum, IPPROTO, pseudoHeaderSum, requireIp } from './inet.ts';
import { recordTypeName, type GroupRecord } from './group-records.ts';
import type { InnerResult, QueryFields } from './membership-types.ts';

export const MLD_TYPE = { QUERY: 130, V1_REPORT: 131, V1_DONE: 132, V2_REPORT: 143 } as const;

export type MldMessage =
  | { kind: 'report'; protocol: 'mldv2' | 'mldv1'; records: GroupRecord[] }
  | { kind: 'query'; protocol: 'mldv2'; query: QueryFields };

/** Decodes the ICMPv6 message in `b[start, end)`, sent from `src` to `dst` (16 bytes each). */
export function decodeMld(b: Buffer, start: number, end: number, src: Uint8Array, dst: Uint8Array): InnerResult<MldMessage> {
  const len = end - start;
  if (len < 8) return { ok: false, reason: 'short', detail: `ICMPv6 message of ${len} bytes, needs 8` };
  if (internetChecksum(b, start, end, pseudoHeaderSum(src, dst, IPPROTO.ICMPV6, len)) !== 0) {
    return { ok: false, reason: 'checksum', detail: `ICMPv6 checksum 0x${b.readUInt16BE(start + 2).toString(16)} is wrong` };
  }
  const type = b[start] as number;
  switch (type) {
    case MLD_TYPE.V2_REPORT: {
      const count = b.readUInt16BE(start + 6);
      const records: GroupRecord[] = [];
      let at = start + 8;
      for (let i = 0; i < count; i++) {
        if (end - at < 20) return { ok: false, reason: 'length', detail: `MLDv2 report: address record ${i + 1} of ${count} is cut off` };
        const rtype = b[at] as number;
        const auxWords = b[at + 1] as number;
        const nsrc = b.readUInt16BE(at + 2);
        const size = 20 + 16 * nsrc + 4 * auxWords;
        if (end - at < size) return { ok: false, reason: 'length', detail: `MLDv2 report: address record ${i + 1} of ${count} (${nsrc} sources) is cut off` };
        if (!recordTypeName(rtype)) return { ok: false, reason: 'type', detail: `MLDv2 report: address record ${i + 1} has record type ${rtype}, not 1-6` };
        const sources: string[] = [];
        for (let s = 0; s < nsrc; s++) sources.push(formatIpv6(b, at + 20 + 16 * s));
        const record: GroupRecord = { type: rtype, group: formatIpv6(b, at + 4), sources };
        if (auxWords > 0) record.auxData = Buffer.from(b.subarray(at + 20 + 16 * nsrc, at + size));
        records.push(record);
        at += size;
      }
      return { ok: true, value: { kind: 'report', protocol: 'mldv2', records } };
    }
    case MLD_TYPE.V1_REPORT:
    case MLD_TYPE.V1_DONE: {
      if (len < 24) return { ok: false, reason: 'short', detail: `MLDv1 message of ${len} bytes, needs 24` };
      // RFC 3810 §8.3.2: a v1 Report is IS_EX({}) and a Done is TO_IN({}) for the address.
      const rtype = type === MLD_TYPE.V1_REPORT ? 2 : 3;
      return { ok: true, value: { kind: 'report', protocol: 'mldv1', records: [{ type: rtype, group: formatIpv6(b, start + 8), sources: [] }] } };
    }
    case MLD_TYPE.QUERY: {
      if (len < 28) return { ok: false, reason: 'type', detail: `MLD query of ${len} bytes is MLDv1, not MLDv2 (28 bytes or more)` };
      const nsrc = b.readUInt16BE(start + 26);
      if (len < 28 + 16 * nsrc) return { ok: false, reason: 'length', detail: `MLDv2 query lists ${nsrc} sources in ${len} bytes` };
      const sources: string[] = [];
      for (let s = 0; s < nsrc; s++) sources.push(formatIpv6(b, start + 28 + 16 * s));
      const flags = b[start + 24] as number;
      return {
        ok: true,
        value: {
          kind: 'query',
          protocol: 'mldv2',
          query: { maxRespCode: b.readUInt16BE(start + 4), group: formatIpv6(b, start + 8), suppress: (flags & 0x08) !== 0, qrv: flags & 0x07, qqic: b[start + 25] as number, sources },
        },
      };
    }
    default:
      return { ok: false, reason: 'type', detail: `ICMPv6 type ${type} is not an MLD query or report` };
  }
}

export function mldv2Report(records: readonly GroupRecord[], src: Uint8Array, dst: Uint8Array): Buffer {
  if (records.length > 0xffff) throw new RangeError(`${records.length} address records do not fit in one report`);
  const size = records.reduce((n, r) => n + 20 + 16 * r.sources.length + (r.auxData?.length ?? 0), 8);
  const b = Buffer.alloc(size);
  b[0] = MLD_TYPE.V2_REPORT;
  b.writeUInt16BE(records.length, 6);
  let at = 8;
  for (const r of records) {
    if (!recordTypeName(r.type)) throw new RangeError(`record type ${r.type} is not 1-6`);
    const aux = r.auxData ?? Buffer.alloc(0);
    if (aux.length % 4 !== 0 || aux.length / 4 > 255) throw new RangeError(`auxiliary data of ${aux.length} bytes is not 0-255 words`);
    if (r.sources.length > 0xffff) throw new RangeError(`${r.sources.length} sources do not fit in an address record`);
    b[at] = r.type;
    b[at + 1] = aux.length / 4;
    b.writeUInt16BE(r.sources.length, at + 2);
    requireIp(r.group, 'group', 6).copy(b, at + 4);
    r.sources.forEach((s, i) => requireIp(s, 'source', 6).copy(b, at + 20 + 16 * i));
    Buffer.from(aux).copy(b, at + 20 + 16 * r.sources.length);
    at += 20 + 16 * r.sources.length + aux.length;
  }
  b.writeUInt16BE(internetChecksum(b, 0, size, pseudoHeaderSum(src, dst, IPPROTO.ICMPV6, size)), 2);
  return b;
}

export function mldv2Query(q: QueryFields, src: Uint8Array, dst: Uint8Array): Buffer {
  const b = Buffer.alloc(28 + 16 * q.sources.length);
  b[0] = MLD_TYPE.QUERY;
  if (!Number.isInteger(q.maxRespCode) || q.maxRespCode < 0 || q.maxRespCode > 0xffff) throw new RangeError(`maxRespCode ${q.maxRespCode} is not 0-65535`);
  b.writeUInt16BE(q.maxRespCode, 4);
  requireIp(q.group, 'group', 6).copy(b, 8);
  if (!Number.isInteger(q.qrv) || q.qrv < 0 || q.qrv > 7) throw new RangeError(`qrv ${q.qrv} is not 0-7`);
  b[24] = (q.suppress ? 0x08 : 0) | q.qrv;
  if (!Number.isInteger(q.qqic) || q.qqic < 0 || q.qqic > 255) throw new RangeError(`qqic ${q.qqic} is not 0-255`);
  b[25] = q.qqic;
  b.writeUInt16BE(q.sources.length, 26);
  q.sources.forEach((s, i) => requireIp(s, 'source', 6).copy(b, 28 + 16 * i));
  b.writeUInt16BE(internetChecksum(b, 0, b.length, pseudoHeaderSum(src, dst, IPPROTO.ICMPV6, b.length)), 2);
  return b;
}
