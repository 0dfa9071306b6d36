// HTTP/2 on a DoH TLS connection through native/h2-session: libnghttp2 does the protocol from
// memory, this file moves bytes and requests. Per socket read: feed the bytes, answer every request
// that completed through DohService (as serveH2 in start.ts does), pull the bytes nghttp2 has to
// send and write them to the socket once. node:http2's per-stream objects, the bulk of its cost
// (bench/doh/README.md), are not made.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { TLSSocket } from 'node:tls';
import type { DohConfig } from '../config/types.ts';
import type { BadInputReporter } from '../telemetry/bad-input.ts';
import { DohError, type DohRequest, type DohResponse, type DohService } from './service.ts';

type Session = object & { readonly __h2session: unique symbol };

/** native/h2-session/h2_session.c: see the comment at its top. */
export interface H2Addon {
  SLOTS: number;
  META: number;
  MAX_BATCH: number;
  STATE_SIZE: number;
  MAX_NV_ARGS: number;
  nghttp2Version: string;
  setup(slab: Buffer, meta: Int32Array): void;
  create(maxConcurrentStreams: number, maxHeaderBytes: number, resetBurst: number, resetRate: number, state: Int32Array): Session;
  feed(s: Session, bytes: Buffer, maxBody: number): number;
  drain(s: Session): number;
  expire(s: Session, olderThanMs: number): number;
  respond(s: Session, streamId: number, status: number, body: Buffer | string, head: boolean, nvCount: number, ...nv: Array<string | string[] | undefined>): number;
  reset(s: Session, streamId: number, code: number): number;
  goaway(s: Session, code: number): number;
  pull(s: Session): Buffer | undefined;
  lastError(s: Session): string;
  close(s: Session): void;
}

const ADDON_PATH = new URL('../../native/h2-session/build/h2_session.node', import.meta.url).pathname;

type Loaded = { addon: H2Addon; reason?: undefined } | { addon: null; reason: string };
let loaded: Loaded | undefined;

/** The addon, or null with the reason when it is not built or does not load (then node:http2 serves). */
export function loadH2Addon(): Loaded {
  loaded ??= load();
  return loaded;
}

function load(): Loaded {
  if (!existsSync(ADDON_PATH)) return { addon: null, reason: `${ADDON_PATH} is not built (npm run build:native; needs libnghttp2-dev)` };
  try {
    return { addon: createRequire(import.meta.url)(ADDON_PATH) as H2Addon };
  } catch (err) {
    return { addon: null, reason: `cannot load ${ADDON_PATH}: ${(err as Error).message}` };
  }
}

// A session's state block (S_ in h2_session.c).
const S_WAITING = 0;
const S_GOAWAY = 1;
const S_INVALID = 2;
const S_REFUSED = 3;
const S_DONE = 4;
const S_ERRORS = 5;
const S_MORE = 6;
// A request in the batch: meta ints (stream id, flag, mask of the slots present, method code, then
// offset and length in the slab per slot) ...
const M_ID = 0;
const M_FLAG = 1;
const M_MASK = 2;
const M_METHOD = 3;
const M_SLOTS = 4;
// ... and its slots: the fields, then the body.
const F_METHOD = 0;
const F_PATH = 1;
const F_BODY = 9;
const HEADER_SLOT: Record<string, number> = {
  'content-type': 2,
  accept: 3,
  origin: 4,
  'x-forwarded-for': 5,
  forwarded: 6,
  'access-control-request-method': 7,
  'access-control-request-headers': 8,
};
// ... and its meta: stream id, flag, mask, method code (M_ in h2_session.c).
const METHODS = ['', 'GET', 'POST', 'HEAD', 'OPTIONS'];
const NGHTTP2_NO_ERROR = 0;
const NGHTTP2_INTERNAL_ERROR = 2;
const NGHTTP2_ERR_STREAM_CLOSED = -510;
/** Above this many bytes waiting in the socket, reading stops until it drains. */
const WRITE_BACKLOG = 256 * 1024;
const EMPTY = Buffer.alloc(0);
const H2_ERRORS = ['NO_ERROR', 'PROTOCOL_ERROR', 'INTERNAL_ERROR', 'FLOW_CONTROL_ERROR', 'SETTINGS_TIMEOUT', 'STREAM_CLOSED', 'FRAME_SIZE_ERROR', 'REFUSED_STREAM', 'CANCEL', 'COMPRESSION_ERROR', 'CONNECT_ERROR', 'ENHANCE_YOUR_CALM', 'INADEQUATE_SECURITY', 'HTTP_1_1_REQUIRED'];

