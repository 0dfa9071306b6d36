// A raw HTTP/2 client for the limit tests: frames written by hand (RFC 9113 §4, HPACK RFC 7541
// literals without Huffman) over node:tls, so a test can do what well-behaved clients (Node's,
// curl's) refuse to: ignore the server's SETTINGS, open more streams than it allows, reset
// streams as fast as it can. It reads the server's frames back and keeps what the tests look at.

import { connect, type TLSSocket } from 'node:tls';

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, GOAWAY: 7, WINDOW_UPDATE: 8 } as const;
export const FLAG = { END_STREAM: 0x1, END_HEADERS: 0x4 } as const;
export const H2_ERROR = { NO_ERROR: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2, REFUSED_STREAM: 7, CANCEL: 8, ENHANCE_YOUR_CALM: 11 } as const;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** RFC 7541 §5.1: an integer with an N-bit prefix, the prefix's other bits set to `high`. */
function hpackInt(value: number, prefixBits: number, high: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [high | value];
  const out = [high | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

/** A header block of literals without indexing (§6.2.2), names and values as plain octets. */
export function headerBlock(headers: Array<[string, string]>): Buffer {
  const bytes: number[] = [];
  for (const [name, value] of headers) {
    bytes.push(0x00, ...hpackInt(name.length, 7, 0), ...Buffer.from(name, 'latin1'));
    bytes.push(...hpackInt(value.length, 7, 0), ...Buffer.from(value, 'latin1'));
  }
  return Buffer.from(bytes);
}

export function headersFrame(streamId: number, headers: Array<[string, string]>, endStream: boolean): Buffer {
  return frame(FRAME.HEADERS, FLAG.END_HEADERS | (endStream ? FLAG.END_STREAM : 0), streamId, headerBlock(headers));
}

export function rstFrame(streamId: number, code: number): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, streamId, p);
}

export interface RawH2 {
  socket: TLSSocket;
  write(bytes: Buffer): void;
  /** Stream ids the server sent HEADERS on (its responses). */
  responses: Set<number>;
  /** The DATA the server sent, per stream (padding is not used by the servers under test). */
  bodies: Map<number, Buffer>;
  /** RST_STREAM frames from the server: stream id to error code. */
  resets: Map<number, number>;
  goaway: { lastStreamId: number; code: number } | null;
  closed: boolean;
  settingsSeen: number;
}

/** SETTINGS_INITIAL_WINDOW_SIZE and a connection WINDOW_UPDATE to 2^31-1: flow control never stops the server. */
function hugeWindows(): Buffer {
  const settings = Buffer.alloc(6);
  settings.writeUInt16BE(0x4, 0);
  settings.writeUInt32BE(0x7fffffff, 2);
  const increment = Buffer.alloc(4);
  increment.writeUInt32BE(0x7fffffff - 65535);
  return Buffer.concat([frame(FRAME.SETTINGS, 0, 0, settings), frame(FRAME.WINDOW_UPDATE, 0, 0, increment)]);
}

/**
 * Connects with ALPN h2 and sends the preface and SETTINGS with windows so large that only TCP
 * holds the server back; never ACKs the server's SETTINGS.
 */
export function rawH2(port: number, ca: string | Buffer): Promise<RawH2> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['h2'] });
    const conn: RawH2 = {
      socket,
      write: (bytes) => {
        if (!socket.destroyed) socket.write(bytes);
      },
      responses: new Set(),
      bodies: new Map(),
      resets: new Map(),
      goaway: null,
      closed: false,
      settingsSeen: 0,
    };
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        const type = pending[3]!;
        const id = pending.readUInt32BE(5) & 0x7fffffff;
        const payload = pending.subarray(9, 9 + length);
        if (type === FRAME.HEADERS) conn.responses.add(id);
        else if (type === FRAME.DATA) conn.bodies.set(id, Buffer.concat([conn.bodies.get(id) ?? Buffer.alloc(0), payload]));
        else if (type === FRAME.RST_STREAM) conn.resets.set(id, payload.readUInt32BE(0));
        else if (type === FRAME.GOAWAY) conn.goaway = { lastStreamId: payload.readUInt32BE(0) & 0x7fffffff, code: payload.readUInt32BE(4) };
        else if (type === FRAME.SETTINGS && (pending[4]! & 1) === 0) conn.settingsSeen++;
        pending = pending.subarray(9 + length);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => (conn.closed = true));
    socket.once('secureConnect', () => {
      if (socket.alpnProtocol !== 'h2') return reject(new Error(`ALPN gave ${String(socket.alpnProtocol)}, not h2`));
      socket.write(Buffer.concat([PREFACE, hugeWindows()]));
      resolve(conn);
    });
    socket.once('error', reject);
  });
}
