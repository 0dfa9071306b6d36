// The RTT prober (README.md): for each relay, the exchange a gateway starts with, RFC 7450 Relay
// Discovery with a random nonce to UDP 2268, timed until the Relay Advertisement that echoes it;
// optionally a TCP connect when discovery goes unanswered. Feeds `rttMs` and `reachable` signals.

import { randomInt } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { connect, isIP } from 'node:net';
import { decodeAmt, encodeAmt } from '../amt/codec.ts';
import { canonicalIp } from '../amt/inet.ts';
import type { ProberConfig, RelayConfig } from '../config/types.ts';
import type { Collector, CollectorContext, CollectorStatus, SessionStatus } from '../collectors/context.ts';
import type { Counter } from '../telemetry/metrics.ts';
import { ProbeStats } from './stats.ts';

interface Target {
  host: string;
  port: number;
  family: 4 | 6;
  tcpPort: number | undefined;
}

interface Pending {
  nonce: number;
  sentAt: number;
  timer: NodeJS.Timeout;
}

interface Session {
  relay: string;
  target: Target;
  stats: ProbeStats;
  status: SessionStatus;
  pending: Pending | null;
  /** A TCP fallback connect in progress. */
  connecting: { destroy(): void } | null;
  next: NodeJS.Timeout | null;
}

