/**
 * A simulator of the Apache Traffic Ops API v4 wire protocol (Traffic Control 7/8), for tests and
 * benchmarks: no Traffic Ops can run here. It speaks the real shapes of the two endpoints driad uses:
 *
 *   POST /api/4.0/user/login  {"u","p"}  -> 200 + Set-Cookie: mojolicious=...; Path=/; Expires=...; HttpOnly
 *                                           {"alerts":[{"text":"Successfully logged in.","level":"success"}]}
 *                                        -> 401 {"alerts":[{"text":"Invalid username or password.","level":"error"}]}
 *   GET  /api/4.0/servers?...            -> 200 {"response":[<v4 server>...],"summary":{"count":n}}
 *                                           and a refreshed Set-Cookie, as Traffic Ops does on every authenticated request
 *                                        -> 401 {"alerts":[{"text":"Unauthorized, please log in.","level":"error"}]}
 *
 * See README.md in this folder for the modes and what is not simulated.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface TOIPAddress {
  address: string; // with a CIDR suffix, e.g. "69.25.95.1/32"
  gateway: string | null;
  serviceAddress: boolean;
}

export interface TOInterface {
  ipAddresses: TOIPAddress[];
  maxBandwidth: number | null;
  monitor: boolean;
  mtu: number | null;
  name: string;
  routerHostName: string;
  routerPortName: string;
}

/** A server as GET /api/4.0/servers returns it. */
export interface TOServerV4 {
  cachegroup: string;
  cachegroupId: number;
  cdnId: number;
  cdnName: string;
  configUpdateTime: string;
  configApplyTime: string;
  domainName: string;
  guid: string | null;
  hostName: string;
  httpsPort: number | null;
  id: number;
  iloIpAddress: string;
  iloIpGateway: string;
  iloIpNetmask: string;
  iloPassword: string;
  iloUsername: string;
  interfaces: TOInterface[];
  lastUpdated: string;
  mgmtIpAddress: string;
  mgmtIpGateway: string;
  mgmtIpNetmask: string;
  offlineReason: string;
  physLocation: string;
  physLocationId: number;
  profileNames: string[];
  rack: string;
  revalPending: boolean;
  revalUpdateTime: string;
  revalApplyTime: string;
  status: string;
  statusId: number;
  statusLastUpdated: string | null;
  tcpPort: number | null;
  type: string;
  typeId: number;
  updPending: boolean;
  xmppId: string;
  xmppPasswd: string;
}

/** Traffic Ops' default statuses and their ids. */
export const STATUS_IDS: Readonly<Record<string, number>> = { OFFLINE: 1, ONLINE: 2, REPORTED: 3, ADMIN_DOWN: 4, CCR_IGNORE: 5, PRE_PROD: 6 };

export interface MxServerOptions {
  id?: number;
  cachegroup?: string;
  cachegroupId?: number;
  /** Profile name(s); default AMT_RELAY_MX_PROFILE. */
  profile?: string | string[];
  status?: string;
  type?: string;
  domainName?: string;
  cdnName?: string;
  cdnId?: number;
  interfaceName?: string;
  /** Addresses on the same interface that are not service addresses (e.g. management). */
  otherAddresses?: string[];
  tcpPort?: number | null;
}

let nextId = 100;

/**
 * A realistic v4 server object for a Juniper MX registered as AMT_RELAY with AMT_RELAY_MX_PROFILE.
 * `address`: one or more service addresses; a bare address gets /32 or /128.
 */
export function mxServer(hostName: string, address: string | string[], opts: MxServerOptions = {}): TOServerV4 {
  const cidr = (a: string) => (a.includes('/') ? a : a.includes(':') ? `${a}/128` : `${a}/32`);
  const service = (Array.isArray(address) ? address : [address]).map((a): TOIPAddress => ({ address: cidr(a), gateway: null, serviceAddress: true }));
  const other = (opts.otherAddresses ?? []).map((a): TOIPAddress => ({ address: cidr(a), gateway: null, serviceAddress: false }));
  const status = opts.status ?? 'ONLINE';
  const epoch = '1970-01-01T00:00:00Z';
  return {
    cachegroup: opts.cachegroup ?? 'us-east-relay',
    cachegroupId: opts.cachegroupId ?? 7,
    cdnId: opts.cdnId ?? 2,
    cdnName: opts.cdnName ?? 'blockcast',
    configUpdateTime: epoch,
    configApplyTime: epoch,
    domainName: opts.domainName ?? 'relay.example.net',
    guid: null,
    hostName,
    httpsPort: null,
    id: opts.id ?? nextId++,
    iloIpAddress: '',
    iloIpGateway: '',
    iloIpNetmask: '',
    iloPassword: '',
    iloUsername: '',
    interfaces: [
      {
        ipAddresses: [...service, ...other],
        maxBandwidth: null,
        monitor: true,
        mtu: 9192,
        name: opts.interfaceName ?? 'lo0',
        routerHostName: '',
        routerPortName: '',
      },
    ],
    lastUpdated: '2025-03-04 10:11:12+00',
    mgmtIpAddress: '',
    mgmtIpGateway: '',
    mgmtIpNetmask: '',
    offlineReason: status === 'ONLINE' || status === 'REPORTED' ? '' : 'maintenance',
    physLocation: 'Ashburn',
    physLocationId: 3,
    profileNames: Array.isArray(opts.profile) ? [...opts.profile] : [opts.profile ?? 'AMT_RELAY_MX_PROFILE'],
    rack: '',
    revalPending: false,
    revalUpdateTime: epoch,
    revalApplyTime: epoch,
    status,
    statusId: STATUS_IDS[status] ?? 0,
    statusLastUpdated: null,
    tcpPort: opts.tcpPort === undefined ? null : opts.tcpPort,
    type: opts.type ?? 'AMT_RELAY',
    typeId: 42,
    updPending: false,
    xmppId: hostName,
    xmppPasswd: '********',
  };
}

