// What /dns-query, /resolve and /api/v1/candidates answer, whatever carries the request (HTTP/2 or
// HTTP/1.1, over TLS or behind a proxy): one function from a request to status, headers and body.

import type { DohConfig } from '../config/types.ts';
import type { DnsEngine } from '../dns/engine.ts';
import type { BadInputReporter } from '../telemetry/bad-input.ts';
import type { Counter, Metrics } from '../telemetry/metrics.ts';
import { ClientAddressResolver } from './client-address.ts';
import { jsonQuery, JsonParamError, toJson } from './json.ts';
import { freshnessSeconds } from './ttl.ts';

/** How the request came: HTTP/2 over TLS, HTTP/1.1 over TLS (both on doh.listen), plain HTTP/1.1 (http.listen). */
export type DohTransport = 'h2' | 'http1-tls' | 'http1';

export interface DohRequest {
  method: string;
  /** Path and query, as sent. */
  target: string;
  header(name: string): string | undefined;
  remoteAddress: string;
  transport: DohTransport;
  /** The body, at most `limit` bytes; rejects with a DohError 413 past that. */
  body(limit: number): Promise<Buffer>;
}

export interface DohResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

export class DohError extends Error {
  readonly status: number;
  /** Counted and logged under this kind. */
  readonly kind: string;
  constructor(status: number, kind: string, message: string) {
    super(message);
    this.status = status;
    this.kind = kind;
  }
}

export interface DohDeps {
  engine: DnsEngine;
  config: () => DohConfig;
  /** True when answers depend on the client (policy.clients): shared HTTP caches must not keep them. */
  perClient: () => boolean;
  /** GET /api/v1/candidates: the ranked relays for a source, for this client; throws to answer 400. */
  candidates: (params: URLSearchParams, client: string) => unknown;
  metrics: Metrics;
  badInput: BadInputReporter;
}

const DNS_MESSAGE = 'application/dns-message';
const DNS_JSON = 'application/dns-json';
const PATHS = new Set(['/dns-query', '/resolve', '/api/v1/candidates']);
const ALLOW: Record<string, string> = { '/dns-query': 'GET, POST, OPTIONS', '/resolve': 'GET, OPTIONS', '/api/v1/candidates': 'GET, OPTIONS' };
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

export class DohService {
  readonly #deps: DohDeps;
  #resolver: ClientAddressResolver;
  #proxies: string;
  readonly #requests = new Map<string, Counter>();
  readonly #cacheControls = new Map<number, string>();

  constructor(deps: DohDeps) {
    this.#deps = deps;
    this.#proxies = deps.config().trustedProxies.join();
    this.#resolver = new ClientAddressResolver(deps.config().trustedProxies);
  }

  /** Whether this service answers the path on a transport (DoH on the plain listener only with doh.http1). */
  serves(path: string, transport: DohTransport): boolean {
    if (!PATHS.has(path)) return false;
    return transport !== 'http1' || path === '/api/v1/candidates' || this.#deps.config().http1;
  }

  /**
   * Answers one request; never throws: failures are answers with a status, counted. A GET is
   * answered at once; only a request with a body returns a promise.
   */
  handle(req: DohRequest): DohResponse | Promise<DohResponse> {
    const state = { format: 'wire' };
    let res: DohResponse | Promise<DohResponse>;
    try {
      res = this.#route(req, state);
    } catch (err) {
      res = this.#failure(req, err);
    }
    if (res instanceof Promise) {
      return res.then(
        (r) => this.#finish(req, state.format, r),
        (err: unknown) => this.#finish(req, state.format, this.#failure(req, err)),
      );
    }
    return this.#finish(req, state.format, res);
  }