export interface NativeH2Deps {
  addon: H2Addon;
  service: DohService;
  /** doh.* now (maxQueryBytes may change on SIGHUP); the connection limits are read once per connection. */
  config: () => DohConfig;
  errors: (kind: string) => { inc(by?: number): void };
  badInput: BadInputReporter;
}

/** The batch the addon writes (one per process: a batch is read before the next feed); exported for the fuzz test. */
export interface Batch {
  slab: Buffer;
  meta: Int32Array;
  /** Ints per request in meta. */
  stride: number;
}
let batch: Batch | undefined;
/** doh.maxHeaderBytes and doh.maxQueryBytes at most (src/config/validate.ts), and some room. */
const SLAB_BYTES = 1_048_576 + 65_536 + 4096;

export function batchFor(addon: H2Addon): Batch {
  if (batch === undefined) {
    // Room for a request with the largest header list and body any config allows (one slab for
    // every listener in the process); off the V8 heap, so C keeps pointers.
    const slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    const meta = new Int32Array(new ArrayBuffer(addon.META * addon.MAX_BATCH * 4));
    addon.setup(slab, meta);
    batch = { slab, meta, stride: addon.META };
  }
  return batch;
}

/**
 * The request at one place in the batch: strings are made from the slab only when read. It is
 * valid until the next feed, which is all a GET needs (answered at once); one object per
 * connection is pointed at each request in turn. A request answered later (a POST: its body is a
 * promise) is copied into a HeldRequest first.
 */