export type TrafficOpsSimMode = 'ok' | 'down' | 'slow' | '500' | 'malformed' | 'wrong-shape' | 'unauthorized-always';

export interface TrafficOpsSimOptions {
  username?: string; // default 'driad'
  password?: string; // default 'twelve'
  servers?: TOServerV4[];
  /** Session lifetime from login and from each refresh (Traffic Ops: 6 hours). */
  sessionTtlMs?: number;
  /** How long 'slow' mode waits before answering (default 30 s). */
  slowMs?: number;
  /** Serve HTTPS with this key and certificate instead of plain HTTP. */
  tls?: { key: string | Buffer; cert: string | Buffer };
}

export interface SimRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  /** The Cookie header, or null. */
  cookie: string | null;
  /** The status answered (0 while the answer is pending or if the client went away). */
  status: number;
  at: number;
}

const JSON_HEADERS = { 'content-type': 'application/json', 'x-server-name': 'traffic_ops_golang/8.0.1' } as const;

export class TrafficOpsSim {
  url = '';
  port = 0;
  /** The servers Traffic Ops knows: edit freely between polls. */
  servers: TOServerV4[];
  /** Every request received, in order. */
  readonly requests: SimRequest[] = [];
  /** Lifetime of sessions created from now on (login and refresh). */
  sessionTtlMs: number;
  slowMs: number;
  username: string;
  password: string;

  #mode: TrafficOpsSimMode = 'ok';
  readonly #server: Server;
  readonly #sessions = new Map<string, number>(); // token -> expiry (epoch ms)
  readonly #timers = new Map<NodeJS.Timeout, () => void>();
  readonly #tls: boolean;
  #listening = false;

  constructor(opts: TrafficOpsSimOptions = {}) {
    this.servers = opts.servers ?? [];
    this.sessionTtlMs = opts.sessionTtlMs ?? 6 * 3600_000;
    this.slowMs = opts.slowMs ?? 30_000;
    this.username = opts.username ?? 'driad';
    this.password = opts.password ?? 'twelve';
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.#handle(req, res);
    this.#server = opts.tls ? createHttpsServer({ key: opts.tls.key, cert: opts.tls.cert }, handler) : createHttpServer(handler);
    this.#tls = Boolean(opts.tls);
  }

  get mode(): TrafficOpsSimMode {
    return this.#mode;
  }

  /** Successful logins so far. */
  get logins(): number {
    return this.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/api/4.0/user/login') && r.status === 200).length;
  }

  /** GET /api/4.0/servers requests so far (any outcome). */
  get serverListings(): number {
    return this.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/api/4.0/servers')).length;
  }

