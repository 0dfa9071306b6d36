// Group records of IGMPv3 (RFC 3376 §4.2.12) and MLDv2 (RFC 3810 §5.2.12) reports, and what each
// one means for the groups a tunnel has joined.

export const RECORD_TYPE = {
  MODE_IS_INCLUDE: 1,
  MODE_IS_EXCLUDE: 2,
  CHANGE_TO_INCLUDE_MODE: 3,
  CHANGE_TO_EXCLUDE_MODE: 4,
  ALLOW_NEW_SOURCES: 5,
  BLOCK_OLD_SOURCES: 6,
} as const;

export type RecordTypeName = keyof typeof RECORD_TYPE;

const NAMES: readonly (RecordTypeName | undefined)[] = [undefined, 'MODE_IS_INCLUDE', 'MODE_IS_EXCLUDE', 'CHANGE_TO_INCLUDE_MODE', 'CHANGE_TO_EXCLUDE_MODE', 'ALLOW_NEW_SOURCES', 'BLOCK_OLD_SOURCES'];

export function recordTypeName(type: number): RecordTypeName | null {
  return NAMES[type] ?? null;
}

export interface GroupRecord {
  /** Record Type, 1-6 (RECORD_TYPE). Decoding refuses other values. */
  type: number;
  /** The multicast address, IPv4 text in IGMPv3, IPv6 text in MLDv2. */
  group: string;
  sources: string[];
  /** Auxiliary data (a multiple of 4 bytes; RFC 3376 and 3810 define none, receivers ignore it). */
  auxData?: Buffer;
}

export type GroupChange = 'join' | 'leave' | 'none';

/**
 * What a record does to the tunnel's membership of its group, read the way SSM receivers (AMT's
 * main use) and IGMPv2/MLDv1 hosts use them:
 *
 * | Record | Sources | Change |
 * | --- | --- | --- |
 * | MODE_IS_INCLUDE, CHANGE_TO_INCLUDE_MODE | some | join (those sources) |
 * | MODE_IS_INCLUDE, CHANGE_TO_INCLUDE_MODE | none | leave (the whole group: RFC 3376's TO_IN({}), an IGMPv2 Leave) |
 * | MODE_IS_EXCLUDE, CHANGE_TO_EXCLUDE_MODE | any | join (any source but those listed: ASM, an IGMPv2 Report) |
 * | ALLOW_NEW_SOURCES | some | join (those sources) |
 * | BLOCK_OLD_SOURCES | some | leave (those sources) |
 * | ALLOW_NEW_SOURCES, BLOCK_OLD_SOURCES | none | none |
 *
 * BLOCK_OLD_SOURCES on a group in EXCLUDE mode adds to the excluded list instead, which a reader
 * without the tunnel's state cannot tell apart; AMT gateways join by source (INCLUDE).
 */
export function groupChange(record: GroupRecord): GroupChange {
  const some = record.sources.length > 0;
  switch (record.type) {
    case RECORD_TYPE.MODE_IS_INCLUDE:
    case RECORD_TYPE.CHANGE_TO_INCLUDE_MODE:
      return some ? 'join' : 'leave';
    case RECORD_TYPE.MODE_IS_EXCLUDE:
    case RECORD_TYPE.CHANGE_TO_EXCLUDE_MODE:
      return 'join';
    case RECORD_TYPE.ALLOW_NEW_SOURCES:
      return some ? 'join' : 'none';
    case RECORD_TYPE.BLOCK_OLD_SOURCES:
      return some ? 'leave' : 'none';
    default:
      return 'none';
  }
}

/** The groups a report joins and leaves, one entry per record that changes something. */
export function groupChanges(records: readonly GroupRecord[]): Array<{ group: string; change: 'join' | 'leave'; sources: string[]; record: RecordTypeName }> {
  const out: Array<{ group: string; change: 'join' | 'leave'; sources: string[]; record: RecordTypeName }> = [];
  for (const r of records) {
    const change = groupChange(r);
    const name = recordTypeName(r.type);
    if (change !== 'none' && name) out.push({ group: r.group, change, sources: r.sources, record: name });
  }
  return out;
}
