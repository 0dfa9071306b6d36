/**
 * The on-disk framing of spool records. A segment file starts with an 8-octet magic, then frames:
 *
 *   u32 body length | u32 CRC-32 of the body | body
 *   body = u32 seq high | u32 seq low | f64 appended-at (epoch ms) | JSON of the record (UTF-8)
 *
 * Length and checksum together tell a complete frame from a torn one (a write cut short by a crash
 * or power loss leaves a short or mismatching tail). Readers never throw: a bad frame is a value.
 */
import { crc32 } from 'node:zlib';

export const SEGMENT_MAGIC = Buffer.from('DRSPOOL1', 'latin1');
export const FRAME_HEADER = 8;
const BODY_HEADER = 16;
/** A record larger than this is refused on append and taken as corruption on read. */
export const MAX_BODY = 1 << 20;

export interface SpoolFrame {
  seq: number;
  /** Epoch ms at which the spool accepted the record. */
  at: number;
  /** Octets of the whole frame, header included. */
  size: number;
  /** The record's JSON text. */
  json: string;
}

export type FrameRead = { ok: true; frame: SpoolFrame } | { ok: false; reason: string; incomplete: boolean };

export function encodeFrame(seq: number, at: number, json: string): Buffer {
  const jsonLength = Buffer.byteLength(json);
  const frame = Buffer.allocUnsafe(FRAME_HEADER + BODY_HEADER + jsonLength);
  frame.writeUInt32BE(BODY_HEADER + jsonLength, 0);
  frame.writeUInt32BE(Math.floor(seq / 2 ** 32), 8);
  frame.writeUInt32BE(seq >>> 0, 12);
  frame.writeDoubleBE(at, 16);
  frame.write(json, FRAME_HEADER + BODY_HEADER, 'utf8');
  frame.writeUInt32BE(crc32(frame.subarray(FRAME_HEADER)), 4);
  return frame;
}

/** Reads the frame at `offset` of `b`; `incomplete` when the bytes simply end inside it. */
export function readFrame(b: Buffer, offset: number): FrameRead {
  const left = b.length - offset;
  if (left < FRAME_HEADER) return { ok: false, reason: `${left} octets where a frame header (8) was due`, incomplete: true };
  const length = b.readUInt32BE(offset);
  if (length < BODY_HEADER || length > MAX_BODY) return { ok: false, reason: `frame length ${length} is impossible`, incomplete: false };
  if (left < FRAME_HEADER + length) return { ok: false, reason: `frame of ${length} octets cut off after ${left - FRAME_HEADER}`, incomplete: true };
  const body = b.subarray(offset + FRAME_HEADER, offset + FRAME_HEADER + length);
  if (crc32(body) !== b.readUInt32BE(offset + 4)) return { ok: false, reason: 'checksum mismatch', incomplete: false };
  return {
    ok: true,
    frame: {
      seq: body.readUInt32BE(0) * 2 ** 32 + body.readUInt32BE(4),
      at: body.readDoubleBE(8),
      size: FRAME_HEADER + length,
      json: body.toString('utf8', BODY_HEADER),
    },
  };
}

/** The seq and append time of a frame from its first 24 octets (no checksum: for gauges only). */
export function peekFrame(head: Buffer): { seq: number; at: number } | null {
  if (head.length < FRAME_HEADER + BODY_HEADER) return null;
  return { seq: head.readUInt32BE(8) * 2 ** 32 + head.readUInt32BE(12), at: head.readDoubleBE(16) };
}

export const PEEK_BYTES = FRAME_HEADER + BODY_HEADER;
