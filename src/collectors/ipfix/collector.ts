/**
 * The IPFIX/J-Flow collector: receives IPFIX from the MX over UDP and TCP, decodes it with
 * src/ipfix/ in batches that yield to the event loop, matches each exporter to a relay, adds AMT
 * data flows up per tunnel, and once per interval sends each relay's `tunnels` and `bandwidthBps`
 * signals and writes one usage record per tunnel to the accounting spool. See README.md.
 */
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import { tunnelUsageId, type AmtTunnelUsage } from '../../accounting/records.ts';
import { SpoolRefused } from '../../accounting/spool.ts';
import type { IpfixConfig, RelayConfig } from '../../config/types.ts';
import { IpfixDecoder, type IpfixSource } from '../../ipfix/decoder.ts';
import { FlowColumns } from '../../ipfix/flow-columns.ts';
import { JFLOW_FIELDS, SamplingRates } from '../../ipfix/jflow.ts';
import { IpfixStreamFramer } from '../../ipfix/stream.ts';
import type { Counter } from '../../telemetry/metrics.ts';
import type { Collector, CollectorContext, CollectorStatus, SessionStatus } from '../context.ts';
import { openUdpReceiver, type ReceiveBufferReport } from './receive.ts';
import { AMT_PORT, TunnelTable, type TunnelTotals } from './tunnels.ts';

export interface IpfixSettings extends IpfixConfig {
  /** amtRelay.ipfixPort; 0 picks a free port (tests). */
  port: number;
}

export interface ExporterStatus extends SessionStatus {
  /** ADDRESS:PORT the exporter sends from. */
  exporter: string;
  messages: number;
  /** Templates known for it, over its observation domains. */
  templates: number;
  domains: number;
  /** Data records lost by its sequence numbers (RFC 7011 §10.3.2), and reordered, and restarts seen. */
  sequenceLost: number;
  sequenceReordered: number;
  restarts: number;
  /** The 1-in-N rate of its latest options record; null before one came. */
  samplingRate: number | null;
}

export interface IpfixCollectorStatus extends CollectorStatus {
  listen: { udp: string; tcp: string | null };
  /** How UDP is read: `recvmmsg` (native/udp-batch, a batch of datagrams per call) or `dgram`. */
  receive: 'recvmmsg' | 'dgram';
  /** The UDP receive buffer asked for (ipfix.receiveBufferBytes) and granted. */
  receiveBuffer: ReceiveBufferReport;
  intervalMs: number;
  /** The last interval's figures per relay. */
  relays: Array<{ relay: string; tunnels: number; bandwidthBps: number; at: number }>;
  unknownExporters: number;
  queued: number;
  /** AMT flows waiting for their exporter's sampling options record. */
  waitingForSampling: number;
}

interface Queued {
  message: Buffer;
  source: IpfixSource;
  tcp: boolean;
  /** A TCP session ended: its templates go (RFC 7011 §8.1), after the messages queued before. */
  closed?: boolean;
}

interface Session extends ExporterStatus {
  source: IpfixSource;
  tcp: boolean;
  domainSet: Set<number>;
}

const MAX_SESSIONS = 4096;
/** AMT flows held for their exporter's first sampling options record, over all exporters. */
const MAX_WAITING_FLOWS = 1_000_000;
/** How long they wait: Junos refreshes options every 600 s by default (option-refresh-rate). */
const SAMPLING_WAIT_MS = 600_000;
const BATCH_BUDGET_MS = 5;
const RECORD_BATCH = 1000;

