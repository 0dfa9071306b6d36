/**
 * A simulated Juniper MX gNMI target (JGrpcServer) on grpc-js: Capabilities, Get, Subscribe
 * (STREAM with SAMPLE / ON_CHANGE / TARGET_DEFINED, ONCE, POLL), Junos-shaped data from model.ts,
 * Juniper's telemetry header on every update, mTLS or plaintext, JGrpcServer's metadata
 * credential check, and failures on command. See README.md in this folder.
 */
import { once } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import { EID_JUNIPER_TELEMETRY_HEADER } from '../../../src/collectors/gnmi/wire/extension.ts';
import { encodeMessage, gnmiServiceDefinition } from '../../../src/collectors/gnmi/wire/load.ts';
import { joinPath, pathFromMsg, pathToMsg, pathToString, type GnmiPath } from '../../../src/collectors/gnmi/wire/path.ts';
import type {
  CapabilityResponseMsg,
  ExtensionMsg,
  GetRequestMsg,
  GetResponseMsg,
  NotificationMsg,
  SubscribeRequestMsg,
  SubscribeResponseMsg,
  SubscriptionListMsg,
} from '../../../src/collectors/gnmi/wire/types.ts';
import { encodeSubscribeResponse } from './fast-encode.ts';
import { MxModel, type Change, type LeafKind, type MxModelOptions } from './model.ts';
import type { CertKey, TestPki } from './pki.ts';
import { render, type Corruption, type SimEncoding } from './render.ts';
import { implemented, overlaps, select, selectLeaves, type Selector } from './select.ts';

export type FailKind =
  | 'end-stream' // once: every open Subscribe ends with status OK
  | 'error-stream' // once: every open Subscribe ends with an error status (default UNAVAILABLE)
  | 'drop-connections' // once: the listener restarts, every connection is cut
  | 'garbage' // once: a message that is not protobuf is sent on every open Subscribe
  | 'silent' // nothing more is sent: no updates, no heartbeats, no sync_response
  | 'wrong-type' // values of the wrong type (counters as text, state as numbers)
  | 'bad-json' // values whose JSON does not parse
  | 'refuse-stream' // STREAM subscriptions are refused with UNIMPLEMENTED (POLL and ONCE work)
  | 'close-stream' // STREAM subscriptions are ended (status OK) as soon as they arrive
  | 'no-sync' // sync_response is never sent
  | 'flood' // SAMPLE rounds back to back, as fast as the connection takes them
  | 'reject-auth' // every RPC: UNAUTHENTICATED, whatever the credentials
  | 'permission-denied' // every RPC: PERMISSION_DENIED
  | 'expired-cert' // the listener restarts with an expired server certificate
  | 'wrong-ca-cert' // ... with a server certificate from another CA
  | 'wrong-name-cert'; // ... with a server certificate for another name

const LASTING: ReadonlySet<FailKind> = new Set([
  'silent',
  'wrong-type',
  'bad-json',
  'refuse-stream',
  'close-stream',
  'no-sync',
  'flood',
  'reject-auth',
  'permission-denied',
  'expired-cert',
  'wrong-ca-cert',
  'wrong-name-cert',
]);
const CERT_FAULTS: ReadonlySet<FailKind> = new Set(['expired-cert', 'wrong-ca-cert', 'wrong-name-cert']);

export interface SimAuth {
  username: string;
  password: string;
  /**
   * Junos `skip-authentication`: the credentials are not checked against a local user, but
   * JGrpcServer still requires a username and a non-empty password in the metadata.
   */
  skipAuthentication?: boolean;
}

export interface GnmiMxOptions extends MxModelOptions {
  host?: string; // default 127.0.0.1
  port?: number; // default 0: a free port
  /** mTLS with the test PKI (client certificate required and verified), or plaintext (false, the default). */
  tls?: false | { pki: TestPki; requireClientCert?: boolean };
  auth?: SimAuth;
  juniperHeader?: boolean; // default true
  minSampleIntervalMs?: number; // the lowest sample interval; default 10
  targetDefinedSampleMs?: number; // SAMPLE interval for counters under TARGET_DEFINED; default 1000
  bundle?: number; // entries per Notification; default 1
  churnPerSecond?: number; // tunnels that leave and arrive per second on their own; default 0
}

