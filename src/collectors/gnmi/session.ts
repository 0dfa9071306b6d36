/**
 * One gNMI session with one MX: connect (Capabilities), one long-lived Subscribe (STREAM, or POLL
 * when the target refuses STREAM), decode the responses in slices that yield to the event loop,
 * keep the MX's state (map.ts), and every sample interval turn it into signals. Every failure ends
 * the attempt with a Failure (failure.ts); the loop reconnects with exponential backoff and full
 * jitter. Nothing here throws out of a callback or a timer.
 */
import * as grpc from '@grpc/grpc-js';
import type { Counter, Labels } from '../../telemetry/metrics.ts';
import type { Clock, CollectorSignal, SessionStatus } from '../context.ts';
import { connection, CredentialError, redact, type Connection, type GnmiSettings } from './credentials.ts';
import { failure, grpcFailure, type Failure } from './failure.ts';
import { interfaceMatcher, MxState, type MxReadings, type ResetKind } from './map.ts';
import { isSyncResponse, ResponseQueue } from './queue.ts';
import { chooseEncoding, subscribeRequest } from './request.ts';
import { decodeMessage, createGnmiClient, type RawGnmiClient } from './wire/load.ts';
import { readSubscribeResponse, type FlatNotification } from './wire/notification.ts';
import { parsePath, pathMatches, type GnmiPath } from './wire/path.ts';
import type { CapabilityResponseMsg, EncodingName, SubscribeRequestMsg, SubscribeResponseMsg } from './wire/types.ts';

/** Decoding runs in slices of at most this long, then yields (DNS answers in between). */
const SLICE_MS = 4;
/** A stream that ends this soon after it opened, having sent nothing, was refused. */
const REFUSED_WITHIN_MS = 2000;
/** Silence: no message within this many expected intervals. */
const SILENCE_INTERVALS = 3;

/** The parts of the logger, metrics and bad-input reporter a session uses: the real ones, or a worker's stand-ins. */
export interface SessionLog {
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}
export interface SessionMetrics {
  counter(name: string, help: string, labels: Labels): Counter;
}
export interface SessionBadInput {
  report(component: string, kind: string, detail: string, peer?: string): void;
}

export interface SessionDeps {
  relay: string;
  target: string;
  settings: GnmiSettings;
  signal(signal: CollectorSignal): void;
  log: SessionLog;
  badInput: SessionBadInput;
  metrics: SessionMetrics;
  clock: Clock;
}

export interface GnmiSessionStatus extends SessionStatus {
  modeReason?: string;
  encoding: string | null;
  gnmiVersion: string | null;
  /** Leaf updates applied, and those no rule reads. */
  updates: number;
  ignored: number;
  deletes: number;
  queueDepth: number;
  dropped: number;
  ignoredExtensions: number;
  counterResets: number;
  /** The Juniper telemetry header's system_id, when the target sends the header. */
  systemId: string | null;
  readings: { tunnels: number | null; bandwidthBps: number | null; state: string | null };
}

/** A signal as the session builds it: the relay is filled in. */
type OwnSignal = CollectorSignal extends infer T ? (T extends unknown ? Omit<T, 'relay'> : never) : never;

interface Call {
  cancel(): void;
}

export class GnmiSession {
  readonly relay: string;
  readonly target: string;
  readonly #d: SessionDeps;
  readonly #s: GnmiSettings;
  readonly #state: MxState;
  readonly #queue: ResponseQueue;
  readonly #log: SessionLog;
  readonly #paths: { text: string; path: GnmiPath }[];
  /** How often something must arrive when all is well (the SAMPLE interval, else the heartbeat); null: no way to tell. */
  readonly #expectedMs: number | null;
  readonly #counters: { updates: Counter; messages: Counter; reconnects: Counter; dropped: Counter; extensions: Counter };

  #stopped = false;
  #loop: Promise<void> | undefined;
  #client: RawGnmiClient | undefined;
  #call: Call | undefined;
  #secrets: string[] = [];
  #wake: (() => void) | undefined;
  #tick: NodeJS.Timeout | undefined;
  #draining = false;
  /** Resolves the running subscription with a failure (or null when stopping). */
  #finish: ((f: Failure | null) => void) | undefined;