  #finish(req: DohRequest, format: string, res: DohResponse): DohResponse {
    if (req.header('origin') !== undefined) this.#withCors(req, res);
    this.#count(req.transport, format, res.status);
    return res;
  }

  #route(req: DohRequest, state: { format: string }): DohResponse | Promise<DohResponse> {
    const max = this.#deps.config().maxUrlBytes;
    if (req.target.length > max) throw new DohError(414, 'uri too long', `request target of ${req.target.length} bytes is longer than doh.maxUrlBytes (${max})`);
    const q = req.target.indexOf('?');
    const path = q < 0 ? req.target : req.target.slice(0, q);
    const search = q < 0 ? '' : req.target.slice(q + 1);
    if (path !== '/dns-query') state.format = path === '/resolve' ? 'json' : 'api';
    const allow = ALLOW[path] as string;
    const get = req.method === 'GET' || req.method === 'HEAD';
    // The RFC 8484 GET, as browsers and stubs send it: nothing but dns=.
    if (get && path === '/dns-query' && search.startsWith('dns=') && !search.includes('&')) {
      return this.#wire(req, decodeDnsParam(search.slice(4), this.#deps.config().maxQueryBytes));
    }
    if (req.method === 'OPTIONS') return this.#preflight(req, allow);
    const params = new URLSearchParams(search);
    if (path === '/api/v1/candidates') {
      if (!get) throw methodNotAllowed(req.method, allow);
      const client = this.#client(req);
      let body: unknown;
      try {
        body = this.#deps.candidates(params, client);
      } catch (err) {
        throw new DohError(400, 'bad request', (err as Error).message);
      }
      return json(200, body, 'application/json', { 'cache-control': 'no-cache' });
    }
    if (get) {
      const wantsJson = path === '/resolve' || (!params.has('dns') && params.has('name'));
      if (wantsJson) {
        state.format = 'json';
        return this.#json(req, params, path);
      }
      const dns = params.get('dns');
      if (dns === null) throw new DohError(400, 'bad request', 'GET /dns-query needs dns=<base64url DNS query> (RFC 8484 §4.1), or name= with Accept: application/dns-json');
      return this.#wire(req, decodeDnsParam(dns, this.#deps.config().maxQueryBytes));
    }
    if (req.method === 'POST' && path === '/dns-query') {
      const type = (req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== DNS_MESSAGE) throw new DohError(415, 'unsupported media type', `POST /dns-query needs Content-Type: ${DNS_MESSAGE} (got ${JSON.stringify(type || 'none')})`);
      return req.body(this.#deps.config().maxQueryBytes).then((body) => this.#wire(req, body));
    }
    throw methodNotAllowed(req.method, allow);
  }

  #wire(req: DohRequest, query: Buffer): DohResponse {
    const client = this.#client(req);
    const answer = this.#deps.engine.handle(query, 'doh', { address: client });
    if (!answer) throw new DohError(400, 'not a dns query', `the body is not a DNS query (${query.length} bytes: too short for a header, or a response)`);
    return { status: 200, headers: { 'content-type': DNS_MESSAGE, 'cache-control': this.#cacheControl(answer) }, body: answer };
  }

  #json(req: DohRequest, params: URLSearchParams, path: string): DohResponse {
    const accept = (req.header('accept') ?? '').toLowerCase();
    if (path === '/dns-query' && accept.includes(DNS_MESSAGE) && !accept.includes('json') && !accept.includes('*/*')) {
      throw new DohError(400, 'bad request', `name= asks for the JSON API: send Accept: ${DNS_JSON}, or dns=<base64url> for ${DNS_MESSAGE}`);
    }
    let query;
    try {
      query = jsonQuery(params);
    } catch (err) {
      if (err instanceof JsonParamError) throw new DohError(400, 'bad request', err.message);
      throw err;
    }
    const answer = this.#deps.engine.handle(query.wire, 'doh', { address: this.#client(req) });
    if (!answer) throw new Error('the engine gave no answer to a query the JSON API built');
    if (params.get('ct') === DNS_MESSAGE) {
      return { status: 200, headers: { 'content-type': DNS_MESSAGE, 'cache-control': this.#cacheControl(answer) }, body: answer };
    }
    const type = accept.includes(DNS_JSON) ? DNS_JSON : 'application/json';
    return json(200, toJson(answer, query.ecs), type, { 'cache-control': this.#cacheControl(answer) });
  }

  #preflight(req: DohRequest, allow: string): DohResponse {
    const origin = req.header('origin');
    if (!origin || !req.header('access-control-request-method')) {
      return { status: 204, headers: { allow }, body: '' };
    }
    if (!this.#allowedOrigin(origin)) {
      throw new DohError(403, 'cors origin refused', `origin ${JSON.stringify(origin)} is not in doh.corsOrigins`);
    }
    return {
      status: 204,
      headers: {
        'access-control-allow-methods': allow,
        'access-control-allow-headers': 'accept, content-type',
        'access-control-max-age': '86400',
      },
      body: '',
    };
  }

  /** RFC 8484 §5.1: fresh for no longer than the smallest TTL; private when the answer is this client's. */
  #cacheControl(answer: Buffer): string {
    const seconds = freshnessSeconds(answer) ?? 0;
    const key = this.#deps.perClient() ? -1 - seconds : seconds;
    let text = this.#cacheControls.get(key);
    if (text === undefined) {
      text = `${key < 0 ? 'private' : 'public'}, max-age=${seconds}`;
      if (this.#cacheControls.size < 1000) this.#cacheControls.set(key, text);
    }
    return text;
  }

  #client(req: DohRequest): string {
    const trusted = this.#deps.config().trustedProxies;
    if (trusted.join() !== this.#proxies) {
      this.#proxies = trusted.join();
      this.#resolver = new ClientAddressResolver(trusted);
    }
    return this.#resolver.resolve(req.remoteAddress, { forwarded: req.header('forwarded'), xForwardedFor: req.header('x-forwarded-for') });
  }

  #allowedOrigin(origin: string): boolean {
    const origins = this.#deps.config().corsOrigins;
    return origins.includes('*') || origins.includes(origin);
  }

  #withCors(req: DohRequest, res: DohResponse): void {
    const origin = req.header('origin');
    if (!origin || !this.#allowedOrigin(origin)) return;
    const any = this.#deps.config().corsOrigins.includes('*');
    res.headers['access-control-allow-origin'] = any ? '*' : origin;
    if (!any) res.headers.vary = 'origin';
  }

  #failure(req: DohRequest, err: unknown): DohResponse {
    if (err instanceof DohError) {
      this.#deps.badInput.report('doh', err.kind, err.message, req.remoteAddress);
      const res = json(err.status, { error: err.message }, 'application/json', { 'cache-control': 'no-store' });
      if (err instanceof MethodError) res.headers.allow = err.allow;
      return res;
    }
    this.#deps.badInput.report('doh', 'internal error', (err as Error).message);
    return json(500, { error: 'internal error' }, 'application/json', { 'cache-control': 'no-store' });
  }

  #count(transport: DohTransport, format: string, status: number): void {
    const key = `${transport}/${format}/${status}`;
    let c = this.#requests.get(key);
    if (!c) {
      c = this.#deps.metrics.counter('driad_doh_requests_total', 'DoH and JSON API requests, by transport, format and HTTP status', { transport, format, status: String(status) });
      this.#requests.set(key, c);
    }
    c.inc();
  }
}