export interface SimStats {
  rpcs: Record<string, number>;
  authRejected: number;
  subscribes: Record<'STREAM' | 'ONCE' | 'POLL', number>;
  openStreams: number;
  notifications: number;
  updates: number;
  deletes: number;
  syncs: number;
  polls: number;
  rounds: number;
  skippedRounds: number; // a SAMPLE tick while the previous round was still being written
  lastMetadata?: { username?: string; passwordGiven: boolean };
}

export interface GnmiMx {
  readonly port: number;
  readonly address: string;
  readonly model: MxModel;
  readonly stats: SimStats;
  readonly failing: ReadonlySet<FailKind>;
  setTunnels(n: number): void;
  churn(k: number): void;
  reboot(): void;
  setOperStatus(name: string, status: 'UP' | 'DOWN'): void;
  fail(kind: FailKind, options?: { code?: grpc.status; details?: string }): Promise<void>;
  heal(): Promise<void>;
  stop(): Promise<void>;
}

export const DEFAULT_AUTH: SimAuth = { username: 'driad', password: 'gnmi-sim-password' };

/** A message that is not protobuf: field 1 length-delimited, with a length past the end. */
const GARBAGE = Buffer.from('0affffffff0f01', 'hex');

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

type StatusError = { code: grpc.status; details: string };

function statusError(code: grpc.status, details: string): grpc.ServiceError {
  return Object.assign(new Error(details), { code, details, metadata: new grpc.Metadata() });
}

function encodingOf(v: SubscriptionListMsg['encoding'] | GetRequestMsg['encoding']): SimEncoding | StatusError {
  const e = v ?? 'JSON';
  if (e === 'JSON' || e === 'JSON_IETF' || e === 'PROTO') return e;
  if (e === 'ASCII' || e === 'BYTES') return { code: grpc.status.UNIMPLEMENTED, details: `unsupported encoding ${e}` };
  return { code: grpc.status.INVALID_ARGUMENT, details: `unknown encoding ${String(e)}` };
}

function nsToMs(v: string | number | undefined): number {
  if (v === undefined) return 0;
  return Number(BigInt(v) / 1_000_000n);
}

interface Sub extends Selector {
  mode: 'SAMPLE' | 'ON_CHANGE';
  sampleMs: number;
  heartbeatMs: number;
  text: string; // the subscribed path as a string, for the Juniper header
  sensor: string;
  busy: boolean;
}

const COUNTERS: ReadonlySet<LeafKind> = new Set(['counter']);
const STATE: ReadonlySet<LeafKind> = new Set(['state']);
const ALL_KINDS: ReadonlySet<LeafKind> = new Set(['counter', 'state']);

class Sim implements GnmiMx {
  readonly model: MxModel;
  readonly stats: SimStats = {
    rpcs: {},
    authRejected: 0,
    subscribes: { STREAM: 0, ONCE: 0, POLL: 0 },
    openStreams: 0,
    notifications: 0,
    updates: 0,
    deletes: 0,
    syncs: 0,
    polls: 0,
    rounds: 0,
    skippedRounds: 0,
  };
  readonly failing = new Set<FailKind>();
  readonly sessions = new Set<Session>();
  readonly options: GnmiMxOptions;
  readonly auth: SimAuth;
  private server: grpc.Server | undefined;
  private host: string;
  port = 0;
  private stopped = false;
  private streamSeq = 0;
  private churnTimer: NodeJS.Timeout | undefined;