class BatchRequest implements DohRequest {
  method = '';
  target = '';
  readonly transport = 'h2' as const;
  readonly remoteAddress: string;
  flag = 0;
  #at = 0;
  #mask = 0;
  readonly #batch: Batch;
  readonly #onSlow: () => void;
  constructor(remoteAddress: string, batch: Batch, onSlow: () => void) {
    this.remoteAddress = remoteAddress;
    this.#batch = batch;
    this.#onSlow = onSlow;
  }
  point(i: number): this {
    const meta = this.#batch.meta;
    this.#at = i * this.#batch.stride;
    this.flag = meta[this.#at + M_FLAG]!;
    this.#mask = meta[this.#at + M_MASK]!;
    const method = meta[this.#at + M_METHOD]!;
    this.method = method === 0 ? this.slot(F_METHOD) ?? '' : (METHODS[method] as string);
    this.target = this.slot(F_PATH) ?? '/';
    return this;
  }
  get streamId(): number {
    return this.#batch.meta[this.#at + M_ID]!;
  }
  slot(i: number): string | undefined {
    if (!(this.#mask & (1 << i))) return undefined;
    const { meta, slab } = this.#batch;
    const offset = meta[this.#at + M_SLOTS + 2 * i]!;
    return slab.toString('latin1', offset, offset + meta[this.#at + M_SLOTS + 2 * i + 1]!);
  }
  bodyBytes(): Buffer {
    if (!(this.#mask & (1 << F_BODY))) return EMPTY;
    const { meta, slab } = this.#batch;
    const offset = meta[this.#at + M_SLOTS + 2 * F_BODY]!;
    return Buffer.from(slab.subarray(offset, offset + meta[this.#at + M_SLOTS + 2 * F_BODY + 1]!));
  }
  header(name: string): string | undefined {
    const slot = HEADER_SLOT[name];
    return slot === undefined ? undefined : this.slot(slot);
  }
  body(limit: number): Promise<Buffer> {
    return bodyOf(this.flag, this.bodyBytes(), limit, this.#onSlow);
  }
}

/** A request copied out of the batch, for one answered after the next feed. */
class HeldRequest implements DohRequest {
  readonly method: string;
  readonly target: string;
  readonly transport = 'h2' as const;
  readonly remoteAddress: string;
  readonly #flag: number;
  readonly #headers = new Map<string, string>();
  readonly #body: Buffer;
  readonly #onSlow: () => void;
  constructor(from: BatchRequest, onSlow: () => void) {
    this.method = from.method;
    this.target = from.target;
    this.remoteAddress = from.remoteAddress;
    this.#flag = from.flag;
    for (const name in HEADER_SLOT) {
      const value = from.header(name);
      if (value !== undefined) this.#headers.set(name, value);
    }
    this.#body = from.bodyBytes();
    this.#onSlow = onSlow;
  }
  header(name: string): string | undefined {
    return this.#headers.get(name);
  }
  body(limit: number): Promise<Buffer> {
    return bodyOf(this.#flag, this.#body, limit, this.#onSlow);
  }
}

function bodyOf(flag: number, body: Buffer, limit: number, onSlow: () => void): Promise<Buffer> {
  if (flag === 408) {
    onSlow();
    return Promise.reject(new DohError(408, 'slow body', 'body not complete within doh.idleTimeoutMs'));
  }
  if (flag === 413 || body.length > limit) return Promise.reject(new DohError(413, 'query too large', `body larger than doh.maxQueryBytes (${limit})`));
  return Promise.resolve(body);
}

/** Serves HTTP/2 on a TLS socket that negotiated h2; the socket is the connection's from here on. */
export function serveNativeH2(socket: TLSSocket, deps: NativeH2Deps): void {
  const { addon, service, errors, badInput } = deps;
  const limits = deps.config();
  const shared = batchFor(addon);
  // Off the V8 heap (an ArrayBuffer of its own), so C keeps a pointer to it.
  const state = new Int32Array(new ArrayBuffer(addon.STATE_SIZE * 4));
  const session = addon.create(limits.maxConcurrentStreams, limits.maxHeaderBytes, 200, 50, state);
  const maxArgs = addon.MAX_NV_ARGS;
  const nv: string[] = [];
  const remote = socket.remoteAddress ?? '';
  const onSlow = () => errors('slow body').inc();
  const current = new BatchRequest(remote, shared, onSlow);
  const seen = { goaway: 0, invalid: 0, refused: 0 };
  let closed = false;
  /** Set once the socket is being ended: what the client still sends is not fed to a finished session. */
  let ending = false;
  const end = (): void => {
    ending = true;
    socket.destroySoon();
  };
  let slowTimer: NodeJS.Timeout | undefined;
  let flushQueued = false;

  // The headers go as arguments (no array to read element by element); more than fit, as an array.
  const send = (id: number, res: DohResponse, head: boolean): void => {
    let n = 0;
    const headers = res.headers;
    for (const name in headers) {
      nv[n++] = name;
      nv[n++] = headers[name] as string;
    }
    let rv: number;
    if (n > maxArgs) rv = addon.respond(session, id, res.status, res.body, head, -1, nv.slice(0, n));
    else rv = addon.respond(session, id, res.status, res.body, head, n, nv[0], nv[1], nv[2], nv[3], nv[4], nv[5], nv[6], nv[7], nv[8], nv[9], nv[10], nv[11], nv[12], nv[13], nv[14], nv[15]);
    // Refused by nghttp2 (a header it will not send): the stream is reset rather than left waiting.
    if (rv < 0 && rv !== NGHTTP2_ERR_STREAM_CLOSED) {
      badInput.report('doh', 'internal error', `HTTP/2 response on stream ${id} refused (nghttp2 error ${rv})`, remote);
      addon.reset(session, id, NGHTTP2_INTERNAL_ERROR);
    }
  };

  const serve = (i: number): void => {
    const at = current.point(i);
    const id = at.streamId;
    if (at.flag === 431) {
      errors('header too large').inc();
      badInput.report('doh', 'header too large', `header list larger than doh.maxHeaderBytes (${limits.maxHeaderBytes}) octets (32 per field counted, RFC 9113 §6.5.2)`, remote);
      addon.respond(session, id, 431, EMPTY, false, 0);
      return;
    }
    const method = at.method;
    // Only a request with a body is answered later; it keeps a copy.
    const req = method === 'GET' || method === 'HEAD' || method === 'OPTIONS' ? at : new HeldRequest(at, onSlow);
    const head = method === 'HEAD';
    const q = req.target.indexOf('?');
    const path = q < 0 ? req.target : req.target.slice(0, q);
    if (!service.serves(path, 'h2')) {
      send(id, { status: 404, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: `no route for ${method} ${path}` }) + '\n' }, head);
      return;
    }
    const res = service.handle(req);
    if (!(res instanceof Promise)) return send(id, res, head);
    res.then(
      (r) => {
        if (closed) return;
        send(id, r, head);
        queueFlush();
      },
      () => {
        if (closed) return;
        addon.reset(session, id, NGHTTP2_INTERNAL_ERROR);
        queueFlush();
      },
    );
  };

  // A throw here would end the process from a socket event: the stream is reset and counted instead.
  const serveSafely = (i: number): void => {
    try {
      serve(i);
    } catch (err) {
      badInput.report('doh', 'internal error', (err as Error).message, remote);
      addon.reset(session, current.point(i).streamId, NGHTTP2_INTERNAL_ERROR);
    }
  };

  const serveAll = (n: number): void => {
    for (;;) {
      for (let i = 0; i < n; i++) serveSafely(i);
      if (state[S_MORE] === 0) return;
      n = addon.drain(session);
    }
  };

  const report = (): void => {
    if (state[S_INVALID]! > seen.invalid) {
      errors('h2 frame error').inc(state[S_INVALID]! - seen.invalid);
      seen.invalid = state[S_INVALID]!;
      badInput.report('doh', 'h2 frame error', addon.lastError(session), remote);
    }
    if (state[S_REFUSED]! > seen.refused) {
      errors('refused stream').inc(state[S_REFUSED]! - seen.refused);
      seen.refused = state[S_REFUSED]!;
      badInput.report('doh', 'refused stream', `streams beyond doh.maxConcurrentStreams (${limits.maxConcurrentStreams}) refused with RST_STREAM(REFUSED_STREAM)`, remote);
    }
    const goaway = state[S_GOAWAY]!;
    if (goaway > 1 && seen.goaway === 0) {
      seen.goaway = goaway;
      errors('h2 session error').inc();
      badInput.report('doh', 'h2 session error', `session ended with GOAWAY(${H2_ERRORS[goaway - 1] ?? goaway - 1})${state[S_ERRORS]! > 0 ? `: ${addon.lastError(session)}` : ''}`, remote);
    }
  };

  const flush = (): void => {
    if (closed) return;
    const bytes = addon.pull(session);
    if (bytes !== undefined) socket.write(bytes);
    report(); // after pull: GOAWAY and RST_STREAM are counted as nghttp2 sends them
    // Done, or a GOAWAY with an error (a flood, a protocol error): what is written is the last.
    if (state[S_DONE] === 1 || seen.goaway > 1) return end();
    if (socket.writableLength > WRITE_BACKLOG && !socket.isPaused()) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
    if (state[S_WAITING]! > 0) armSlowTimer();
  };

  const queueFlush = (): void => {
    if (flushQueued) return;
    flushQueued = true;
    setImmediate(() => {
      flushQueued = false;
      flush();
    });
  };

  // Bodies that do not arrive: 408 after doh.idleTimeoutMs, checked at a quarter of it.
  const armSlowTimer = (): void => {
    if (slowTimer || closed) return;
    slowTimer = setTimeout(
      () => {
        slowTimer = undefined;
        if (closed) return;
        serveAll(addon.expire(session, limits.idleTimeoutMs));
        flush();
      },
      Math.max(25, limits.idleTimeoutMs / 4),
    );
    slowTimer.unref();
  };

  socket.setNoDelay(true);
  socket.setTimeout(limits.idleTimeoutMs, () => {
    // Streams still waiting for a body are the slow-body timer's to end (408).
    if (state[S_WAITING]! > 0) return;
    addon.goaway(session, NGHTTP2_NO_ERROR);
    flush();
    end();
  });
  socket.on('data', (chunk: Buffer) => {
    if (closed || ending) return;
    const n = addon.feed(session, chunk, deps.config().maxQueryBytes);
    if (n < 0) {
      errors('h2 session error').inc();
      seen.goaway = -1;
      badInput.report('doh', 'h2 session error', `HTTP/2 session ended: ${addon.lastError(session)}`, remote);
      flush();
      return end();
    }
    serveAll(n);
    flush();
  });
  socket.on('close', () => {
    closed = true;
    if (slowTimer) clearTimeout(slowTimer);
    addon.close(session);
  });
  flush(); // the server's SETTINGS
}