class MethodError extends DohError {
  readonly allow: string;
  constructor(method: string, allow: string) {
    super(405, 'method not allowed', `method ${method} is not allowed here (allowed: ${allow})`);
    this.allow = allow;
  }
}

function methodNotAllowed(method: string, allow: string): DohError {
  return new MethodError(method, allow);
}

/** The `dns` parameter: base64url without padding (RFC 8484 §6); padding is tolerated. */
function decodeDnsParam(text: string, maxBytes: number): Buffer {
  let unpadded = text.length;
  while (unpadded > 0 && text.charCodeAt(unpadded - 1) === 0x3d) unpadded--;
  if (!BASE64URL.test(text) || unpadded % 4 === 1) {
    throw new DohError(400, 'bad base64url', 'dns= is not base64url (RFC 4648 §5: A-Z a-z 0-9 - _, no padding)');
  }
  const decodedLength = Math.floor((unpadded * 3) / 4);
  if (decodedLength > maxBytes) throw new DohError(413, 'query too large', `query of ${decodedLength} bytes is larger than doh.maxQueryBytes (${maxBytes})`);
  return Buffer.from(text, 'base64url');
}

function json(status: number, body: unknown, type: string, headers: Record<string, string>): DohResponse {
  return { status, headers: { 'content-type': type, ...headers }, body: JSON.stringify(body) + '\n' };
}
