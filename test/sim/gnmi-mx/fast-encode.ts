/**
 * A direct protobuf encoder for the SubscribeResponses the simulator sends, so that one simulator
 * process can feed a benchmark faster than protobufjs's fromObject + encode allows. It covers
 * exactly the shapes render.ts and server.ts produce (Notification with timestamp, prefix, updates
 * with uint/int/string/json values, deletes; extensions with a registered extension) and writes
 * the same bytes as the generic encoder (fast-encode.test.ts compares them).
 */
import type { ExtensionMsg, NotificationMsg, PathMsg, SubscribeResponseMsg, TypedValueMsg } from '../../../src/collectors/gnmi/wire/types.ts';

class Writer {
  buf = Buffer.allocUnsafe(1 << 16);
  pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  varint(v: number): void {
    this.room(10);
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  /** A 64-bit integer given as decimal text, number or bigint (negative: two's complement). */
  int64(v: string | number | bigint): void {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return this.varint(v);
    if (typeof v === 'string' && v.length < 16 && v[0] !== '-') return this.varint(Number(v));
    this.bigVarint(BigInt(v));
  }

  bigVarint(v: bigint): void {
    this.room(10);
    let x = BigInt.asUintN(64, v);
    while (x > 0x7fn) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  bytes(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(b.length);
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  string(field: number, s: string): void {
    const n = Buffer.byteLength(s);
    this.tag(field, 2);
    this.varint(n);
    this.room(n);
    this.pos += this.buf.write(s, this.pos);
  }

  /** A length-delimited sub-message written by `body`. */
  message(field: number, body: () => void): void {
    this.tag(field, 2);
    const lenAt = this.pos;
    this.room(5);
    this.pos += 5; // room for the length, moved down afterwards if shorter
    const start = this.pos;
    body();
    const len = this.pos - start;
    let lenBytes = 1;
    for (let v = len; v > 0x7f; v = Math.floor(v / 128)) lenBytes++;
    this.buf.copyWithin(lenAt + lenBytes, start, this.pos);
    this.pos = lenAt;
    this.varint(len);
    this.pos += len;
  }

  result(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }
}

const shared = new Writer(); // reused: encoding is synchronous, and result() copies out

function path(w: Writer, p: PathMsg): void {
  if (p.origin) w.string(2, p.origin);
  for (const e of p.elem ?? []) {
    w.message(3, () => {
      if (e.name) w.string(1, e.name);
      const key = e.key;
      if (key) for (const k of Object.keys(key)) w.message(2, () => {
        w.string(1, k);
        w.string(2, key[k]!);
      });
    });
  }
  if (p.target) w.string(4, p.target);
}

function typedValue(w: Writer, v: TypedValueMsg): void {
  if (v.string_val !== undefined) w.string(1, v.string_val);
  else if (v.int_val !== undefined) {
    w.tag(2, 0);
    w.int64(v.int_val);
  } else if (v.uint_val !== undefined) {
    w.tag(3, 0);
    w.int64(v.uint_val);
  } else if (v.json_val !== undefined) w.bytes(10, v.json_val);
  else if (v.json_ietf_val !== undefined) w.bytes(11, v.json_ietf_val);
  else if (Object.keys(v).length > 0) throw new Error(`fast-encode: unsupported TypedValue ${Object.keys(v).join(',')}`);
}

function notification(w: Writer, n: NotificationMsg): void {
  if (n.timestamp !== undefined && BigInt(n.timestamp) !== 0n) {
    w.tag(1, 0);
    w.int64(n.timestamp);
  }
  if (n.prefix) w.message(2, () => path(w, n.prefix!));
  for (const u of n.update ?? []) {
    w.message(4, () => {
      if (u.path) w.message(1, () => path(w, u.path!));
      if (u.val) w.message(3, () => typedValue(w, u.val!));
    });
  }
  for (const d of n.delete ?? []) w.message(5, () => path(w, d));
}

function extension(w: Writer, e: ExtensionMsg): void {
  const r = e.registered_ext;
  if (!r) throw new Error('fast-encode: only registered extensions');
  w.message(1, () => {
    if (typeof r.id === 'number' && r.id !== 0) {
      w.tag(1, 0);
      w.varint(r.id);
    }
    if (r.msg?.length) w.bytes(2, r.msg);
  });
}

/** The serialised SubscribeResponse: an update or a sync_response, with extensions. */
export function encodeSubscribeResponse(r: SubscribeResponseMsg): Buffer {
  const w = shared;
  w.pos = 0;
  if (r.update) w.message(1, () => notification(w, r.update!));
  else if (r.sync_response) {
    w.tag(3, 0);
    w.varint(1);
  }
  for (const e of r.extension ?? []) w.message(5, () => extension(w, e));
  return w.result();
}