  constructor(options: GnmiMxOptions) {
    this.options = options;
    this.model = new MxModel(options);
    this.auth = options.auth ?? DEFAULT_AUTH;
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 0;
    const churn = options.churnPerSecond ?? 0;
    if (churn > 0) {
      let owed = 0; // fractions of a tunnel carried to the next tick
      this.churnTimer = setInterval(() => {
        owed += churn / 10;
        const k = Math.floor(owed);
        owed -= k;
        if (k > 0) this.model.churn(k);
      }, 100);
    }
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  nextSensor(): number {
    return ++this.streamSeq;
  }

  setTunnels(n: number): void {
    this.model.setTunnels(n);
  }
  churn(k: number): void {
    this.model.churn(k);
  }
  reboot(): void {
    this.model.reboot();
  }
  setOperStatus(name: string, status: 'UP' | 'DOWN'): void {
    this.model.setOperStatus(name, status);
  }

  private serverCert(): CertKey | undefined {
    const tls = this.options.tls;
    if (!tls) return undefined;
    if (this.failing.has('expired-cert')) return tls.pki.expired;
    if (this.failing.has('wrong-ca-cert')) return tls.pki.serverOtherCa;
    if (this.failing.has('wrong-name-cert')) return tls.pki.wrongName;
    return tls.pki.server;
  }

  async listen(): Promise<void> {
    const server = new grpc.Server();
    const service = gnmiServiceDefinition();
    const subscribe = service.Subscribe!;
    // Buffers pass unencoded, so that 'garbage' can put bytes that are not protobuf on the wire
    const wrapped = { ...service, Subscribe: { ...subscribe, responseSerialize: (v: unknown) => (Buffer.isBuffer(v) ? v : subscribe.responseSerialize(v)) } };
    server.addService(wrapped as grpc.ServiceDefinition, this.handlers());
    const tls = this.options.tls;
    const cert = this.serverCert();
    const credentials =
      tls && cert
        ? grpc.ServerCredentials.createSsl(tls.pki.ca.cert, [{ private_key: cert.key, cert_chain: cert.cert }], tls.requireClientCert ?? true)
        : grpc.ServerCredentials.createInsecure();
    for (let attempt = 0; ; attempt++) {
      try {
        this.port = await new Promise<number>((resolve, reject) => server.bindAsync(this.address, credentials, (err, port) => (err ? reject(err) : resolve(port))));
        break;
      } catch (err) {
        if (attempt >= 50) throw err; // the old listener's port is not free yet after a restart
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    this.server = server;
  }

  private async restart(): Promise<void> {
    for (const s of this.sessions) s.close();
    // Cut the TCP connections first, as a router reboot or a jsd restart does: forceShutdown alone
    // sends GOAWAY(CANCEL), which grpc-js clients may report as CANCELLED instead of UNAVAILABLE.
    // (`sessions` is grpc-js's own list of HTTP/2 sessions: internal, hence the guard.)
    const sessions = (this.server as unknown as { sessions?: Map<{ socket?: { destroy(): void } }, unknown> } | undefined)?.sessions;
    if (sessions instanceof Map) for (const session of sessions.keys()) session.socket?.destroy();
    this.server?.forceShutdown();
    this.server = undefined;
    if (!this.stopped) await this.listen();
  }

  async fail(kind: FailKind, options: { code?: grpc.status; details?: string } = {}): Promise<void> {
    switch (kind) {
      case 'end-stream':
        for (const s of [...this.sessions]) s.end();
        return;
      case 'error-stream':
        for (const s of [...this.sessions]) s.error({ code: options.code ?? grpc.status.UNAVAILABLE, details: options.details ?? 'telemetry stream aborted by the target' });
        return;
      case 'drop-connections':
        await this.restart();
        return;
      case 'garbage':
        for (const s of [...this.sessions]) s.writeRaw(GARBAGE);
        return;
    }
    if (!LASTING.has(kind)) throw new Error(`unknown failure ${kind}`);
    if (CERT_FAULTS.has(kind)) {
      for (const k of CERT_FAULTS) this.failing.delete(k);
      this.failing.add(kind);
      await this.restart();
      return;
    }
    this.failing.add(kind);
    if (kind === 'flood') for (const s of this.sessions) s.startFlood();
  }

  async heal(): Promise<void> {
    const hadCert = [...CERT_FAULTS].some((k) => this.failing.has(k));
    this.failing.clear();
    if (hadCert) await this.restart();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.churnTimer);
    for (const s of this.sessions) s.close();
    // not tryShutdown: it waits for every client to go away, and an idle client channel never does
    this.server?.forceShutdown();
    this.server = undefined;
  }

  /** JGrpcServer's check of the `username` / `password` metadata; null when the call may go on. */
  checkAuth(md: grpc.Metadata): StatusError | null {
    const username = String(md.get('username')[0] ?? '');
    const password = String(md.get('password')[0] ?? '');
    this.stats.lastMetadata = { ...(username ? { username } : {}), passwordGiven: password !== '' };
    let denied: StatusError | null = null;
    if (this.failing.has('permission-denied')) denied = { code: grpc.status.PERMISSION_DENIED, details: 'user is not authorized for this operation' };
    else if (this.failing.has('reject-auth')) denied = { code: grpc.status.UNAUTHENTICATED, details: 'authentication failed' };
    else if (!username) denied = { code: grpc.status.UNAUTHENTICATED, details: 'missing username in metadata' };
    else if (!password) denied = { code: grpc.status.UNAUTHENTICATED, details: 'missing or empty password in metadata' };
    else if (!this.auth.skipAuthentication && (username !== this.auth.username || password !== this.auth.password)) {
      denied = { code: grpc.status.UNAUTHENTICATED, details: 'authentication failed: invalid username or password' };
    }
    if (denied) this.stats.authRejected++;
    return denied;
  }

  capabilities(): CapabilityResponseMsg {
    return {
      supported_models: [
        { name: 'openconfig-interfaces', organization: 'OpenConfig working group', version: '2.5.0' },
        { name: 'openconfig-if-ethernet', organization: 'OpenConfig working group', version: '2.11.0' },
        { name: 'junos-configuration-metadata', organization: 'Juniper Networks, Inc.', version: '24.4R1' },
        { name: 'xmlproxyd_amt-summary', organization: 'driad (custom XML proxy sensor, deploy/junos)', version: '2026-01-01' },
        { name: 'xmlproxyd_amt-statistics', organization: 'driad (custom XML proxy sensor, deploy/junos)', version: '2026-01-01' },
        { name: 'xmlproxyd_amt-tunnel', organization: 'driad (custom XML proxy sensor, deploy/junos)', version: '2026-01-01' },
      ],
      supported_encodings: ['JSON', 'JSON_IETF', 'PROTO'],
      gNMI_version: '0.7.0', // what Juniper's published gnmi.proto declares
    };
  }

  get(req: GetRequestMsg): GetResponseMsg | StatusError {
    const encoding = encodingOf(req.encoding);
    if (typeof encoding !== 'string') return encoding;
    const prefix = pathFromMsg(req.prefix);
    const notifications: NotificationMsg[] = [];
    if (req.type === 'CONFIG') return { notification: [] }; // the simulated data is all state
    for (const p of req.path?.length ? req.path : [{}]) {
      const joined = joinPath(prefix, pathFromMsg(p));
      if (!joined.ok) return { code: grpc.status.INVALID_ARGUMENT, details: joined.error };
      if (!implemented(joined.value, this.model.sections)) return { code: grpc.status.UNIMPLEMENTED, details: `path ${pathToString(joined.value)} is not implemented` };
      const selected = select(this.model.sections, [{ path: joined.value, kinds: ALL_KINDS }], Date.now());
      const rendered = [...render(selected, { encoding, ...(prefix.target ? { target: prefix.target } : {}), ...this.corruption() }, nowNs)];
      if (rendered.length === 0) return { code: grpc.status.NOT_FOUND, details: `path ${pathToString(joined.value)} does not exist` };
      notifications.push(...rendered);
    }
    return { notification: notifications };
  }

  corruption(): { corrupt?: Corruption } {
    if (this.failing.has('wrong-type')) return { corrupt: 'wrong-type' };
    if (this.failing.has('bad-json')) return { corrupt: 'bad-json' };
    return {};
  }

  private count(rpc: string): void {
    this.stats.rpcs[rpc] = (this.stats.rpcs[rpc] ?? 0) + 1;
  }

  private handlers(): grpc.UntypedServiceImplementation {
    return {
      Capabilities: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<CapabilityResponseMsg>) => {
        this.count('Capabilities');
        const denied = this.checkAuth(call.metadata);
        if (denied) return cb(statusError(denied.code, denied.details));
        cb(null, this.capabilities());
      },
      Get: (call: grpc.ServerUnaryCall<GetRequestMsg, unknown>, cb: grpc.sendUnaryData<GetResponseMsg>) => {
        this.count('Get');
        const denied = this.checkAuth(call.metadata);
        if (denied) return cb(statusError(denied.code, denied.details));
        const res = this.get(call.request);
        if ('code' in res) return cb(statusError(res.code, res.details));
        cb(null, res);
      },
      Set: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        this.count('Set');
        const denied = this.checkAuth(call.metadata);
        cb(statusError(denied?.code ?? grpc.status.UNIMPLEMENTED, denied?.details ?? 'Set is not simulated'));
      },
      Subscribe: (call: grpc.ServerDuplexStream<SubscribeRequestMsg, SubscribeResponseMsg | Buffer>) => {
        this.count('Subscribe');
        const denied = this.checkAuth(call.metadata);
        if (denied) {
          call.emit('error', denied);
          return;
        }
        new Session(this, call);
      },
    };
  }
}