export async function startIpfixCollector(ctx: CollectorContext<IpfixSettings>): Promise<Collector> {
  const c = ctx.config;
  const decoderOptions = { fields: JFLOW_FIELDS, flowColumns: true, templateLifetimeMs: c.templateLifetimeMs, maxExporters: c.maxExporters, maxTemplatesPerExporter: c.maxTemplatesPerExporter };
  const udpDecoder = new IpfixDecoder({ ...decoderOptions, transport: 'udp' });
  const tcpDecoder = new IpfixDecoder({ ...decoderOptions, transport: 'tcp' });
  const sampling = { udp: new SamplingRates(), tcp: new SamplingRates() };
  const tunnels = new TunnelTable();
  /** The AMT data flows of the set at hand, as rows of the decoder's columns. */
  let amtRows = new Int32Array(64);
  // Flows decoded before their exporter sent its sampling rate (a collector that started after
  // the options record): counted at rate 1 they would be 1/N of the truth, so they wait for it.
  // Their rows are copied out of the decoder's columns (which the next message reuses).
  const waiting = new Map<string, { relay: number; source: IpfixSource; tcp: boolean; since: number; domains: number[]; flows: FlowColumns }>();
  let waitingFlows = 0;
  const release = (key: string, why: 'rate' | 'timeout'): void => {
    const w = waiting.get(key);
    if (!w) return;
    waiting.delete(key);
    waitingFlows -= w.flows.count;
    const rates = w.tcp ? sampling.tcp : sampling.udp;
    for (let i = 0; i < w.flows.count; i++) tunnels.add(w.relay, w.flows, i, why === 'rate' ? rates.rate(w.source, w.domains[i] as number).rate : 1);
    if (why === 'timeout') count('driad_ipfix_unsampled_flows_total', 'AMT flow records counted at rate 1: their exporter sent no sampling options record in time', {}, w.flows.count);
  };
  const sessions = new Map<string, Session>();
  const queue: Queued[] = [];
  let queueHead = 0;
  let draining = false;
  let stopped = false;
  let unknownExporters = 0;
  /** Relays whose exporters sent anything in the current interval. */
  let heard = new Set<string>();
  let lastFigures: IpfixCollectorStatus['relays'] = [];
  const m = ctx.metrics;
  const counters = new Map<string, Counter>();
  const counterOf = (name: string, help: string, labels: Record<string, string> = {}): Counter => {
    const key = `${name}|${JSON.stringify(labels)}`;
    let counter = counters.get(key);
    if (!counter) {
      counter = m.counter(name, help, labels);
      counters.set(key, counter);
    }
    return counter;
  };
  const count = (name: string, help: string, labels: Record<string, string> = {}, by = 1): void => counterOf(name, help, labels).inc(by);
  const messages = (transport: string, result: string): void => count('driad_ipfix_messages_total', 'IPFIX messages received, by transport and result', { transport, result });
  // The per-message and per-set counters, looked up once (created at their first use, as the others).
  let decodedUdp: Counter | undefined;
  let amtFlows: Counter | undefined;

  // Who sent the last message: datagrams come in runs from one exporter, and the batched receive
  // hands over one source object per exporter, so its relay, session and keys are found once.
  let lastSender: { source: IpfixSource; tcp: boolean; relay: string; session: Session; waitKey: string } | null = null;
  // Which relay an exporter feeds: a configured exporter address, else the relay with that address.
  let relayByAddress = new Map<string, string>();
  const mapRelays = (relays: readonly RelayConfig[]): void => {
    const next = new Map<string, string>();
    for (const r of relays) {
      if (r.ipv4) next.set(r.ipv4, r.name);
      if (r.ipv6) next.set(r.ipv6.toLowerCase(), r.name);
    }
    for (const e of c.exporters) next.set(e.address.toLowerCase(), e.relay);
    relayByAddress = next;
    lastSender = null;
  };
  mapRelays(ctx.relays.relays());
  const unsubscribe = ctx.relays.onChange(mapRelays);
  const relayOf = (address: string): string | undefined => relayByAddress.get(address.toLowerCase().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1'));

  const sessionOf = (source: IpfixSource, tcp: boolean, relay: string): Session => {
    const key = `${tcp ? 'tcp' : 'udp'}|${source.address}|${source.port}`;
    let s = sessions.get(key);
    if (!s) {
      if (sessions.size >= MAX_SESSIONS) {
        const oldest = [...sessions.entries()].filter(([, v]) => !v.connected || !v.tcp).sort((a, b) => (a[1].lastMessageAt ?? 0) - (b[1].lastMessageAt ?? 0))[0];
        if (oldest) sessions.delete(oldest[0]);
        lastSender = null;
      }
      const target = source.address.includes(':') ? `[${source.address}]:${source.port}` : `${source.address}:${source.port}`;
      s = {
        relay,
        target,
        exporter: target,
        mode: tcp ? 'tcp' : 'udp',
        connected: true,
        since: ctx.clock.now(),
        lastMessageAt: null,
        errors: 0,
        reconnects: 0,
        lastError: null,
        lastErrorAt: null,
        messages: 0,
        templates: 0,
        domains: 0,
        sequenceLost: 0,
        sequenceReordered: 0,
        restarts: 0,
        samplingRate: null,
        source,
        tcp,
        domainSet: new Set(),
      };
      sessions.set(key, s);
      if (tcp) s.reconnects = [...sessions.values()].filter((o) => o.tcp && o !== s && o.source.address === source.address).length;
    }
    return s;
  };

  const fail = (s: Session | null, kind: string, reason: string, address: string): void => {
    ctx.badInput.report('ipfix', kind, reason, address);
    if (s) {
      s.errors++;
      s.lastError = `${kind}: ${reason}`;
      s.lastErrorAt = ctx.clock.now();
    }
  };

  const handle = (q: Queued): void => {
    if (q.closed) {
      lastSender = null;
      tcpDecoder.closeSession(q.source);
      sampling.tcp.forget(q.source);
      return;
    }
    const transport = q.tcp ? 'tcp' : 'udp';
    let sender = lastSender;
    if (sender === null || sender.source !== q.source || sender.tcp !== q.tcp) {
      const relay = relayOf(q.source.address);
      if (relay === undefined) {
        unknownExporters++;
        messages(transport, 'unknown-exporter');
        ctx.badInput.report('ipfix', 'unknown-exporter', `IPFIX from ${q.source.address}, which is no relay's address (see ipfix.exporters); ignored`, q.source.address);
        return;
      }
      sender = { source: q.source, tcp: q.tcp, relay, session: sessionOf(q.source, q.tcp, relay), waitKey: `${transport}|${q.source.address}|${q.source.port}` };
      lastSender = sender;
    }
    const { relay, session, waitKey } = sender;
    session.relay = relay;
    session.messages++;
    session.lastMessageAt = ctx.clock.now();
    heard.add(relay);
    const decoder = q.tcp ? tcpDecoder : udpDecoder;
    const r = decoder.decode(q.message, q.source);
    if (!r.ok) {
      messages(transport, 'malformed');
      fail(session, r.kind, r.reason, q.source.address);
      return;
    }
    if (q.tcp) messages(transport, 'decoded');
    else (decodedUdp ??= counterOf('driad_ipfix_messages_total', 'IPFIX messages received, by transport and result', { transport, result: 'decoded' })).inc();
    for (const issue of r.issues) fail(session, issue.kind, issue.reason, q.source.address);
    session.sequenceLost += r.sequence.lost;
    session.sequenceReordered += r.sequence.reordered;
    if (r.sequence.reset) session.restarts++;
    session.domainSet.add(r.header.domain);
    const rates = q.tcp ? sampling.tcp : sampling.udp;
    for (const set of r.sets) {
      if (set.scopeCount > 0) {
        if (rates.observe(q.source, set)) {
          session.samplingRate = rates.rate(q.source, set.domain).rate;
          release(waitKey, 'rate');
        }
        continue;
      }
      if (!set.columns) continue;
      const rate = rates.rate(q.source, set.domain);
      const relayId = tunnels.relayId(relay);
      const cols = decoder.columns;
      let flows = 0;
      if (amtRows.length < set.columns.count) amtRows = new Int32Array(2 * set.columns.count);
      // An AMT data flow: UDP (or no protocol given) from port 2268, with both addresses and the
      // gateway's port.
      for (let i = set.columns.first, last = i + set.columns.count; i < last; i++) {
        if (cols.srcPort[i] !== AMT_PORT) continue;
        const protocol = cols.protocol[i];
        if (protocol !== -1 && protocol !== 17) continue;
        if (cols.srcFamily[i] === 0 || cols.dstFamily[i] === 0 || cols.dstPort[i] < 0) continue;
        if (rate.from !== 'unknown') {
          amtRows[flows++] = i;
          continue;
        }
        flows++;
        let w = waiting.get(waitKey);
        if (!w) {
          w = { relay: relayId, source: q.source, tcp: q.tcp, since: ctx.clock.now(), domains: [], flows: new FlowColumns(64) };
          waiting.set(waitKey, w);
        }
        w.flows.copyRow(cols, i);
        w.domains.push(set.domain);
        if (++waitingFlows >= MAX_WAITING_FLOWS) release(waitKey, 'timeout');
      }
      if (rate.from !== 'unknown') tunnels.addRows(relayId, cols, amtRows, flows, rate.rate);
      if (flows > 0) (amtFlows ??= counterOf('driad_ipfix_amt_flows_total', 'AMT data flow records (from port 2268) added to tunnels')).inc(flows);
    }
  };

  // A flood is decoded in slices of at most batchMessages messages or BATCH_BUDGET_MS, between
  // which the event loop (and so DNS) gets its turn.
  const drain = (): void => {
    const started = performance.now();
    let done = 0;
    while (queueHead < queue.length && done < c.batchMessages && performance.now() - started < BATCH_BUDGET_MS) {
      const q = queue[queueHead] as Queued;
      queue[queueHead++] = undefined as unknown as Queued;
      done++;
      try {
        handle(q);
      } catch (err) {
        fail(null, 'collector-error', (err as Error).message, q.source.address);
      }
    }
    if (queueHead > 4096 && queueHead * 2 > queue.length) {
      queue.splice(0, queueHead);
      queueHead = 0;
    }
    if (queueHead < queue.length && !stopped) setImmediate(drain);
    else draining = false;
  };
  const enqueue = (message: Buffer, source: IpfixSource, tcp: boolean, closed = false): void => {
    if (!closed && queue.length - queueHead >= c.queueLimit) {
      messages(tcp ? 'tcp' : 'udp', 'dropped');
      ctx.badInput.report('ipfix', 'queue-full', `${c.queueLimit} messages waiting to be decoded (ipfix.queueLimit); dropping`, source.address);
      return;
    }
    queue.push(closed ? { message, source, tcp, closed } : { message, source, tcp });
    if (!draining) {
      draining = true;
      setImmediate(drain);
    }
  };

  // A datagram in the batched receive's slab is decoded right there: the addon reads at most 16
  // batches of 32 per wakeup before the event loop (and DNS) gets its turn again, which bounds the
  // time as the queue's slices do. Copying into the queue instead, when behind, fed a backlog of
  // Buffers that made every scavenge longer and the socket overflow (bench/ipfix/README.md).
  const direct: Queued = { message: Buffer.alloc(0), source: { address: '', port: 0 }, tcp: false };
  const onDatagram = (message: Buffer, source: IpfixSource, transient: boolean): void => {
    if (!transient) return enqueue(message, source, false);
    if (stopped) return;
    direct.message = message;
    direct.source = source;
    try {
      handle(direct);
    } catch (err) {
      fail(null, 'collector-error', (err as Error).message, source.address);
    }
  };

  // UDP, then TCP on the same port.
  const udp = await openUdpReceiver(c.listen, c.port, { batched: c.batchedReceive, receiveBufferBytes: c.receiveBufferBytes, onError: (err) => ctx.log.error(`ipfix: UDP socket: ${err.message}`) }, onDatagram);
  const port = udp.port;
  const rb = udp.receiveBuffer;
  if (udp.fallback && c.batchedReceive) ctx.log.info(`ipfix: UDP through node:dgram: ${udp.fallback}`);
  if (rb.clamped) {
    ctx.log.warn(
      `ipfix: UDP receive buffer: asked for ${rb.requested} bytes (ipfix.receiveBufferBytes), the kernel granted ${rb.granted}` +
        (rb.rmemMax !== null ? `: net.core.rmem_max is ${rb.rmemMax}; raise it (sysctl -w net.core.rmem_max=${rb.requested}) for a buffer that rides out longer pauses` : ''),
    );
  }
  const openSockets = new Set<TcpSocket>();
  let tcp: Server | null = null;
  if (c.tcp) {
    tcp = createServer((socket) => {
      const source: IpfixSource = { address: socket.remoteAddress ?? '?', port: socket.remotePort ?? 0 };
      const relay = relayOf(source.address);
      const framer = new IpfixStreamFramer();
      openSockets.add(socket);
      const session = relay !== undefined ? sessionOf(source, true, relay) : null;
      socket.on('data', (chunk: Buffer) => {
        const r = framer.push(chunk);
        for (const message of r.messages) enqueue(message, source, true);
        if (!r.ok) {
          fail(session, 'stream-lost', r.reason, source.address);
          socket.destroy();
        }
      });
      socket.on('error', (err) => fail(session, 'tcp-error', err.message, source.address));
      socket.on('close', () => {
        openSockets.delete(socket);
        enqueue(Buffer.alloc(0), source, true, true);
        if (session) {
          session.connected = false;
          session.since = ctx.clock.now();
        }
      });
    });
    const server = tcp;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, c.listen, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }
  // Intervals aligned on multiples of intervalMs, so a record's start (and id) does not depend on
  // when driad started.
  const startedAt = ctx.clock.now();
  let intervalStart = Math.floor(startedAt / c.intervalMs) * c.intervalMs;
  let flushing: Promise<void> = Promise.resolve();
  const flush = async (end: number): Promise<void> => {
    const start = intervalStart;
    intervalStart = Math.max(start, Math.floor(end / c.intervalMs) * c.intervalMs);
    for (const [key, w] of waiting) if (end - w.since >= SAMPLING_WAIT_MS) release(key, 'timeout');
    const totals = tunnels.flush();
    const relays = heard;
    heard = new Set();
    const coveredMs = Math.max(1, end - Math.max(start, startedAt));
    const byRelay = new Map<string, { tunnels: number; bytes: number }>();
    for (const r of relays) byRelay.set(r, { tunnels: 0, bytes: 0 });
    for (const t of totals) {
      const r = byRelay.get(t.relay) ?? { tunnels: 0, bytes: 0 };
      r.tunnels++;
      r.bytes += t.bytes;
      byRelay.set(t.relay, r);
    }
    lastFigures = [];
    for (const [relay, r] of byRelay) {
      const bandwidthBps = Math.round((r.bytes * 8 * 1000) / coveredMs);
      ctx.signal({ relay, kind: 'tunnels', value: r.tunnels, at: end, intervalMs: c.intervalMs });
      ctx.signal({ relay, kind: 'bandwidthBps', value: bandwidthBps, at: end, intervalMs: c.intervalMs });
      lastFigures.push({ relay, tunnels: r.tunnels, bandwidthBps, at: end });
    }
    if (c.usageRecords && totals.length > 0) await account(totals, start, end - start);
  };
  const account = async (totals: TunnelTotals[], start: number, durationMs: number): Promise<void> => {
    for (let i = 0; i < totals.length; i += RECORD_BATCH) {
      const results = await Promise.allSettled(totals.slice(i, i + RECORD_BATCH).map((t) => ctx.account(usageRecord(t, start, durationMs))));
      const refused = results.filter((r) => r.status === 'rejected');
      count('driad_ipfix_usage_records_total', 'Tunnel usage records written to the accounting spool, by result', { result: 'spooled' }, results.length - refused.length);
      if (refused.length > 0) {
        count('driad_ipfix_usage_records_total', 'Tunnel usage records written to the accounting spool, by result', { result: 'refused' }, refused.length);
        const reason = (refused[0] as PromiseRejectedResult).reason as Error;
        const kind = reason instanceof SpoolRefused ? reason.reason : 'error';
        ctx.badInput.report('ipfix', `usage-refused-${kind}`, `${refused.length} tunnel usage records not spooled: ${reason.message}`);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  let timer: NodeJS.Timeout | null = null;
  let boundary = intervalStart;
  const schedule = (): void => {
    const now = ctx.clock.now();
    // Timers may fire a little early: the next boundary is always after the last one.
    const next = Math.max(boundary + c.intervalMs, Math.floor(now / c.intervalMs) * c.intervalMs + c.intervalMs);
    boundary = next;
    timer = setTimeout(() => {
      if (stopped) return;
      flushing = flushing.then(() => flush(next)).catch((err: Error) => ctx.log.error(`ipfix: interval: ${err.message}`));
      schedule();
    }, next - now);
  };
  schedule();

  const status = (): IpfixCollectorStatus => ({
    collector: ctx.name,
    mode: c.tcp ? 'udp+tcp' : 'udp',
    sessions: [...sessions.values()].map((s) => {
      const decoder = s.tcp ? tcpDecoder : udpDecoder;
      const templates = [...s.domainSet].reduce((n, d) => n + decoder.templates(s.source, d).length, 0);
      const quiet = !s.tcp && s.lastMessageAt !== null && ctx.clock.now() - s.lastMessageAt > 3 * c.intervalMs;
      const { source: _source, tcp: _tcp, domainSet, ...view } = s;
      return { ...view, connected: s.tcp ? s.connected : !quiet, templates, domains: domainSet.size };
    }),
    listen: { udp: hostPort(c.listen, port), tcp: tcp ? hostPort(c.listen, port) : null },
    receive: udp.mode,
    receiveBuffer: rb,
    intervalMs: c.intervalMs,
    relays: lastFigures,
    unknownExporters,
    queued: queue.length - queueHead,
    waitingForSampling: waitingFlows,
  });

  m.gauge('driad_ipfix_queue', 'IPFIX messages waiting to be decoded', () => (stopped ? [] : [[{}, queue.length - queueHead]]));
  m.gauge('driad_ipfix_templates', 'IPFIX templates known, by transport', () => (stopped ? [] : [[{ transport: 'udp' }, udpDecoder.status().templates], [{ transport: 'tcp' }, tcpDecoder.status().templates]]));
  m.gauge('driad_ipfix_exporters', 'IPFIX exporters with state in the decoder', () => (stopped ? [] : [[{}, udpDecoder.status().exporters + tcpDecoder.status().exporters]]));
  m.gauge('driad_ipfix_sequence_lost_records', 'Data records missing by the exporters\' sequence numbers (RFC 7011 §10.3.2), net of late arrivals', () =>
    stopped ? [] : [[{}, udpDecoder.stats.lost + tcpDecoder.stats.lost]],
  );
  m.gauge('driad_ipfix_tunnels', 'AMT tunnels with data in the last interval, by relay', () => lastFigures.map((f) => [{ relay: f.relay }, f.tunnels]));
  m.gauge('driad_ipfix_bandwidth_bps', 'AMT data rate to gateways in the last interval (sampling applied), by relay', () => lastFigures.map((f) => [{ relay: f.relay }, f.bandwidthBps]));
  ctx.log.info(
    { udp: hostPort(c.listen, port), tcp: c.tcp, receive: udp.mode, receiveBuffer: rb.granted },
    `ipfix: listening on ${hostPort(c.listen, port)} (UDP${c.tcp ? ' and TCP' : ''}, UDP read by ${udp.mode}, receive buffer ${rb.granted} bytes), interval ${c.intervalMs} ms`,
  );

  return {
    status,
    async stop() {
      if (stopped) return;
      if (timer) clearTimeout(timer);
      // What was received so far in this interval is written as a shorter interval.
      while (queueHead < queue.length) handle(queue[queueHead++] as Queued);
      stopped = true;
      unsubscribe();
      if (waitingFlows > 0) ctx.log.warn(`ipfix: ${waitingFlows} AMT flow records dropped at stop: their exporter had sent no sampling rate yet`);
      await flushing;
      await flush(ctx.clock.now()).catch((err: Error) => ctx.log.error(`ipfix: last interval: ${err.message}`));
      for (const s of openSockets) s.destroy();
      await Promise.all([udp.close(), tcp ? new Promise<void>((resolve) => tcp.close(() => resolve())) : undefined]);
    },
  };
}

function usageRecord(t: TunnelTotals, start: number, durationMs: number): AmtTunnelUsage {
  const key = { source: 'ipfix', relay: t.relay, gateway: t.gateway, gatewayPort: t.gatewayPort, group: t.group, start, durationMs };
  return {
    type: 'amt-tunnel-usage',
    id: tunnelUsageId(key),
    ...key,
    relayAddress: t.relayAddress,
    bytes: Math.round(t.bytes),
    packets: Math.round(t.packets),
    samplingRate: t.samplingRate,
  };
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