  #poll: { reason: string } | null = null;
  #connected = false;
  #since: number | null = null;
  #live = false; // synced in the current subscription: signals flow
  #synced = false;
  #subscribedAt = 0;
  #lastMessageAt: number | null = null;
  #errors = 0;
  #reconnects = 0;
  #attempt = 0;
  #lastError: string | null = null;
  #lastErrorAt: number | null = null;
  #encoding: EncodingName | null = null;
  #caps: CapabilityResponseMsg | undefined;
  #capsLogged = false;
  #updates = 0;
  #ignored = 0;
  #deletes = 0;
  #ignoredExtensions = 0;
  #resets = 0;
  #systemId: string | null = null;
  #lost = false; // messages were dropped in this subscription
  #unseen = new Set<number>(); // subscribed paths that gave nothing yet, before the first sync
  #period = { good: 0, bad: 0, firstBad: '' };
  #readings: MxReadings = { interfaces: 0 };

  constructor(deps: SessionDeps) {
    this.#d = deps;
    this.#s = deps.settings;
    this.relay = deps.relay;
    this.target = deps.target;
    const where = { relay: deps.relay, target: deps.target };
    this.#log = {
      info: (fields, msg) => deps.log.info({ ...where, ...fields }, msg),
      warn: (fields, msg) => deps.log.warn({ ...where, ...fields }, msg),
      error: (fields, msg) => deps.log.error({ ...where, ...fields }, msg),
    };
    this.#queue = new ResponseQueue(this.#s.queueLimit);
    const onReset = (kind: ResetKind, detail: string): void => {
      this.#resets++;
      deps.metrics.counter('driad_gnmi_counter_resets_total', 'Octet counters that went back (reset, wrap) or jumped, never turned into a rate', { relay: this.relay, kind }).inc();
      deps.badInput.report('gnmi', `counter ${kind}`, `${this.relay}: ${detail}`, this.target);
    };
    this.#state = new MxState({ relayInterface: interfaceMatcher(this.#s.relayInterfaces), rateMaxAgeMs: 2 * this.#s.sampleIntervalMs + 1000, onReset });
    this.#paths = this.#s.paths.map((p) => {
      const parsed = parsePath(p.path);
      return { text: p.path, path: parsed.ok ? parsed.value : { elem: [] } };
    });
    const sample = this.#s.paths.some((p) => p.mode === 'sample');
    const heartbeats = this.#s.paths.map((p) => p.heartbeatIntervalMs ?? this.#s.heartbeatIntervalMs).filter((ms) => ms > 0);
    this.#expectedMs = this.#s.mode === 'poll' || sample ? this.#s.sampleIntervalMs : heartbeats.length > 0 ? Math.min(...heartbeats) : null;
    if (this.#s.mode === 'poll') this.#poll = { reason: 'gnmi.mode is poll' };
    const labels = { relay: this.relay };
    this.#counters = {
      updates: deps.metrics.counter('driad_gnmi_updates_total', 'Leaf updates applied to relay state', labels),
      messages: deps.metrics.counter('driad_gnmi_messages_total', 'Subscribe responses received', labels),
      reconnects: deps.metrics.counter('driad_gnmi_reconnects_total', 'Connection attempts after the first', labels),
      dropped: deps.metrics.counter('driad_gnmi_dropped_total', 'Subscribe responses dropped, oldest first, because the decode queue was full', labels),
      extensions: deps.metrics.counter('driad_gnmi_extensions_ignored_total', 'Response extensions with an id driad does not know, ignored', labels),
    };
  }

  start(): void {
    this.#tick = setInterval(() => this.#onTick(), this.#s.sampleIntervalMs);
    this.#tick.unref();
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#tick);
    this.#finish?.(null);
    this.#wake?.();
    this.#teardown();
    this.#queue.clear();
    await this.#loop;
  }

  status(): GnmiSessionStatus {
    const r = this.#readings;
    const st: GnmiSessionStatus = {
      relay: this.relay,
      target: this.target,
      mode: this.#poll ? 'poll' : 'stream',
      connected: this.#connected,
      since: this.#since,
      lastMessageAt: this.#lastMessageAt,
      synced: this.#synced,
      errors: this.#errors,
      reconnects: this.#reconnects,
      lastError: this.#lastError,
      lastErrorAt: this.#lastErrorAt,
      encoding: this.#encoding,
      gnmiVersion: this.#caps?.gNMI_version ?? null,
      updates: this.#updates,
      ignored: this.#ignored,
      deletes: this.#deletes,
      queueDepth: this.#queue.length,
      dropped: this.#queue.dropped,
      ignoredExtensions: this.#ignoredExtensions,
      counterResets: this.#resets,
      systemId: this.#systemId,
      readings: { tunnels: r.tunnels ?? null, bandwidthBps: r.bandwidthBps ?? null, state: r.state?.value ?? null },
    };
    if (this.#poll) st.modeReason = this.#poll.reason;
    return st;
  }

  // --- the connect loop -------------------------------------------------------------------------

  async #run(): Promise<void> {
    while (!this.#stopped) {
      let result: Failure | null;
      try {
        result = await this.#connectAndSubscribe();
      } catch (err) {
        result = failure('stream-error', `internal: ${(err as Error).message}`);
      }
      this.#teardown();
      this.#queue.clear();
      this.#live = false;
      if (this.#stopped || result === null) break;
      let delay: number;
      if (result.kind === 'resync') {
        delay = 0;
      } else if (result.kind === 'refused-stream') {
        this.#poll = { reason: `${result.reason} (${result.detail}): polling every ${this.#s.sampleIntervalMs} ms` };
        this.#log.warn({}, `gNMI ${this.relay}: ${this.#poll.reason}`);
        delay = 0;
      } else {
        this.#fail(result);
        delay = this.#backoff();
      }
      await this.#sleep(delay);
      if (this.#stopped) break;
      this.#reconnects++;
      this.#counters.reconnects.inc();
    }
  }

  /** Exponential backoff with full jitter: uniform in [0, min(max, initial * 2^attempt)). */
  #backoff(): number {
    const { initialMs, maxMs } = this.#s.backoff;
    const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.floor(Math.random() * ceiling);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  #teardown(): void {
    const call = this.#call;
    this.#call = undefined;
    this.#finish = undefined;
    try {
      call?.cancel();
      this.#client?.close();
    } catch {
      // closing twice, or a channel already gone
    }
    this.#client = undefined;
  }

  async #connectAndSubscribe(): Promise<Failure | null> {
    let conn: Connection;
    try {
      conn = await connection(this.#s);
    } catch (err) {
      if (err instanceof CredentialError) return failure('credentials', err.message);
      throw err;
    }
    if (this.#stopped) return null;
    this.#secrets = conn.secrets;
    const client = createGnmiClient(this.target, conn.credentials, conn.options, true);
    this.#client = client;

    const caps = await this.#capabilities(client, conn.metadata);
    if (this.#stopped) return null;
    if ('kind' in caps) return caps;
    const encoding = chooseEncoding(this.#s.encoding, caps.value);
    if (encoding !== this.#s.encoding && encoding !== this.#encoding) {
      this.#log.warn({}, `gNMI ${this.relay}: the target does not list encoding ${this.#s.encoding}; using ${encoding}`);
    }
    this.#encoding = encoding;
    this.#setConnected(true);
    return this.#subscribe(client, conn.metadata);
  }

  #capabilities(client: RawGnmiClient, metadata: grpc.Metadata): Promise<{ value: CapabilityResponseMsg | undefined } | Failure> {
    return new Promise((resolve) => {
      client.Capabilities({}, metadata, { deadline: Date.now() + this.#s.connectTimeoutMs }, (err, res) => {
        if (err) {
          // A target without Capabilities may still stream; anything else ends the attempt.
          if (err.code === grpc.status.UNIMPLEMENTED) return resolve({ value: undefined });
          return resolve(grpcFailure(err, 'Capabilities'));
        }
        this.#caps = res;
        this.#logCapabilities(res);
        resolve({ value: res });
      });
    });
  }

  #logCapabilities(res: CapabilityResponseMsg | undefined): void {
    if (this.#capsLogged || !res) return;
    this.#capsLogged = true;
    const models = (res.supported_models ?? []).map((m) => `${m.name ?? '?'}${m.version ? `@${m.version}` : ''}`);
    const encodings = (res.supported_encodings ?? []).map(String);
    this.#log.info(
      { gnmiVersion: res.gNMI_version ?? null, encodings, models },
      `gNMI ${this.relay}: target speaks gNMI ${res.gNMI_version || '(version not given)'}, encodings ${encodings.join(', ') || '(none listed)'}, ${models.length} models`,
    );
  }

  // --- one subscription ------------------------------------------------------------------------

  #subscribe(client: RawGnmiClient, metadata: grpc.Metadata): Promise<Failure | null> {
    const poll = this.#poll !== null;
    const interval = this.#s.sampleIntervalMs;
    const request: SubscribeRequestMsg = subscribeRequest(this.#s.paths, {
      mode: poll ? 'POLL' : 'STREAM',
      encoding: this.#encoding ?? this.#s.encoding,
      sampleIntervalMs: interval,
      heartbeatIntervalMs: this.#s.heartbeatIntervalMs,
    });
    this.#state.clear();
    this.#queue.clear();
    this.#live = false;
    this.#lost = false;
    this.#unseen = new Set(this.#paths.map((_, i) => i));
    this.#period = { good: 0, bad: 0, firstBad: '' };
    const openedAt = this.#d.clock.now();
    this.#subscribedAt = openedAt;
    let received = 0;

    return new Promise((resolve) => {
      let done = false;
      const timers: NodeJS.Timeout[] = [];
      const finish = (f: Failure | null): void => {
        if (done) return;
        done = true;
        for (const t of timers) clearInterval(t);
        resolve(f);
      };
      this.#finish = finish;
      const call = client.Subscribe(metadata);
      this.#call = call;
      call.on('data', (buf: Buffer) => {
        if (done) return;
        received++;
        this.#lastMessageAt = this.#d.clock.now();
        this.#counters.messages.inc();
        const dropped = this.#queue.push(buf);
        if (dropped) {
          this.#counters.dropped.inc();
          this.#lost = true;
          if (isSyncResponse(dropped)) this.#onSync();
          else if (this.#queue.dropped % 10_000 === 1) this.#d.badInput.report('gnmi', 'queue full', `${this.relay}: target sends faster than driad decodes; oldest responses dropped (${this.#queue.dropped} so far)`, this.target);
        }
        this.#scheduleDrain();
      });
      call.on('error', (err: grpc.ServiceError) => {
        if (done) return;
        const f = grpcFailure(err, 'Subscribe');
        if (!poll && received === 0 && err.code === grpc.status.UNIMPLEMENTED) return finish({ ...f, kind: 'refused-stream', reason: 'gNMI target refused STREAM' });
        // POLL refused the same way: it was not about STREAM (a path the target lacks), so stream again next time.
        if (poll && received === 0 && f.kind === 'rejected' && this.#s.mode !== 'poll') this.#poll = null;
        finish(f);
      });
      call.on('end', () => {
        if (done) return;
        const soon = this.#d.clock.now() - openedAt < REFUSED_WITHIN_MS;
        if (!poll && received === 0 && soon) return finish(failure('refused-stream', 'the STREAM subscription closed at once, with nothing sent'));
        finish(failure('stream-ended', `Subscribe ended by the target after ${received} responses`));
      });
      call.write(request);

      if (poll) {
        const sendPoll = (): void => {
          if (done) return;
          try {
            call.write({ poll: {} });
          } catch (err) {
            finish(failure('stream-error', `Subscribe: cannot send Poll: ${(err as Error).message}`));
          }
        };
        sendPoll(); // Junos answers a POLL subscription on the first Poll, not on the SubscriptionList
        timers.push(setInterval(sendPoll, interval));
      }
      if (this.#expectedMs !== null) {
        const limit = SILENCE_INTERVALS * this.#expectedMs;
        const every = Math.max(10, Math.floor(this.#expectedMs / 2));
        let checkedAt = this.#d.clock.now();
        const check = (): void => {
          const now = this.#d.clock.now();
          // A check that comes late means this thread was stalled: responses may be waiting unread, so judge next time.
          const late = now - checkedAt > 2 * every;
          checkedAt = now;
          if (late) return;
          const heard = this.#lastMessageAt !== null && this.#lastMessageAt >= openedAt ? this.#lastMessageAt : openedAt;
          const quiet = now - heard;
          if (quiet >= limit) finish(failure('silence', `no response for ${(quiet / 1000).toFixed(1)} s (${SILENCE_INTERVALS} x ${this.#expectedMs} ms expected)`));
        };
        timers.push(setInterval(check, every));
      }
      for (const t of timers) t.unref();
    });
  }

  // --- decoding --------------------------------------------------------------------------------

  #scheduleDrain(): void {
    if (this.#draining) return;
    this.#draining = true;
    setImmediate(() => this.#drain());
  }

  #drain(): void {
    const start = performance.now();
    try {
      while (this.#queue.length > 0 && !this.#stopped) {
        this.#handle(this.#queue.shift()!);
        if (performance.now() - start >= SLICE_MS) break;
      }
    } catch (err) {
      this.#d.badInput.report('gnmi', 'internal error', `${this.relay}: ${(err as Error).message}`, this.target);
    }
    if (this.#queue.length > 0 && !this.#stopped) {
      setImmediate(() => this.#drain());
      return;
    }
    this.#draining = false;
    this.#afterDrain();
  }

  #handle(buf: Buffer): void {
    const decoded = decodeMessage<SubscribeResponseMsg>('gnmi.SubscribeResponse', buf);
    if (!decoded.ok) return this.#bad('undecodable message', decoded.error, true);
    const ev = readSubscribeResponse(decoded.value);
    const ext = ev.extensions;
    if (ext.juniper) this.#systemId = ext.juniper.systemId || this.#systemId;
    if (ext.unknown.length > 0) {
      this.#ignoredExtensions += ext.unknown.length;
      this.#counters.extensions.inc(ext.unknown.length);
    }
    for (const e of ext.errors) this.#d.badInput.report('gnmi', 'bad extension', `${this.relay}: ${e}`, this.target);
    switch (ev.kind) {
      case 'sync':
        return this.#onSync();
      case 'error':
        return this.#bad('target error', ev.error, false);
      case 'update':
        return this.#apply(ev.notification);
    }
  }

  #apply(n: FlatNotification): void {
    const seenAt = this.#d.clock.now();
    const atMs = Number(n.timestampNs / 1_000_000n);
    if (this.#unseen.size > 0 && n.updates.length > 0) this.#markSeen(n.updates[0]!.path);
    for (const u of n.updates) {
      const outcome = this.#state.apply(u.path, u.value, atMs, seenAt);
      if (outcome === 'applied') {
        this.#updates++;
        this.#period.good++;
      } else if (outcome === 'ignored') {
        this.#ignored++;
      } else {
        this.#bad(outcome.undecodable ? 'undecodable value' : 'wrong type', outcome.error, true);
      }
    }
    this.#counters.updates.inc(n.updates.length);
    for (const d of n.deletes) {
      this.#state.delete(d);
      this.#deletes++;
    }
  }

  /** Which subscribed paths gave data by the first sync (checked on each notification's first leaf, which is enough to tell a sensor that answers from one that does not). */
  #markSeen(path: GnmiPath): void {
    for (const i of this.#unseen) if (pathMatches(this.#paths[i]!.path, path)) this.#unseen.delete(i);
  }

  #bad(kind: string, detail: string, counts: boolean): void {
    if (counts) {
      this.#period.bad++;
      this.#period.firstBad ||= detail;
    }
    this.#d.badInput.report('gnmi', kind, `${this.relay}: ${redact(detail, this.#secrets)}`, this.target);
  }

  #onSync(): void {
    if (this.#live) return; // POLL: one sync per poll
    this.#live = true;
    const first = !this.#synced;
    this.#synced = true;
    this.#attempt = 0;
    const ms = this.#d.clock.now() - this.#subscribedAt;
    this.#log.info({ updates: this.#updates, ms }, `gNMI ${this.relay}: ${first ? 'synced' : 'synced again'} after ${ms} ms (${this.#poll ? 'poll' : 'stream'})`);
    for (const i of this.#unseen) {
      const p = this.#paths[i]!;
      this.#d.badInput.report('gnmi', 'path without data', `${this.relay}: gnmi.paths[${i}] ${p.text} gave nothing by the initial sync; check it with: driad gnmi get ${this.target} ${p.text}`, this.target);
    }
    this.#unseen.clear();
    this.#emit();
  }

  #afterDrain(): void {
    // Entries of the tunnel list lost with dropped responses cannot come back by themselves: subscribe afresh.
    if (this.#lost && this.#live && this.#state.tunnelListSeen && this.#state.summaryTunnels === undefined) {
      this.#lost = false;
      this.#log.warn({}, `gNMI ${this.relay}: responses were dropped; subscribing again to resynchronise the tunnel list`);
      this.#finish?.(failure('resync', 'resubscribing after dropped responses'));
    }
  }

  // --- signals ---------------------------------------------------------------------------------

  #onTick(): void {
    try {
      if (this.#stopped) return;
      if (this.#live) this.#emit();
      else this.#checkSync();
    } catch (err) {
      this.#log.error({}, `gNMI ${this.relay}: ${(err as Error).message}`);
    }
  }

  #checkSync(): void {
    // Updates keep coming but the initial sync never ends: say so and subscribe afresh, rather than leave the relay at its old state.
    const now = this.#d.clock.now();
    if (!this.#finish || this.#queue.length > 0 || this.#lastMessageAt === null || now - this.#subscribedAt < this.#s.syncTimeoutMs) return;
    this.#finish(failure('no-sync', `updates but no sync_response ${((now - this.#subscribedAt) / 1000).toFixed(1)} s after subscribing`));
  }

  #intervalMs(): number {
    return this.#expectedMs ?? this.#s.sampleIntervalMs;
  }

  #emit(): void {
    const now = this.#d.clock.now();
    this.#readings = this.#state.readings(now);
    const period = this.#period;
    this.#period = { good: 0, bad: 0, firstBad: '' };
    const intervalMs = this.#intervalMs();
    // With no interval to expect (ON_CHANGE only, no heartbeat), the session's own liveness is the clock.
    const at = this.#expectedMs === null ? now : (this.#lastMessageAt ?? now);
    if (period.good === 0 && period.bad > 0) {
      this.#signal({ kind: 'reachable', value: false, at, intervalMs, reason: `gNMI undecodable values: ${redact(period.firstBad, this.#secrets).slice(0, 200)}` });
      return;
    }
    const r = this.#readings;
    this.#signal({ kind: 'reachable', value: true, at, intervalMs });
    if (r.tunnels !== undefined) this.#signal({ kind: 'tunnels', value: r.tunnels, at, intervalMs });
    if (r.bandwidthBps !== undefined) this.#signal({ kind: 'bandwidthBps', value: r.bandwidthBps, at, intervalMs });
    if (r.state) this.#signal({ kind: 'state', value: r.state.value, at, intervalMs, ...(r.state.value === 'up' ? {} : { reason: r.state.reason }) });
  }

  #signal(s: OwnSignal): void {
    if (!this.#stopped) this.#d.signal({ ...s, relay: this.relay });
  }

  #setConnected(connected: boolean): void {
    if (this.#connected === connected) return;
    this.#connected = connected;
    this.#since = this.#d.clock.now();
  }

  /** Counts and logs a failure (one line per kind per interval), without a signal. */
  #record(f: Failure): void {
    const detail = redact(f.detail, this.#secrets);
    this.#errors++;
    this.#lastError = `${f.reason}: ${detail}`;
    this.#lastErrorAt = this.#d.clock.now();
    this.#d.metrics.counter('driad_gnmi_errors_total', 'Session failures, by kind', { relay: this.relay, kind: f.kind }).inc();
    this.#d.badInput.report('gnmi', f.reason, `${this.relay} (${this.target}): ${detail}`, this.target);
  }

  /** The attempt ended: the relay is down with the reason, except for silence, which lets its signals expire (unknown). */
  #fail(f: Failure): void {
    this.#record(f);
    this.#live = false;
    this.#setConnected(false);
    if (f.kind === 'silence') return;
    const maxAgeMs = this.#s.backoff.maxMs + this.#s.connectTimeoutMs + SILENCE_INTERVALS * this.#intervalMs();
    this.#signal({ kind: 'reachable', value: false, at: this.#d.clock.now(), maxAgeMs, reason: `${f.reason}: ${redact(f.detail, this.#secrets).slice(0, 200)}` });
  }
}