/** One Subscribe RPC. */
class Session {
  private readonly sim: Sim;
  private readonly call: grpc.ServerDuplexStream<SubscribeRequestMsg, SubscribeResponseMsg | Buffer>;
  private readonly abort = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly createdAt = Date.now();
  private mode: 'STREAM' | 'ONCE' | 'POLL' | undefined;
  private encoding: SimEncoding = 'JSON';
  private target: string | undefined;
  private subs: Sub[] = [];
  private seq = 0n;
  private queue: Promise<void> = Promise.resolve();
  private flooding = false;
  private closed = false;
  private readonly onChange = (c: Change) => this.enqueue(() => this.changed(c));

  constructor(sim: Sim, call: grpc.ServerDuplexStream<SubscribeRequestMsg, SubscribeResponseMsg | Buffer>) {
    this.sim = sim;
    this.call = call;
    sim.sessions.add(this);
    sim.stats.openStreams++;
    call.on('data', (req: SubscribeRequestMsg) => this.request(req));
    call.on('end', () => {
      if (this.mode === 'POLL' || this.mode === undefined) this.end();
    });
    call.on('cancelled', () => this.close());
    call.on('close', () => this.close());
    call.on('error', () => this.close());
  }

  private request(req: SubscribeRequestMsg): void {
    if (this.closed) return;
    const which = req.request ?? (req.subscribe ? 'subscribe' : req.poll ? 'poll' : undefined);
    if (this.mode === undefined) {
      if (which !== 'subscribe' || !req.subscribe) return this.error({ code: grpc.status.INVALID_ARGUMENT, details: 'the first SubscribeRequest must carry a SubscriptionList' });
      return this.start(req.subscribe);
    }
    if (which === 'subscribe') return this.error({ code: grpc.status.INVALID_ARGUMENT, details: 'a SubscriptionList was already received on this RPC' });
    if (which === 'poll') {
      if (this.mode !== 'POLL') return this.error({ code: grpc.status.INVALID_ARGUMENT, details: `Poll on a ${this.mode} subscription` });
      this.sim.stats.polls++;
      this.enqueue(async () => {
        for (const sub of this.subs) await this.round(sub, 'PERIODIC');
        await this.sync();
      });
      return;
    }
    this.error({ code: grpc.status.INVALID_ARGUMENT, details: 'empty SubscribeRequest' });
  }

