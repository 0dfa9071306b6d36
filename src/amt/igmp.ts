// IGMP messages as AMT carries them: IGMPv3 Membership Query and Report (RFC 3376 §4.1, §4.2),
// IGMPv2 Report and Leave (RFC 2236 §2), without the IPv4 header (membership.ts adds it).

import { formatIpv4, internetChecksum, requireIp } from './inet.ts';
import { recordTypeName, type GroupRecord } from './group-records.ts';
import type { InnerResult, QueryFields } from './membership-types.ts';

export const IGMP_TYPE = { QUERY: 0x11, V1_REPORT: 0x12, V2_REPORT: 0x16, V2_LEAVE: 0x17, V3_REPORT: 0x22 } as const;

export type IgmpMessage =
  | { kind: 'report'; protocol: 'igmpv3' | 'igmpv2'; records: GroupRecord[] }
  | { kind: 'query'; protocol: 'igmpv3'; query: QueryFields };

/** Decodes the IGMP message in `b[start, end)` (the IPv4 payload). */
export function decodeIgmp(b: Buffer, start: number, end: number): InnerResult<IgmpMessage> {
  const len = end - start;
  if (len < 8) return { ok: false, reason: 'short', detail: `IGMP message of ${len} bytes, needs 8` };
  if (internetChecksum(b, start, end) !== 0) return { ok: false, reason: 'checksum', detail: `IGMP checksum 0x${b.readUInt16BE(start + 2).toString(16)} is wrong` };
  const type = b[start] as number;
  switch (type) {
    case IGMP_TYPE.V3_REPORT: {
      const count = b.readUInt16BE(start + 6);
      const records: GroupRecord[] = [];
      let at = start + 8;
      for (let i = 0; i < count; i++) {
        if (end - at < 8) return { ok: false, reason: 'length', detail: `IGMPv3 report: group record ${i + 1} of ${count} is cut off` };
        const rtype = b[at] as number;
        const auxWords = b[at + 1] as number;
        const nsrc = b.readUInt16BE(at + 2);
        const size = 8 + 4 * nsrc + 4 * auxWords;
        if (end - at < size) return { ok: false, reason: 'length', detail: `IGMPv3 report: group record ${i + 1} of ${count} (${nsrc} sources) is cut off` };
        if (!recordTypeName(rtype)) return { ok: false, reason: 'type', detail: `IGMPv3 report: group record ${i + 1} has record type ${rtype}, not 1-6` };
        const sources: string[] = [];
        for (let s = 0; s < nsrc; s++) sources.push(formatIpv4(b, at + 8 + 4 * s));
        const record: GroupRecord = { type: rtype, group: formatIpv4(b, at + 4), sources };
        if (auxWords > 0) record.auxData = Buffer.from(b.subarray(at + 8 + 4 * nsrc, at + size));
        records.push(record);
        at += size;
      }
      return { ok: true, value: { kind: 'report', protocol: 'igmpv3', records } };
    }
    case IGMP_TYPE.V2_REPORT:
    case IGMP_TYPE.V2_LEAVE: {
      // RFC 3376 §7.3.2: a v2 Report is IS_EX({}) and a Leave is TO_IN({}) for the group.
      const group = formatIpv4(b, start + 4);
      const rtype = type === IGMP_TYPE.V2_REPORT ? 2 : 3;
      return { ok: true, value: { kind: 'report', protocol: 'igmpv2', records: [{ type: rtype, group, sources: [] }] } };
    }
    case IGMP_TYPE.QUERY: {
      if (len < 12) return { ok: false, reason: 'type', detail: `IGMP query of ${len} bytes is IGMPv1/v2, not IGMPv3 (12 bytes or more)` };
      const nsrc = b.readUInt16BE(start + 10);
      if (len < 12 + 4 * nsrc) return { ok: false, reason: 'length', detail: `IGMPv3 query lists ${nsrc} sources in ${len} bytes` };
      const sources: string[] = [];
      for (let s = 0; s < nsrc; s++) sources.push(formatIpv4(b, start + 12 + 4 * s));
      const flags = b[start + 8] as number;
      const group = formatIpv4(b, start + 4);
      return {
        ok: true,
        value: {
          kind: 'query',
          protocol: 'igmpv3',
          query: { maxRespCode: b[start + 1] as number, group, suppress: (flags & 0x08) !== 0, qrv: flags & 0x07, qqic: b[start + 9] as number, sources },
        },
      };
    }
    default:
      return { ok: false, reason: 'type', detail: `IGMP type 0x${type.toString(16)} is not a query or a report` };
  }
}

export function igmpv3Report(records: readonly GroupRecord[]): Buffer {
  if (records.length > 0xffff) throw new RangeError(`${records.length} group records do not fit in one report`);
  const size = records.reduce((n, r) => n + 8 + 4 * r.sources.length + (r.auxData?.length ?? 0), 8);
  const b = Buffer.alloc(size);
  b[0] = IGMP_TYPE.V3_REPORT;
  b.writeUInt16BE(records.length, 6);
  let at = 8;
  for (const r of records) {
    if (!recordTypeName(r.type)) throw new RangeError(`record type ${r.type} is not 1-6`);
    const aux = r.auxData ?? Buffer.alloc(0);
    if (aux.length % 4 !== 0 || aux.length / 4 > 255) throw new RangeError(`auxiliary data of ${aux.length} bytes is not 0-255 words`);
    if (r.sources.length > 0xffff) throw new RangeError(`${r.sources.length} sources do not fit in a group record`);
    b[at] = r.type;
    b[at + 1] = aux.length / 4;
    b.writeUInt16BE(r.sources.length, at + 2);
    requireIp(r.group, 'group', 4).copy(b, at + 4);
    r.sources.forEach((s, i) => requireIp(s, 'source', 4).copy(b, at + 8 + 4 * i));
    Buffer.from(aux).copy(b, at + 8 + 4 * r.sources.length);
    at += 8 + 4 * r.sources.length + aux.length;
  }
  b.writeUInt16BE(internetChecksum(b), 2);
  return b;
}

export function igmpv3Query(q: QueryFields): Buffer {
  const b = Buffer.alloc(12 + 4 * q.sources.length);
  b[0] = IGMP_TYPE.QUERY;
  b[1] = byte(q.maxRespCode, 'maxRespCode');
  requireIp(q.group, 'group', 4).copy(b, 4);
  if (!Number.isInteger(q.qrv) || q.qrv < 0 || q.qrv > 7) throw new RangeError(`qrv ${q.qrv} is not 0-7`);
  b[8] = (q.suppress ? 0x08 : 0) | q.qrv;
  b[9] = byte(q.qqic, 'qqic');
  b.writeUInt16BE(q.sources.length, 10);
  q.sources.forEach((s, i) => requireIp(s, 'source', 4).copy(b, 12 + 4 * i));
  b.writeUInt16BE(internetChecksum(b), 2);
  return b;
}

function byte(n: number, field: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new RangeError(`${field} ${n} is not 0-255`);
  return n;
}