  async listen(port = 0): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#listening = true;
    this.port = (this.#server.address() as AddressInfo).port;
    this.url = `${this.#tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  /**
   * 'down' stops listening and drops every connection (clients get ECONNREFUSED); any other mode
   * listens again on the same port. 'slow' delays every answer by slowMs.
   */
  async setMode(mode: TrafficOpsSimMode): Promise<void> {
    const was = this.#mode;
    this.#mode = mode;
    if (mode === 'down' && was !== 'down') await this.#stopListening();
    else if (mode !== 'down' && !this.#listening) await this.listen(this.port);
  }

  /** Ends every session now (as a Traffic Ops restart with a new cookie secret would). */
  expireSessions(): void {
    this.#sessions.clear();
  }

  async close(): Promise<void> {
    for (const [t, wake] of this.#timers) {
      clearTimeout(t);
      wake();
    }
    this.#timers.clear();
    if (this.#listening) await this.#stopListening();
  }

  async #stopListening(): Promise<void> {
    this.#listening = false;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const entry: SimRequest = { method: req.method ?? '', path: req.url ?? '', cookie: req.headers.cookie ?? null, status: 0, at: Date.now() };
    this.requests.push(entry);
    res.on('finish', () => (entry.status = res.statusCode));
    const body = await readBody(req);
    if (this.#mode === 'slow') {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          this.#timers.delete(t);
          resolve();
        }, this.slowMs);
        this.#timers.set(t, resolve);
      });
      if (res.destroyed || res.writableEnded) return;
    }
    const url = new URL(req.url ?? '/', 'http://sim');
    if (url.pathname === '/api/4.0/user/login') {
      if (req.method !== 'POST') return send(res, 405, alert('Method not allowed.', 'error'));
      return this.#login(res, body);
    }
    if (url.pathname === '/api/4.0/servers') {
      if (req.method !== 'GET') return send(res, 405, alert('Method not allowed.', 'error'));
      return this.#servers(req, res, url.searchParams);
    }
    send(res, 404, alert('Resource not found.', 'error'));
  }

  #login(res: ServerResponse, body: string): void {
    let form: { u?: unknown; p?: unknown };
    try {
      form = JSON.parse(body) as { u?: unknown; p?: unknown };
    } catch (err) {
      return send(res, 400, alert((err as Error).message, 'error'));
    }
    if (this.#mode === 'unauthorized-always' || form?.u !== this.username || form?.p !== this.password) {
      return send(res, 401, alert('Invalid username or password.', 'error'));
    }
    const expiry = Date.now() + this.sessionTtlMs;
    res.setHeader('set-cookie', `mojolicious=${this.#newSession(expiry)}; Path=/; Expires=${new Date(expiry).toUTCString()}; HttpOnly`);
    send(res, 200, alert('Successfully logged in.', 'success'));
  }

  #servers(req: IncomingMessage, res: ServerResponse, q: URLSearchParams): void {
    const token = cookieValue(req.headers.cookie, 'mojolicious');
    const expiry = token === undefined ? undefined : this.#sessions.get(token);
    if (this.#mode === 'unauthorized-always' || expiry === undefined || expiry <= Date.now()) {
      if (token !== undefined) this.#sessions.delete(token);
      return send(res, 401, alert('Unauthorized, please log in.', 'error'));
    }
    // Traffic Ops refreshes the session cookie on every authenticated request (tocookie.Refresh).
    res.setHeader('set-cookie', `mojolicious=${this.#newSession(Date.now() + this.sessionTtlMs)}; Path=/; HttpOnly`);
    if (this.#mode === '500') return send(res, 500, alert('Internal Server Error', 'error'));
    if (this.#mode === 'malformed') return send(res, 200, '{"response":[{"hostName":"mx1","cachegroup":');
    if (this.#mode === 'wrong-shape') return send(res, 200, alert('servers listed', 'success'));
    for (const k of ['cachegroup', 'id', 'cdn']) {
      const v = q.get(k);
      if (v !== null && !/^-?\d+$/.test(v)) return send(res, 400, alert(`${k}: must be an integer`, 'error'));
    }
    const list = this.servers.filter((s) => matches(s, q));
    send(res, 200, JSON.stringify({ response: list, summary: { count: list.length } }));
  }

  #newSession(expiry: number): string {
    const token = randomBytes(24).toString('base64url');
    this.#sessions.set(token, expiry);
    return token;
  }
}

/** Starts a simulator on 127.0.0.1 on a free port. */
export async function startTrafficOpsSim(opts: TrafficOpsSimOptions = {}): Promise<TrafficOpsSim> {
  const sim = new TrafficOpsSim(opts);
  await sim.listen(0);
  return sim;
}

/** Query parameters as Traffic Ops v4 filters servers (exact match; unknown parameters are ignored, as Traffic Ops does). */
function matches(s: TOServerV4, q: URLSearchParams): boolean {
  const x = s as unknown as Record<string, unknown>; // tests may plant malformed servers
  const eq = (param: string, value: unknown) => {
    const want = q.get(param);
    return want === null || String(value) === want;
  };
  const profileName = q.get('profileName');
  const profiles = Array.isArray(x.profileNames) ? x.profileNames : [];
  return (
    eq('cachegroup', x.cachegroupId) &&
    eq('cachegroupName', x.cachegroup) &&
    eq('hostName', x.hostName) &&
    eq('id', x.id) &&
    eq('status', x.status) &&
    eq('type', x.type) &&
    eq('cdn', x.cdnId) &&
    (profileName === null || profiles.includes(profileName))
  );
}

function alert(text: string, level: 'success' | 'error' | 'warning' | 'info'): string {
  return JSON.stringify({ alerts: [{ text, level }] });
}

function send(res: ServerResponse, status: number, body: string): void {
  if (res.destroyed || res.writableEnded) return;
  const buf = Buffer.from(body, 'utf8');
  res.writeHead(status, {
    ...JSON_HEADERS,
    'content-length': buf.length,
    'whole-content-sha512': createHash('sha512').update(buf).digest('base64'),
  });
  res.end(buf);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of req) chunks.push(c as Buffer);
  } catch {
    // the client went away
  }
  return Buffer.concat(chunks).toString('utf8');
}
