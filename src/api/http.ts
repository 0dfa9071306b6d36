import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { RELAY_STATES, type RelayState } from '../config/types.ts';
import { parseSignal } from '../health/signals.ts';
import type { BadInputReporter } from '../telemetry/bad-input.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { openApiDocument } from './openapi.ts';
import { pageAsset } from './page.ts';
import { BadParameter, explainView, relaysView, type ViewContext } from './views.ts';

export interface ApiContext extends ViewContext {
  metrics: Metrics;
  badInput: BadInputReporter;
  /** Paths another subsystem answers on this listener (DoH: /dns-query, /resolve, /api/v1/candidates); true when it took the request. */
  hook?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export interface HttpListener {
  address: string;
  port: number;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;
const MAX_SIGNALS = 1000;

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export async function listenHttp(ctx: ApiContext, host: string, port: number): Promise<HttpListener> {
  const server: Server = createServer((req, res) => {
    if (ctx.hook?.(req, res)) return;
    route(ctx, req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : err instanceof BadParameter ? 400 : 500;
      if (status >= 500) ctx.badInput.report('http', 'internal error', (err as Error).message);
      else if (status === 400) ctx.badInput.report('http', 'bad request', (err as Error).message, req.socket.remoteAddress);
      sendJson(res, status, { error: (err as Error).message });
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('HTTP listener has no address');
  return {
    address: bound.address,
    port: bound.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

async function route(ctx: ApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://driad');
  const method = req.method ?? 'GET';
  const path = url.pathname;

  if (method === 'GET') {
    if (path === '/healthz') return sendText(res, 200, 'ok\n');
    if (path === '/metrics') return sendText(res, 200, ctx.metrics.render(), 'text/plain; version=0.0.4');
    if (path === '/api/v1/relays') return sendJson(res, 200, relaysView(ctx));
    if (path === '/api/v1/explain') return sendJson(res, 200, explainView(ctx, url.searchParams));
    if (path === '/api/v1/openapi.json') return sendJson(res, 200, openApiDocument());
    const asset = pageAsset(path);
    if (asset) {
      res.setHeader('content-security-policy', "default-src 'self'");
      res.setHeader('x-content-type-options', 'nosniff');
      return sendText(res, 200, asset.body, asset.type);
    }
  }

  const stateRoute = /^\/api\/v1\/relays\/([^/]+)\/state$/.exec(path);
  if (stateRoute) {
    const name = decodeURIComponent(stateRoute[1] as string);
    if (method === 'PUT') {
      requireAdmin(ctx, req);
      const body = await readJson(req);
      const state = (body as Record<string, unknown>).state;
      if (typeof state !== 'string' || !RELAY_STATES.includes(state as RelayState)) {
        throw new HttpError(400, `body.state must be one of ${RELAY_STATES.join(', ')}`);
      }
      const reasonText = (body as Record<string, unknown>).reason;
      const reason = typeof reasonText === 'string' && reasonText ? reasonText.slice(0, 200) : 'set by operator';
      if (!ctx.health.setOverride(name, state as RelayState, reason)) throw new HttpError(404, `no relay named ${JSON.stringify(name)}`);
      return sendJson(res, 200, ctx.health.get(name));
    }
    if (method === 'DELETE') {
      requireAdmin(ctx, req);
      if (!ctx.health.clearOverride(name)) throw new HttpError(404, `no relay named ${JSON.stringify(name)}`);
      return sendJson(res, 200, ctx.health.get(name));
    }
    throw new HttpError(405, `use PUT to set an operator override of a relay's state, DELETE to clear it`);
  }

  if (path === '/api/v1/signals') {
    if (method !== 'POST') throw new HttpError(405, 'use POST to send signals');
    requireAdmin(ctx, req);
    const body = await readJson(req);
    const list = Array.isArray(body) ? body : [body];
    if (list.length > MAX_SIGNALS) throw new HttpError(413, `at most ${MAX_SIGNALS} signals per request`);
    const now = Date.now();
    const { defaultMaxAgeMs, silenceIntervals } = ctx.served().config.health;
    const signals = list.map((raw, i) => {
      try {
        return parseSignal(raw, now, { maxAgeMs: defaultMaxAgeMs, silenceIntervals });
      } catch (err) {
        throw new HttpError(400, `signal ${i}: ${(err as Error).message}`);
      }
    });
    const unknown = signals.filter((s) => !ctx.health.get(s.relay)).map((s) => s.relay);
    if (unknown.length) throw new HttpError(404, `no relay named ${JSON.stringify(unknown[0])}`);
    for (const s of signals) ctx.health.ingest(s);
    return sendJson(res, 200, { accepted: signals.length, generation: ctx.health.generation });
  }

  throw new HttpError(404, `no route for ${method} ${path}`);
}

function requireAdmin(ctx: ApiContext, req: IncomingMessage): void {
  const expected = ctx.served().config.http.adminToken;
  if (!expected) throw new HttpError(403, 'admin API is disabled: set http.adminToken (or DRIAD_ADMIN_TOKEN) to enable it');
  const header = req.headers.authorization;
  if (!header) throw new HttpError(401, 'missing admin token: send "Authorization: Bearer <token>"');
  const given = Buffer.from(header.replace(/^Bearer\s+/i, ''));
  const want = Buffer.from(expected);
  if (given.length !== want.length || !timingSafeEqual(given, want)) {
    ctx.badInput.report('http', 'bad admin token', 'rejected a request with a wrong admin token', req.socket.remoteAddress);
    throw new HttpError(401, 'wrong admin token');
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, `body larger than ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `body must be a JSON object or array: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null) throw new HttpError(400, 'body must be a JSON object or array');
  return parsed;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string, type = 'text/plain'): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