  private start(list: SubscriptionListMsg): void {
    const mode = list.mode ?? 'STREAM';
    if (mode !== 'STREAM' && mode !== 'ONCE' && mode !== 'POLL') return this.error({ code: grpc.status.INVALID_ARGUMENT, details: `unknown subscription mode ${String(mode)}` });
    const encoding = encodingOf(list.encoding);
    if (typeof encoding !== 'string') return this.error(encoding);
    if (!list.subscription?.length) return this.error({ code: grpc.status.INVALID_ARGUMENT, details: 'SubscriptionList without subscriptions' });
    const prefix = pathFromMsg(list.prefix);
    const min = this.sim.options.minSampleIntervalMs ?? 10;
    const subs: Sub[] = [];
    for (const s of list.subscription) {
      const joined = joinPath(prefix, pathFromMsg(s.path));
      if (!joined.ok) return this.error({ code: grpc.status.INVALID_ARGUMENT, details: joined.error });
      const path = joined.value;
      if (!implemented(path, this.sim.model.sections)) return this.error({ code: grpc.status.UNIMPLEMENTED, details: `path ${pathToString(path)} is not implemented` });
      const text = pathToString(path);
      const sensor = `sensor_${1000 + this.sim.nextSensor()}`;
      const heartbeatMs = nsToMs(s.heartbeat_interval);
      const base = { path, text, sensor, heartbeatMs, busy: false };
      const subMode = s.mode ?? 'TARGET_DEFINED';
      if (subMode === 'SAMPLE') {
        let sampleMs = nsToMs(s.sample_interval);
        if (sampleMs === 0) sampleMs = min;
        if (sampleMs < min) return this.error({ code: grpc.status.INVALID_ARGUMENT, details: `sample_interval ${sampleMs} ms is below the minimum ${min} ms` });
        subs.push({ ...base, mode: 'SAMPLE', sampleMs, kinds: ALL_KINDS });
      } else if (subMode === 'ON_CHANGE') {
        subs.push({ ...base, mode: 'ON_CHANGE', sampleMs: 0, kinds: ALL_KINDS });
      } else if (subMode === 'TARGET_DEFINED') {
        subs.push({ ...base, mode: 'SAMPLE', sampleMs: this.sim.options.targetDefinedSampleMs ?? 1000, kinds: COUNTERS });
        subs.push({ ...base, mode: 'ON_CHANGE', sampleMs: 0, kinds: STATE });
      } else {
        return this.error({ code: grpc.status.INVALID_ARGUMENT, details: `unknown subscription mode ${String(subMode)}` });
      }
    }
    this.sim.stats.subscribes[mode]++;
    if (mode === 'STREAM' && this.sim.failing.has('refuse-stream')) {
      return this.error({ code: grpc.status.UNIMPLEMENTED, details: 'STREAM subscriptions are not supported on this target; use POLL or ONCE' });
    }
    if (mode === 'STREAM' && this.sim.failing.has('close-stream')) return this.end();
    this.mode = mode;
    this.encoding = encoding;
    this.target = prefix.target;
    this.subs = subs;
    const updatesOnly = list.updates_only ?? false;
    if (mode === 'POLL') return;
    this.enqueue(async () => {
      if (!updatesOnly) for (const sub of subs) await this.round(sub, 'INITIAL_SYNC');
      await this.sync();
      if (mode === 'ONCE') this.end();
    });
    if (mode !== 'STREAM') return;
    for (const sub of subs) {
      if (sub.mode === 'SAMPLE') this.timers.push(setInterval(() => this.tick(sub), sub.sampleMs));
      if (sub.mode === 'ON_CHANGE' && sub.heartbeatMs > 0) this.timers.push(setInterval(() => this.tick(sub), sub.heartbeatMs));
    }
    if (subs.some((s) => s.mode === 'ON_CHANGE')) this.sim.model.on('change', this.onChange);
    if (this.sim.failing.has('flood')) this.startFlood();
  }

