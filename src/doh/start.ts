// The DoH subsystem: a TLS listener on doh.listen that speaks HTTP/2 or HTTP/1.1 by ALPN, and the
// hook that answers the same paths on the plain HTTP listener. Limits for floods and slow clients
// are set here; every refusal is counted (driad_doh_connection_errors_total, driad_bad_input_total).

import { createServer as createHttp1, type IncomingMessage, type Server as Http1Server, type ServerResponse } from 'node:http';
import { constants as h2, createServer as createH2, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { createServer as createTls, DEFAULT_CIPHERS, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { parseHostPort } from '../config/validate.ts';
import type { Config } from '../config/types.ts';
import type { DnsEngine } from '../dns/engine.ts';
import type { BadInputReporter } from '../telemetry/bad-input.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { loadCredentials } from './cert.ts';
import { loadH2Addon, serveNativeH2 } from './h2-native.ts';
import { DohError, DohService, type DohRequest, type DohResponse, type DohTransport } from './service.ts';

export interface DohStartDeps {
  engine: DnsEngine;
  config: () => Config;
  candidates: (params: URLSearchParams, client: string) => unknown;
  metrics: Metrics;
  badInput: BadInputReporter;
  log: Logger;
}

/** What speaks HTTP/2 on h2 connections (doh.nativeH2). */
export type H2Engine = 'native/h2-session' | 'node:http2';

export interface Doh {
  /** The TLS listener, null when doh.enabled is false. */
  tls: { address: string; port: number; fingerprint: string; spki: string; certFile: string; certificate: string; h2: H2Engine } | null;
  /** For the plain HTTP listener: answers the request and returns true when the path is ours. */
  http1: (req: IncomingMessage, res: ServerResponse) => boolean;
  close(): Promise<void>;
}

export async function startDoh(config: Config, deps: DohStartDeps): Promise<Doh> {
  const service = new DohService({
    engine: deps.engine,
    config: () => deps.config().doh,
    perClient: () => deps.config().policy.clients.length > 0,
    candidates: deps.candidates,
    metrics: deps.metrics,
    badInput: deps.badInput,
  });
  const errors = (kind: string) => deps.metrics.counter('driad_doh_connection_errors_total', 'DoH connections and streams ended by a limit or a protocol error', { kind });
  const plain = (req: IncomingMessage, res: ServerResponse): boolean => {
    const path = (req.url ?? '/').split('?')[0] as string;
    if (!service.serves(path, 'http1')) return false;
    serveHttp1(service, req, res, 'http1');
    return true;
  };
  if (!config.doh.enabled) return { tls: null, http1: plain, close: async () => {} };

  const { host, port } = parseHostPort(config.doh.listen, 'doh.listen');
  const credentials = loadCredentials(config.doh, host);
  const limits = config.doh;

  const h2server: Http2Server = createH2({
    settings: { maxConcurrentStreams: limits.maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderBytes },
    maxSessionMemory: 10,
    maxSessionRejectedStreams: 100,
    maxSessionInvalidFrames: 100,
    // Rapid reset (CVE-2023-44487): more than this many RST_STREAMs in a burst, or per second after it, ends the session.
    streamResetBurst: 200,
    streamResetRate: 50,
  });
  h2server.setTimeout(limits.idleTimeoutMs);
  h2server.on('session', (session: ServerHttp2Session) => {
    session.on('error', (err: NodeJS.ErrnoException) => {
      errors('h2 session error').inc();
      deps.badInput.report('doh', 'h2 session error', err.message, session.socket?.remoteAddress);
    });
    session.on('frameError', (type: number, code: number) => {
      errors('h2 frame error').inc();
      deps.badInput.report('doh', 'h2 frame error', `frame type ${type} refused with error ${code}`, session.socket?.remoteAddress);
    });
    session.on('goaway', () => {});
  });
  h2server.on('sessionError', () => {});
  h2server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    // SETTINGS_MAX_HEADER_LIST_SIZE is advisory to the peer; enforce it (RFC 9113 §6.5.2 counts 32 octets per field).
    let size = 0;
    for (const [name, value] of Object.entries(headers)) size += name.length + String(value).length + 32;
    if (size > limits.maxHeaderBytes) {
      errors('header too large').inc();
      deps.badInput.report('doh', 'header too large', `header list of ${size} octets is larger than doh.maxHeaderBytes (${limits.maxHeaderBytes})`, stream.session?.socket?.remoteAddress);
      stream.on('error', () => {});
      stream.respond({ ':status': 431, 'content-length': 0 });
      stream.end();
      return;
    }
    serveH2(service, stream, headers, limits.idleTimeoutMs, errors);
  });

  const h1server: Http1Server = createHttp1({ maxHeaderSize: limits.maxHeaderBytes, requestTimeout: limits.idleTimeoutMs, headersTimeout: Math.min(limits.idleTimeoutMs, 10_000) }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    if (service.serves(path, 'http1-tls')) return serveHttp1(service, req, res, 'http1-tls');
    sendHttp1(res, { status: 404, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: `no route for ${req.method} ${path}` }) + '\n' });
  });
  h1server.keepAliveTimeout = limits.idleTimeoutMs;
  h1server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const kind = err.code === 'HPE_HEADER_OVERFLOW' ? 'header too large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request timeout' : 'http1 parse error';
    errors(kind).inc();
    deps.badInput.report('doh', kind, err.message, socket.remoteAddress);
    const status = kind === 'header too large' ? 431 : kind === 'request timeout' ? 408 : 400;
    if (socket.writable) socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    else socket.destroy();
  });

  const { addon: h2addon, reason } = limits.nativeH2 ? loadH2Addon() : { addon: null, reason: 'doh.nativeH2 is false' };
  if (!h2addon) deps.log.warn(`DoH over HTTP/2 through node:http2: ${reason}`);
  const native = h2addon ? { addon: h2addon, service, config: () => deps.config().doh, errors, badInput: deps.badInput } : null;

  const open = new Set<TLSSocket>();
  const tlsServer: TlsServer = createTls({
    cert: credentials.cert,
    key: credentials.key,
    ALPNProtocols: ['h2', 'http/1.1'],
    handshakeTimeout: limits.handshakeTimeoutMs,
    minVersion: 'TLSv1.2',
    // AES-128-GCM first (as in Mozilla's intermediate profile): as safe, and cheaper per record than AES-256.
    ciphers: ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', ...DEFAULT_CIPHERS.split(':').filter((c) => !c.startsWith('TLS_'))].join(':'),
    honorCipherOrder: true,
  });
  tlsServer.maxConnections = limits.maxConnections;
  tlsServer.on('drop', () => {
    errors('too many connections').inc();
    deps.badInput.report('doh', 'too many connections', `more than doh.maxConnections (${limits.maxConnections}) TLS connections: closed at once`);
  });
  tlsServer.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    const kind = err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT' ? 'tls handshake timeout' : 'tls error';
    errors(kind).inc();
    deps.badInput.report('doh', kind, err.message, socket.remoteAddress);
    socket.destroy();
  });
  tlsServer.on('secureConnection', (socket: TLSSocket) => {
    open.add(socket);
    socket.on('close', () => open.delete(socket));
    socket.on('error', () => {});
    if (socket.alpnProtocol === 'h2' && native) serveNativeH2(socket, native);
    else if (socket.alpnProtocol === 'h2') h2server.emit('connection', socket);
    else h1server.emit('connection', socket);
  });
  deps.metrics.gauge('driad_doh_connections', 'Open DoH TLS connections', () => [[{}, open.size]]);

  await new Promise<void>((resolve, reject) => {
    tlsServer.once('error', (err: NodeJS.ErrnoException) => reject(new Error(`doh.listen: cannot listen on ${config.doh.listen}: ${err.code ?? err.message}`)));
    tlsServer.listen({ host, port }, () => {
      tlsServer.removeAllListeners('error');
      tlsServer.on('error', (err) => deps.log.error(`doh: listener error: ${err.message}`));
      resolve();
    });
  });
  const bound = tlsServer.address();
  if (bound === null || typeof bound === 'string') throw new Error('DoH listener has no address');
  deps.log.info(
    { address: bound.address, port: bound.port, h2: h2addon ? `native/h2-session (nghttp2 ${h2addon.nghttp2Version})` : 'node:http2', certificate: credentials.origin, file: credentials.file, sha256: credentials.fingerprint, spki: credentials.spki },
    `DoH listening on ${bound.address}:${bound.port} (HTTP/2 and HTTP/1.1 over TLS); certificate ${credentials.origin === 'config' ? 'from doh.certFile' : `self-signed, ${credentials.origin}, ${credentials.file}`}; SHA-256 fingerprint ${credentials.fingerprint}`,
  );

  return {
    tls: { address: bound.address, port: bound.port, fingerprint: credentials.fingerprint, spki: credentials.spki, certFile: credentials.file, certificate: credentials.cert.toString(), h2: h2addon ? 'native/h2-session' : 'node:http2' },
    http1: plain,
    close: () =>
      new Promise<void>((resolve) => {
        tlsServer.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}

function serveH2(service: DohService, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, timeoutMs: number, errors: (kind: string) => { inc(): void }): void {
  stream.on('error', () => {});
  const req: DohRequest = {
    method: String(headers[':method'] ?? ''),
    target: String(headers[':path'] ?? '/'),
    header: (name) => {
      const v = headers[name];
      return Array.isArray(v) ? v.join(', ') : v;
    },
    remoteAddress: stream.session?.socket?.remoteAddress ?? '',
    transport: 'h2',
    body: (limit) => readBody(stream, limit, Number(headers['content-length'] ?? -1), timeoutMs, () => errors('slow body').inc()),
  };
  const path = req.target.split('?')[0] as string;
  const done = (res: DohResponse): void => {
    if (stream.destroyed || stream.closed) return;
    const out = res.headers as Record<string, string | number>;
    out[':status'] = res.status;
    out['content-length'] = Buffer.byteLength(res.body);
    stream.respond(out);
    stream.end(req.method === 'HEAD' ? undefined : res.body);
  };
  if (!service.serves(path, 'h2')) {
    return done({ status: 404, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: `no route for ${req.method} ${path}` }) + '\n' });
  }
  const res = service.handle(req);
  if (res instanceof Promise) res.then(done, () => stream.close(h2.NGHTTP2_INTERNAL_ERROR));
  else done(res);
}

