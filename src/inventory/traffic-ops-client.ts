import { Agent, request } from 'undici';
import { CookieJar } from './cookie-jar.ts';
import { InventoryError } from './inventory-error.ts';

/** Traffic Ops API version this client speaks (Apache Traffic Control 7 and 8 serve it). */
export const API_PREFIX = '/api/4.0';
export const LOGIN_PATH = `${API_PREFIX}/user/login`;
export const SERVERS_PATH = `${API_PREFIX}/servers`;

/** Larger answers are refused: a cachegroup's server list is kilobytes. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface TrafficOpsClientOptions {
  url: string;
  username: string;
  password: string;
  timeoutMs: number;
  tlsSkipVerify: boolean;
}

interface Reply {
  status: number;
  text: string;
}

/**
 * A minimal Traffic Ops API v4 client: cookie login (`POST /api/4.0/user/login` with `{"u","p"}`),
 * the session cookie kept and refreshed from every `Set-Cookie`, and on a 401 one fresh login and
 * one retry. Every request has its own deadline (timeoutMs); close() aborts whatever is in flight.
 * Every failure is an InventoryError whose message is one line naming the step.
 */
export class TrafficOpsClient {
  readonly #opts: TrafficOpsClientOptions;
  readonly #base: string;
  readonly #agent: Agent;
  readonly #jar = new CookieJar();
  readonly #closing = new AbortController();
  #logins = 0;

  constructor(opts: TrafficOpsClientOptions) {
    this.#opts = opts;
    this.#base = opts.url.replace(/\/+$/, '');
    this.#agent = new Agent({
      connect: { rejectUnauthorized: !opts.tlsSkipVerify, timeout: opts.timeoutMs },
      // Within a poll (login, list) the connection is reused; across polls (every 30 s or so) a fresh one is
      // cheaper than the race of reusing a socket Traffic Ops is closing.
      keepAliveTimeout: 4_000,
      keepAliveMaxTimeout: 4_000,
    });
  }

  /** Successful logins since construction (one per session). */
  get logins(): number {
    return this.#logins;
  }

  /**
   * `GET /api/4.0/servers?<params>`, logging in first when there is no session, and once more when
   * Traffic Ops says the session is over. Returns the parsed JSON body of the 200 answer.
   */
  async getServers(params: Record<string, string>): Promise<unknown> {
    const path = `${SERVERS_PATH}?${new URLSearchParams(params).toString()}`;
    if (this.#jar.size === 0) await this.#login();
    let reply = await this.#send('GET', path, SERVERS_PATH);
    if (reply.status === 401) {
      // The session timed out (or Traffic Ops restarted with a new secret): log in again, retry once.
      this.#jar.clear();
      await this.#login();
      reply = await this.#send('GET', path, SERVERS_PATH);
      if (reply.status === 401) {
        this.#jar.clear();
        throw new InventoryError('unauthorized', `GET ${SERVERS_PATH}: 401 Unauthorized right after a fresh login${alertSuffix(reply.text)}`);
      }
    }
    if (reply.status !== 200) throw new InventoryError('http-status', `GET ${SERVERS_PATH}: HTTP ${reply.status}${alertSuffix(reply.text)}`);
    try {
      return JSON.parse(reply.text);
    } catch (err) {
      throw new InventoryError('malformed-json', `malformed JSON from ${SERVERS_PATH}: ${(err as Error).message}`);
    }
  }

  /** Aborts requests in flight and closes the connections. The client cannot be used afterwards. */
  async close(): Promise<void> {
    this.#closing.abort();
    await this.#agent.destroy().catch(() => {});
  }

  async #login(): Promise<void> {
    this.#jar.clear();
    const body = JSON.stringify({ u: this.#opts.username, p: this.#opts.password });
    const reply = await this.#send('POST', LOGIN_PATH, 'login', body);
    if (reply.status === 401 || reply.status === 403) {
      throw new InventoryError('login-failed', `login: ${reply.status} ${reply.status === 401 ? 'Unauthorized' : 'Forbidden'}${alertSuffix(reply.text)}`);
    }
    if (reply.status !== 200) throw new InventoryError('http-status', `login: HTTP ${reply.status}${alertSuffix(reply.text)}`);
    if (this.#jar.size === 0) throw new InventoryError('login-failed', 'login: 200 OK but no session cookie (Set-Cookie) in the answer');
    this.#logins++;
  }

  /** One request with its own deadline; `label` names the step in error messages. */
  async #send(method: 'GET' | 'POST', path: string, label: string, body?: string): Promise<Reply> {
    const where = label === 'login' ? 'login' : `${method} ${label}`;
    if (this.#closing.signal.aborted) throw new InventoryError('aborted', `${where}: stopped`);
    const deadline = AbortSignal.timeout(this.#opts.timeoutMs);
    const signal = AbortSignal.any([this.#closing.signal, deadline]);
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'driad' };
    const cookie = this.#jar.header();
    if (cookie) headers.cookie = cookie;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await request(`${this.#base}${path}`, { method, headers, body, signal, dispatcher: this.#agent });
      this.#jar.store(res.headers['set-cookie']);
      let size = 0;
      const chunks: Buffer[] = [];
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          res.body.destroy();
          throw new InventoryError('too-large', `${where}: answer larger than ${MAX_BODY_BYTES} bytes`);
        }
        chunks.push(chunk);
      }
      return { status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') };
    } catch (err) {
      if (err instanceof InventoryError) throw err;
      if (this.#closing.signal.aborted) throw new InventoryError('aborted', `${where}: stopped`);
      if (deadline.aborted) throw new InventoryError('timeout', `${where}: no answer within ${this.#opts.timeoutMs} ms`);
      throw networkError(where, err);
    }
  }
}

function networkError(where: string, err: unknown): InventoryError {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e?.code ?? e?.cause?.code ?? '';
  const message = e?.cause?.message && !String(e.message ?? '').includes(e.cause.message) ? `${e.message}: ${e.cause.message}` : String(e?.message ?? err);
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return new InventoryError('timeout', `${where}: ${message}`);
  if (code === 'UND_ERR_SOCKET') return new InventoryError('unreachable', `${where}: connection closed by Traffic Ops before the answer (${message})`);
  if (/CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY/i.test(code)) return new InventoryError('tls', `${where}: ${message}`);
  return new InventoryError('unreachable', `${where}: ${message}`);
}

/** `: <text>` from Traffic Ops' `{"alerts":[{"text":...,"level":"error"}]}`, if the body has one. */
function alertSuffix(text: string): string {
  try {
    const doc = JSON.parse(text) as { alerts?: Array<{ text?: unknown }> };
    const texts = Array.isArray(doc?.alerts) ? doc.alerts.map((a) => a?.text).filter((s): s is string => typeof s === 'string' && s !== '') : [];
    return texts.length ? `: ${texts.join('; ').slice(0, 300)}` : '';
  } catch {
    return '';
  }
}
