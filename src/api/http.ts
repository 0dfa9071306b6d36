import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { RELAY_STATES, type RelayState } from '../config/types.ts';
import type { HealthStore } from '../health/store.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import type { BadInputReporter } from '../telemetry/bad-input.ts';
import type { Decision } from '../driad/selection.ts';

export interface ApiContext {
  health: HealthStore;
  metrics: Metrics;
  badInput: BadInputReporter;
  adminToken: () => string | undefined;
  decision: () => Decision;
  relays: () => Array<{ name: string; kind: string; ipv4?: string; ipv6?: string; precedence: number }>;
}

export interface HttpListener {
  address: string;
  port: number;
  close(): Promise<void>;
}

const MAX_BODY = 16 * 1024;

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export async function listenHttp(ctx: ApiContext, host: string, port: number): Promise<HttpListener> {
  const server: Server = createServer((req, res) => {
    route(ctx, req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (status >= 500) ctx.badInput.report('http', 'internal error', (err as Error).message);
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
  if (method === 'GET' && url.pathname === '/healthz') return sendText(res, 200, 'ok\n');
  if (method === 'GET' && url.pathname === '/metrics') return sendText(res, 200, ctx.metrics.render(), 'text/plain; version=0.0.4');
  if (method === 'GET' && url.pathname === '/api/v1/relays') return sendJson(res, 200, relaysView(ctx));

  const stateRoute = /^\/api\/v1\/relays\/([^/]+)\/state$/.exec(url.pathname);
  if (stateRoute) {
    if (method !== 'PUT') throw new HttpError(405, `use PUT to set a relay's state`);
    requireAdmin(ctx, req);
    const name = decodeURIComponent(stateRoute[1] as string);
    const body = await readJson(req);
    const state = body.state;
    if (typeof state !== 'string' || !RELAY_STATES.includes(state as RelayState)) {
      throw new HttpError(400, `body.state must be one of ${RELAY_STATES.join(', ')}`);
    }
    const reason = typeof body.reason === 'string' && body.reason ? body.reason.slice(0, 200) : 'set by operator';
    if (!ctx.health.set(name, state as RelayState, reason, 'admin')) throw new HttpError(404, `no relay named ${JSON.stringify(name)}`);
    return sendJson(res, 200, ctx.health.get(name));
  }
  throw new HttpError(404, `no route for ${method} ${url.pathname}`);
}

function relaysView(ctx: ApiContext): unknown {
  const decision = ctx.decision();
  return {
    generation: ctx.health.generation,
    ttl: decision.ttl,
    answer: { a: decision.a, aaaa: decision.aaaa, amtrelay: decision.amtrelay },
    relays: ctx.relays().map((r) => ({ ...r, ...ctx.health.get(r.name) })),
  };
}

function requireAdmin(ctx: ApiContext, req: IncomingMessage): void {
  const expected = ctx.adminToken();
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

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, `body larger than ${MAX_BODY} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch (err) {
    throw new HttpError(400, `body must be a JSON object: ${(err as Error).message}`);
  }
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