const hostPort = (t: { host: string; port: number }): string => (t.host.includes(':') ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`);

function splitHostPort(text: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  return { host: m?.[1] as string, port: Number(m?.[2]) };
}

/** Where to probe a relay: its IPv4 address (else IPv6) on prober.port, unless prober.relays says otherwise; null: not probed. */
export function targetOf(relay: RelayConfig, config: ProberConfig): Target | null {
  const o = config.relays.find((r) => r.name === relay.name);
  if (o && !o.enabled) return null;
  const tcpPort = o?.tcpPort ?? config.tcpPort;
  if (o?.target) {
    const { host, port } = splitHostPort(o.target);
    return { host, port, family: isIP(host) === 6 ? 6 : 4, tcpPort };
  }
  const host = relay.ipv4 ?? relay.ipv6;
  if (!host) return null;
  return { host, port: config.port, family: relay.ipv4 ? 4 : 6, tcpPort };
}

export async function startProber(ctx: CollectorContext<ProberConfig>): Promise<Collector> {
  const config = ctx.config;
  const sessions = new Map<string, Session>();
  const pending = new Map<number, Session>();
  const sockets: Partial<Record<4 | 6, Socket>> = {};
  let stopped = false;

  const ignoredCounters = new Map<string, Counter>();
  const ignored = (reason: string, detail: string, from: string): void => {
    let c = ignoredCounters.get(reason);
    if (!c) {
      c = ctx.metrics.counter('driad_prober_ignored_total', 'Datagrams the prober ignored: no probe with that nonce, wrong source, not an advertisement', { reason });
      ignoredCounters.set(reason, c);
    }
    c.inc();
    ctx.badInput.report('prober', reason, detail, from);
  };
  const probes = (relay: string, mode: string, result: string): Counter =>
    ctx.metrics.counter('driad_prober_probes_total', 'Probes by relay, how (udp: Relay Discovery, tcp: connect fallback) and outcome', { relay, mode, result });
  ctx.metrics.gauge('driad_prober_rtt_ms', 'Smoothed round-trip time to each relay, in milliseconds', () =>
    [...sessions.values()].filter((s) => s.stats.srttMs !== null).map((s) => [{ relay: s.relay }, round(s.stats.srttMs as number)]),
  );
  ctx.metrics.gauge('driad_prober_loss_ratio', 'Share of the last prober.lossWindow probes without an answer, per relay', () =>
    [...sessions.values()].filter((s) => s.stats.lossRate !== null).map((s) => [{ relay: s.relay }, s.stats.lossRate as number]),
  );

  const onMessage = (bytes: Buffer, r: RemoteInfo): void => {
    const from = canonicalIp(r.address) ?? r.address;
    const d = decodeAmt(bytes, { copy: false });
    if (!d.ok) return ignored('malformed', `${hostPort({ host: from, port: r.port })}: ${d.reason}: ${d.detail}`, from);
    if (d.message.type !== 'relay-advertisement') return ignored('unexpected type', `${hostPort({ host: from, port: r.port })} sent a ${d.message.type}, not a Relay Advertisement`, from);
    const s = pending.get(d.message.nonce);
    if (!s || !s.pending) return ignored('nonce', `Relay Advertisement from ${hostPort({ host: from, port: r.port })} with nonce 0x${d.message.nonce.toString(16)} answers no probe`, from);
    if (from !== canonicalIp(s.target.host) || r.port !== s.target.port) {
      return ignored('source', `Relay Advertisement with the nonce of the probe to ${s.relay} (${hostPort(s.target)}) came from ${hostPort({ host: from, port: r.port })}`, from);
    }
    const rtt = performance.now() - s.pending.sentAt;
    clearTimeout(s.pending.timer);
    pending.delete(s.pending.nonce);
    s.pending = null;
    answered(s, rtt, 'udp');
  };

  const socketFor = async (family: 4 | 6): Promise<Socket> => {
    const existing = sockets[family];
    if (existing) return existing;
    const socket = createSocket({ type: family === 4 ? 'udp4' : 'udp6', ipv6Only: family === 6 });
    sockets[family] = socket;
    socket.on('message', onMessage);
    socket.on('error', (err) => ctx.log.warn(`prober: UDP socket error: ${err.message}`));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return socket;
  };

  const signalInterval = Math.ceil(config.intervalMs * (1 + config.jitter) + config.timeoutMs);
  const emit = (s: Session): void => {
    const at = ctx.clock.now();
    if (s.stats.consecutiveLosses === 0 && s.stats.srttMs !== null) {
      ctx.signal({ relay: s.relay, kind: 'rttMs', value: round(s.stats.srttMs), at, intervalMs: signalInterval });
    }
    const down = s.stats.consecutiveLosses >= config.lossesToDown;
    const reason = down
      ? `no answer to ${s.stats.consecutiveLosses} probes in a row (Relay Discovery to ${hostPort(s.target)}${s.target.tcpPort ? `, TCP connect to port ${s.target.tcpPort}` : ''})`
      : undefined;
    ctx.signal({ relay: s.relay, kind: 'reachable', value: !down, at, intervalMs: signalInterval, ...(reason ? { reason } : {}) });
  };

  const setConnected = (s: Session, connected: boolean): void => {
    if (s.status.connected !== connected) {
      s.status.connected = connected;
      s.status.since = ctx.clock.now();
    }
  };

  const answered = (s: Session, rtt: number, mode: 'udp' | 'tcp'): void => {
    s.stats.answered(rtt);
    s.status.mode = mode;
    s.status.lastMessageAt = ctx.clock.now();
    s.status.rttMs = round(s.stats.srttMs as number);
    s.status.lossRate = s.stats.lossRate;
    setConnected(s, true);
    probes(s.relay, mode, 'answered').inc();
    emit(s);
  };

  const lost = (s: Session, why: string): void => {
    s.stats.lost();
    s.status.lossRate = s.stats.lossRate;
    s.status.errors++;
    s.status.lastError = why;
    s.status.lastErrorAt = ctx.clock.now();
    if (s.stats.consecutiveLosses >= config.lossesToDown) setConnected(s, false);
    emit(s);
  };

  /** UDP went unanswered: connect to the TCP fallback port, timing the handshake. */
  const tcpFallback = (s: Session): void => {
    const port = s.target.tcpPort as number;
    const started = performance.now();
    const socket = connect({ host: s.target.host, port, timeout: config.timeoutMs });
    s.connecting = socket;
    const done = (ok: boolean, why: string): void => {
      if (s.connecting !== socket) return;
      s.connecting = null;
      socket.destroy();
      if (ok) return answered(s, performance.now() - started, 'tcp');
      probes(s.relay, 'tcp', 'lost').inc();
      lost(s, `no Relay Advertisement within ${config.timeoutMs} ms, and TCP connect to port ${port}: ${why}`);
    };
    socket.once('connect', () => done(true, ''));
    socket.once('timeout', () => done(false, `no answer within ${config.timeoutMs} ms`));
    socket.once('error', (err: NodeJS.ErrnoException) => done(false, err.code ?? err.message));
  };

  const probe = async (s: Session): Promise<void> => {
    if (stopped || !sessions.has(s.relay)) return;
    schedule(s);
    if (s.pending || s.connecting) return; // the previous probe (with its fallback) is still out
    let nonce = randomInt(0, 2 ** 32);
    while (pending.has(nonce)) nonce = randomInt(0, 2 ** 32);
    const bytes = encodeAmt({ type: 'relay-discovery', nonce });
    const socket = await socketFor(s.target.family);
    if (stopped) return;
    const timer = setTimeout(() => {
      if (s.pending?.nonce !== nonce) return;
      pending.delete(nonce);
      s.pending = null;
      probes(s.relay, 'udp', 'lost').inc();
      if (s.target.tcpPort) return tcpFallback(s);
      lost(s, `no Relay Advertisement within ${config.timeoutMs} ms`);
    }, config.timeoutMs);
    s.pending = { nonce, sentAt: performance.now(), timer };
    pending.set(nonce, s);
    socket.send(bytes, s.target.port, s.target.host, (err) => {
      if (!err || s.pending?.nonce !== nonce) return;
      clearTimeout(timer);
      pending.delete(nonce);
      s.pending = null;
      probes(s.relay, 'udp', 'error').inc();
      if (s.target.tcpPort) return tcpFallback(s);
      lost(s, `send to ${hostPort(s.target)}: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
    });
  };

  /** The next probe one interval on, drawn from intervalMs * (1 ± jitter) so that relays are not probed in lockstep. */
  const schedule = (s: Session, delay = config.intervalMs * (1 + config.jitter * (2 * Math.random() - 1))): void => {
    if (s.next) clearTimeout(s.next);
    s.next = setTimeout(() => void probe(s).catch((err: unknown) => ctx.log.warn(`prober: ${(err as Error).message}`)), Math.max(1, delay));
  };

  const cancel = (s: Session): void => {
    if (s.next) clearTimeout(s.next);
    s.next = null;
    if (s.pending) {
      clearTimeout(s.pending.timer);
      pending.delete(s.pending.nonce);
      s.pending = null;
    }
    s.connecting?.destroy();
    s.connecting = null;
  };

  const follow = (relays: readonly RelayConfig[]): void => {
    const wanted = new Map<string, Target>();
    for (const r of relays) {
      const t = targetOf(r, config);
      if (t) wanted.set(r.name, t);
    }
    for (const [name, s] of sessions) {
      const t = wanted.get(name);
      if (!t || hostPort(t) !== hostPort(s.target) || t.tcpPort !== s.target.tcpPort) {
        cancel(s);
        sessions.delete(name);
      }
    }
    for (const [name, target] of wanted) {
      if (sessions.has(name)) continue;
      const s: Session = {
        relay: name,
        target,
        stats: new ProbeStats(config.smoothing, config.lossWindow),
        status: {
          relay: name,
          target: hostPort(target),
          mode: 'udp',
          connected: false,
          since: null,
          lastMessageAt: null,
          errors: 0,
          reconnects: 0,
          lastError: null,
          lastErrorAt: null,
          rttMs: null,
          lossRate: null,
        },
        pending: null,
        connecting: null,
        next: null,
      };
      sessions.set(name, s);
      // The first probe soon, spread over a tenth of an interval.
      schedule(s, Math.random() * Math.min(config.intervalMs / 10, 1000));
    }
  };
  follow(ctx.relays.relays());
  const unsubscribe = ctx.relays.onChange(follow);
  ctx.log.info({ relays: [...sessions.values()].map((s) => `${s.relay}=${s.status.target}`) }, `prober: probing ${sessions.size} relay(s) every ${config.intervalMs} ms`);

  return {
    status(): CollectorStatus {
      const tcp = [...sessions.values()].some((s) => s.target.tcpPort);
      return {
        collector: 'prober',
        mode: tcp ? 'udp+tcp' : 'udp',
        ...(tcp ? { modeReason: 'TCP connect where Relay Discovery goes unanswered (tcpPort)' } : {}),
        sessions: [...sessions.values()].map((s) => ({ ...s.status })),
      };
    },
    async stop() {
      stopped = true;
      unsubscribe();
      for (const s of sessions.values()) cancel(s);
      sessions.clear();
      await Promise.all(
        Object.values(sockets).map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))),
      );
    },
  };
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;