function serveHttp1(service: DohService, req: IncomingMessage, res: ServerResponse, transport: DohTransport): void {
  const request: DohRequest = {
    method: req.method ?? '',
    target: req.url ?? '/',
    header: (name) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(', ') : v;
    },
    remoteAddress: req.socket.remoteAddress ?? '',
    transport,
    body: (limit) => readBody(req, limit, Number(req.headers['content-length'] ?? -1), 0, () => {}),
  };
  const answer = service.handle(request);
  if (answer instanceof Promise) answer.then((r) => sendHttp1(res, r, req.method === 'HEAD'), () => res.destroy());
  else sendHttp1(res, answer, req.method === 'HEAD');
}

function sendHttp1(res: ServerResponse, r: DohResponse, head = false): void {
  if (res.destroyed) return;
  res.writeHead(r.status, { ...r.headers, 'content-length': Buffer.byteLength(r.body) });
  res.end(head ? undefined : r.body);
}

/**
 * Reads a request body of at most `limit` bytes: a Content-Length above it is refused before
 * reading, a body that grows past it is cut off, a body still not complete after `timeoutMs` is 408.
 */
function readBody(stream: NodeJS.ReadableStream & { destroyed?: boolean }, limit: number, declared: number, timeoutMs: number, onSlow: () => void): Promise<Buffer> {
  if (declared > limit) return Promise.reject(new DohError(413, 'query too large', `body of ${declared} bytes is larger than doh.maxQueryBytes (${limit})`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err: Error | null): void => {
      if (timer) clearTimeout(timer);
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) return finish(new DohError(413, 'query too large', `body larger than doh.maxQueryBytes (${limit})`));
      chunks.push(chunk);
    };
    const onEnd = (): void => finish(null);
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        onSlow();
        finish(new DohError(408, 'slow body', `body not complete after ${timeoutMs} ms (doh.idleTimeoutMs)`));
      }, timeoutMs);
      timer.unref();
    }
    stream.on('data', onData);
    stream.on('end', onEnd);
  });
}
