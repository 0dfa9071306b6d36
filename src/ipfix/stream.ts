/**
 * Frames IPFIX Messages out of a TCP byte stream by the Length field of each message header
 * (RFC 7011 §10.4.3). Chunks may split messages anywhere, including inside the header. It holds
 * at most one incomplete message (under 64 KiB). A header that is not IPFIX version 10, or a
 * length under 16, means the stream is lost: the framer reports it once and stays failed (the
 * connection should be closed; there is no resynchronising on a stream without markers).
 */
import { IPFIX_VERSION } from './decoder.ts';
import { MESSAGE_HEADER_LENGTH } from './template.ts';

export type FrameResult = { ok: true; messages: Buffer[] } | { ok: false; reason: string; messages: Buffer[] };

export class IpfixStreamFramer {
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Length of the held message, once known (0 before). */
  #length = 0;
  #failed: string | null = null;

  /** Octets held for a message not yet complete. */
  get buffered(): number {
    return this.#buffered;
  }

  get failed(): string | null {
    return this.#failed;
  }

  /** Adds a chunk; returns the messages it completed (each a Buffer of exactly one message). */
  push(chunk: Uint8Array): FrameResult {
    const messages: Buffer[] = [];
    if (this.#failed) return { ok: false, reason: this.#failed, messages };
    let data = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#buffered > 0) {
      // Only enough of the chunk to finish the held message is copied; the rest is read in place.
      const need = this.#needed(data);
      if (need === null) return this.#fail(messages);
      if (this.#buffered + data.length < need) {
        this.#chunks.push(Buffer.from(data));
        this.#buffered += data.length;
        return { ok: true, messages };
      }
      const take = need - this.#buffered;
      messages.push(Buffer.concat([...this.#chunks, data.subarray(0, take)], need));
      this.#chunks = [];
      this.#buffered = 0;
      this.#length = 0;
      data = data.subarray(take);
    }
    let p = 0;
    while (data.length - p >= 4) {
      const problem = checkHeader(data, p);
      if (problem) {
        this.#failed = problem;
        return { ok: false, reason: problem, messages };
      }
      const length = data.readUInt16BE(p + 2);
      if (data.length - p < length) break;
      messages.push(data.subarray(p, p + length));
      p += length;
    }
    if (p < data.length) {
      this.#chunks.push(Buffer.from(data.subarray(p)));
      this.#buffered = data.length - p;
      if (this.#buffered >= 4) this.#length = data.readUInt16BE(p + 2);
    }
    return { ok: true, messages };
  }

  /** The full length of the held message, once its first four octets are known; null if they are bad. */
  #needed(next: Buffer): number | null {
    if (this.#length > 0) return this.#length;
    if (this.#buffered + next.length < 4) return Number.POSITIVE_INFINITY;
    const head = Buffer.concat([...this.#chunks, next.subarray(0, Math.max(0, 4 - this.#buffered))], 4);
    const problem = checkHeader(head, 0);
    if (problem) {
      this.#failed = problem;
      return null;
    }
    this.#length = head.readUInt16BE(2);
    return this.#length;
  }

  #fail(messages: Buffer[]): FrameResult {
    this.#chunks = [];
    this.#buffered = 0;
    this.#length = 0;
    return { ok: false, reason: this.#failed ?? 'stream failed', messages };
  }
}

function checkHeader(b: Buffer, p: number): string | null {
  const version = b.readUInt16BE(p);
  if (version !== IPFIX_VERSION) return `stream lost: message header with version ${version}, not 10`;
  const length = b.readUInt16BE(p + 2);
  if (length < MESSAGE_HEADER_LENGTH) return `stream lost: message length ${length} is shorter than its header`;
  return null;
}