  private tick(sub: Sub): void {
    if (this.closed || this.flooding) return;
    if (sub.busy) {
      this.sim.stats.skippedRounds++;
      return;
    }
    sub.busy = true;
    this.enqueue(async () => {
      try {
        await this.round(sub, sub.mode === 'SAMPLE' ? 'PERIODIC' : 'ONCHANGE');
      } finally {
        sub.busy = false;
      }
    });
  }

  startFlood(): void {
    if (this.mode !== 'STREAM' || this.flooding || this.closed) return;
    this.flooding = true;
    this.enqueue(async () => {
      while (!this.closed && this.sim.failing.has('flood')) {
        for (const sub of this.subs) await this.round(sub, 'PERIODIC');
        await new Promise((r) => setImmediate(r));
      }
      this.flooding = false;
    });
  }

  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(work).catch(() => this.close());
  }

  /** Juniper's header for one notification: the daemon is mib2d for interfaces, xmlproxyd for the AMT sensors. */
  private header(n: NotificationMsg, sub: Sub | undefined, streamType: 'INITIAL_SYNC' | 'ONCHANGE' | 'PERIODIC', eom: boolean): ExtensionMsg[] {
    if (this.sim.options.juniperHeader === false) return [];
    const now = Date.now();
    const first = n.prefix?.elem?.[0]?.name ?? n.update?.[0]?.path?.elem?.[0]?.name ?? n.delete?.[0]?.elem?.[0]?.name;
    const component = first === 'interfaces' ? 'mib2d' : 'xmlproxyd';
    const section = first === 'interfaces' ? '/interfaces/' : '/junos/amt/';
    const msg = encodeMessage('GnmiJuniperTelemetryHeaderExtension', {
      system_id: `${this.sim.model.hostname}:${this.sim.model.relayAddress}`,
      component_id: 65535,
      sub_component_id: 0,
      sensor_name: `${sub?.sensor ?? 'sensor_1000'}:${section}:${sub?.text ?? section}:${component}`,
      subscribed_path: sub?.text ?? section,
      streamed_path: section,
      component,
      sequence_number: String(this.seq++),
      payload_get_timestamp: String(now),
      stream_creation_timestamp: String(this.createdAt),
      export_timestamp: String(now),
      event_publish_timestamp: String(now),
      sub_sequence_number: '0',
      eom,
      stream_id: streamType,
    });
    return msg.ok ? [{ registered_ext: { id: EID_JUNIPER_TELEMETRY_HEADER, msg: msg.value } }] : [];
  }

  /** The current values of one subscription, as one round of notifications (the last with eom). */
  private async round(sub: Sub, streamType: 'INITIAL_SYNC' | 'ONCHANGE' | 'PERIODIC'): Promise<void> {
    this.sim.stats.rounds++;
    const selected = select(this.sim.model.sections, [sub], Date.now());
    const options = { encoding: this.encoding, bundle: this.sim.options.bundle ?? 1, ...(this.target ? { target: this.target } : {}), ...this.sim.corruption() };
    let pending: NotificationMsg | undefined;
    for (const n of render(selected, options, nowNs)) {
      if (this.closed) return;
      if (pending) await this.writeUpdate(pending, sub, streamType, false);
      pending = n;
    }
    if (pending) await this.writeUpdate(pending, sub, streamType, true);
  }

  private async changed(change: Change): Promise<void> {
    const subs = this.subs.filter((s) => s.mode === 'ON_CHANGE');
    if (subs.length === 0 || this.closed) return;
    const selected = (function* () {
      for (const entry of change.updated()) {
        const leaves = selectLeaves(entry, subs.map((s) => ({ path: s.path, kinds: STATE })));
        if (leaves.length > 0) yield { entry, leaves };
      }
    })();
    const options = { encoding: this.encoding, ...(this.target ? { target: this.target } : {}), ...this.sim.corruption() };
    for (const n of render(selected, options, nowNs)) await this.writeUpdate(n, subs[0], 'ONCHANGE', false);
    let batch: GnmiPath[] = [];
    const flush = async () => {
      const n: NotificationMsg = { timestamp: nowNs().toString(), delete: batch.map(pathToMsg), ...(this.target ? { prefix: { target: this.target } } : {}) };
      batch = [];
      await this.writeUpdate(n, subs[0], 'ONCHANGE', false);
    };
    for (const path of change.deleted()) {
      if (!subs.some((s) => overlaps(s.path, path))) continue;
      batch.push(path);
      if (batch.length >= 100) await flush();
    }
    if (batch.length > 0) await flush();
  }

  private async writeUpdate(n: NotificationMsg, sub: Sub | undefined, streamType: 'INITIAL_SYNC' | 'ONCHANGE' | 'PERIODIC', eom: boolean): Promise<void> {
    this.sim.stats.notifications++;
    this.sim.stats.updates += n.update?.length ?? 0;
    this.sim.stats.deletes += n.delete?.length ?? 0;
    await this.write({ update: n, extension: this.header(n, sub, streamType, eom) });
  }

  private async sync(): Promise<void> {
    if (this.sim.failing.has('no-sync')) return;
    this.sim.stats.syncs++;
    await this.write({ sync_response: true });
  }

  private async write(msg: SubscribeResponseMsg): Promise<void> {
    if (this.closed || this.sim.failing.has('silent')) return;
    let bytes: SubscribeResponseMsg | Buffer = msg;
    try {
      bytes = encodeSubscribeResponse(msg); // several times faster than protobufjs; the same bytes
    } catch {
      // a shape the fast encoder does not cover: the generic serializer takes the object
    }
    if (this.call.write(bytes)) return;
    try {
      await once(this.call, 'drain', { signal: this.abort.signal });
    } catch {
      // closed while waiting
    }
  }

  writeRaw(bytes: Buffer): void {
    if (!this.closed) this.call.write(bytes);
  }

  end(): void {
    if (this.closed) return;
    this.close();
    this.call.end();
  }

  error(status: StatusError): void {
    if (this.closed) return;
    this.close();
    this.call.emit('error', status);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.abort.abort();
    for (const t of this.timers) clearInterval(t);
    this.sim.model.off('change', this.onChange);
    this.sim.sessions.delete(this);
    this.sim.stats.openStreams--;
  }
}

/** Starts a simulated MX on a free loopback port. */
export async function startGnmiMx(options: GnmiMxOptions = {}): Promise<GnmiMx> {
  const sim = new Sim(options);
  await sim.listen();
  return sim;
}
