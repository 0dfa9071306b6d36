// The classic libpcap file format (what `tcpdump -w` writes; not pcapng): a 24-byte file header,
// then per packet a 16-byte record header and the captured bytes. Written little-endian by
// default; read in either byte order, with microsecond (0xa1b2c3d4) or nanosecond (0xa1b23c4d)
// timestamps. The reader is incremental, for `tcpdump -w -` on a pipe, and never throws.

export const LINKTYPE = {
  ETHERNET: 1,
  RAW: 101,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
const MAGIC_PCAPNG = 0x0a0d0d0a;
const FILE_HEADER = 24;
const RECORD_HEADER = 16;
/** Largest record the reader takes whatever the snaplen says (tcpdump's maximum snaplen). */
export const MAX_RECORD = 262_144;

export interface PcapHeader {
  linktype: number;
  snaplen: number;
  /** Timestamps in nanoseconds (magic 0xa1b23c4d) instead of microseconds. */
  nanosecond: boolean;
  littleEndian: boolean;
  versionMajor: number;
  versionMinor: number;
}

export interface PcapRecord {
  /** Seconds since the epoch. */
  seconds: number;
  /** Nanoseconds within the second (a microsecond file's values times 1000). */
  nanos: number;
  /** The on-the-wire length; more than `data.length` when the capture was cut at the snaplen. */
  originalLength: number;
  data: Buffer;
}

export type PcapErrorReason = 'bad-magic' | 'pcapng' | 'bad-header' | 'record-too-long' | 'truncated';

export interface PcapError {
  reason: PcapErrorReason;
  detail: string;
}

export interface PcapHeaderOptions {
  linktype: number;
  snaplen?: number;
  nanosecond?: boolean;
  littleEndian?: boolean;
}

export function pcapFileHeader(o: PcapHeaderOptions): Buffer {
  const b = Buffer.alloc(FILE_HEADER);
  const le = o.littleEndian !== false;
  const u32 = (v: number, at: number): number => (le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  const u16 = (v: number, at: number): number => (le ? b.writeUInt16LE(v, at) : b.writeUInt16BE(v, at));
  u32(o.nanosecond ? MAGIC_NS : MAGIC_US, 0);
  u16(2, 4);
  u16(4, 6);
  u32(0, 8); // thiszone
  u32(0, 12); // sigfigs
  u32(o.snaplen ?? MAX_RECORD, 16);
  u32(o.linktype, 20);
  return b;
}

/** One record as `pcapFileHeader(o)` announced (same byte order and timestamp unit). */
export function pcapRecord(o: PcapHeaderOptions, r: { seconds: number; nanos?: number; data: Uint8Array; originalLength?: number }): Buffer {
  const b = Buffer.alloc(RECORD_HEADER + r.data.length);
  const le = o.littleEndian !== false;
  const u32 = (v: number, at: number): number => (le ? b.writeUInt32LE(v, at) : b.writeUInt32BE(v, at));
  const nanos = r.nanos ?? 0;
  if (!Number.isInteger(nanos) || nanos < 0 || nanos >= 1e9) throw new RangeError(`nanos ${nanos} is not within a second`);
  u32(r.seconds, 0);
  u32(o.nanosecond ? nanos : Math.floor(nanos / 1000), 4);
  u32(r.data.length, 8);
  u32(r.originalLength ?? r.data.length, 12);
  Buffer.from(r.data).copy(b, RECORD_HEADER);
  return b;
}

/** A whole pcap file. */
export function writePcap(o: PcapHeaderOptions, records: ReadonlyArray<{ seconds: number; nanos?: number; data: Uint8Array; originalLength?: number }>): Buffer {
  return Buffer.concat([pcapFileHeader(o), ...records.map((r) => pcapRecord(o, r))]);
}

export type PcapEvent = { kind: 'header'; header: PcapHeader } | { kind: 'record'; record: PcapRecord } | { kind: 'error'; error: PcapError };

/**
 * Reads a pcap stream chunk by chunk: `push` returns what the bytes so far complete. After an
 * error nothing more is read (the record boundaries are lost). `end()` reports a stream that
 * stopped inside a header or record.
 */
export class PcapReader {
  #pending: Buffer = Buffer.alloc(0);
  #header: PcapHeader | null = null;
  #failed = false;

  get header(): PcapHeader | null {
    return this.#header;
  }

  get failed(): boolean {
    return this.#failed;
  }

  push(chunk: Uint8Array): PcapEvent[] {
    if (this.#failed) return [];
    this.#pending = this.#pending.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#pending, chunk]);
    const events: PcapEvent[] = [];
    let at = 0;
    const b = this.#pending;
    if (!this.#header) {
      if (b.length < FILE_HEADER) return events;
      const parsed = parseFileHeader(b);
      if ('reason' in parsed) return this.#fail(events, parsed);
      this.#header = parsed;
      events.push({ kind: 'header', header: parsed });
      at = FILE_HEADER;
    }
    const h = this.#header;
    const u32 = (o: number): number => (h.littleEndian ? b.readUInt32LE(o) : b.readUInt32BE(o));
    while (b.length - at >= RECORD_HEADER) {
      const incl = u32(at + 8);
      const orig = u32(at + 12);
      const frac = u32(at + 4);
      if (incl > MAX_RECORD) {
        this.#pending = Buffer.alloc(0);
        return this.#fail(events, { reason: 'record-too-long', detail: `record of ${incl} bytes at offset ${at} is longer than ${MAX_RECORD}` });
      }
      if (!h.nanosecond ? frac >= 1e6 : frac >= 1e9) {
        this.#pending = Buffer.alloc(0);
        return this.#fail(events, { reason: 'bad-header', detail: `record at offset ${at} has a fraction of a second of ${frac}` });
      }
      if (b.length - at - RECORD_HEADER < incl) break;
      const data = Buffer.from(b.subarray(at + RECORD_HEADER, at + RECORD_HEADER + incl));
      events.push({ kind: 'record', record: { seconds: u32(at), nanos: h.nanosecond ? frac : frac * 1000, originalLength: orig, data } });
      at += RECORD_HEADER + incl;
    }
    this.#pending = at === 0 ? b : Buffer.from(b.subarray(at));
    return events;
  }

  /** An error event if the stream ended inside the file header or a record, else nothing. */
  end(): PcapEvent[] {
    if (this.#failed || this.#pending.length === 0) return [];
    const where = this.#header ? 'a record' : 'the file header';
    const n = this.#pending.length;
    this.#pending = Buffer.alloc(0);
    return this.#fail([], { reason: 'truncated', detail: `the stream ended ${n} bytes into ${where}` });
  }

  #fail(events: PcapEvent[], error: PcapError): PcapEvent[] {
    this.#failed = true;
    events.push({ kind: 'error', error });
    return events;
  }
}

function parseFileHeader(b: Buffer): PcapHeader | PcapError {
  const le = b.readUInt32LE(0);
  let littleEndian: boolean;
  let nanosecond: boolean;
  if (le === MAGIC_US || le === MAGIC_NS) {
    littleEndian = true;
    nanosecond = le === MAGIC_NS;
  } else {
    const be = b.readUInt32BE(0);
    if (be === MAGIC_US || be === MAGIC_NS) {
      littleEndian = false;
      nanosecond = be === MAGIC_NS;
    } else if (be === MAGIC_PCAPNG) {
      return { reason: 'pcapng', detail: 'a pcapng file; write classic pcap (tcpdump -w, or editcap -F pcap)' };
    } else {
      return { reason: 'bad-magic', detail: `magic 0x${be.toString(16).padStart(8, '0')} is not a pcap file's` };
    }
  }
  const u16 = (o: number): number => (littleEndian ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number): number => (littleEndian ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const versionMajor = u16(4);
  const versionMinor = u16(6);
  if (versionMajor !== 2) return { reason: 'bad-header', detail: `pcap version ${versionMajor}.${versionMinor}, not 2.x` };
  // The link type is the low 16 bits; the upper ones may carry FCS information (pcap-linktype(7)).
  return { linktype: u32(20) & 0xffff, snaplen: u32(16), nanosecond, littleEndian, versionMajor, versionMinor };
}

/** Reads a whole pcap file held in memory. */
export function readPcap(bytes: Uint8Array): { ok: true; header: PcapHeader; records: PcapRecord[] } | { ok: false; error: PcapError; header: PcapHeader | null; records: PcapRecord[] } {
  const reader = new PcapReader();
  const records: PcapRecord[] = [];
  let error: PcapError | null = null;
  for (const e of [...reader.push(bytes), ...reader.end()]) {
    if (e.kind === 'record') records.push(e.record);
    else if (e.kind === 'error') error = e.error;
  }
  const header = reader.header;
  if (error) return { ok: false, error, header, records };
  if (!header) return { ok: false, error: { reason: 'truncated', detail: 'no file header' }, header, records };
  return { ok: true, header, records };
}
