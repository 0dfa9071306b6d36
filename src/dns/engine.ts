import type { Logger } from '../telemetry/log.ts';
import type { Counter, Metrics } from '../telemetry/metrics.ts';
import type { BadInputReporter } from '../telemetry/bad-input.ts';
import { typeName } from './packet.ts';
import type { Catalog } from './catalog.ts';
import { bareReply, respond } from './responder.ts';
import { RCODE_NAME } from './wire/constants.ts';
import { parseQueryInto, WireQuery, type Query } from './wire/query.ts';
import { responseLength, udpLimit, writeResponseAt, type Reply } from './wire/response.ts';

/** 'doh': RFC 8484 and the JSON API, over any HTTP version (src/doh/); sized like TCP. */
export type Transport = 'udp' | 'tcp' | 'doh';
const TRANSPORT_BITS: Record<Transport, number> = { udp: 0, tcp: 1, doh: 2 };

import type { Peer } from './peer.ts';

export type { Peer };

export interface EngineOptions {
  catalog: Catalog;
  udpPayloadSize: number;
  queryLog: boolean;
}

const TCP_LIMIT = 65535;

/** One answer in the making, its query included: reused across messages so the hot path allocates nothing here. */
interface Pending {
  query: Query;
  reply: Reply;
  limit: number;
}

/** Bytes in, bytes out: the transports hand every message here and send back what it writes. */
export class DnsEngine {
  options: EngineOptions;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  readonly #badInput: BadInputReporter;
  readonly #counters = new Map<number, [responses: Counter, queries: Counter]>();
  readonly #dropped: Record<Transport, Counter>;
  readonly #pending: Pending = { query: new WireQuery(), reply: null as unknown as Reply, limit: 0 };

  constructor(options: EngineOptions, log: Logger, metrics: Metrics, badInput: BadInputReporter) {
    this.options = options;
    this.#log = log;
    this.#metrics = metrics;
    this.#badInput = badInput;
    const help = 'Messages dropped without an answer';
    this.#dropped = {
      udp: metrics.counter('driad_dns_dropped_total', help, { transport: 'udp' }),
      tcp: metrics.counter('driad_dns_dropped_total', help, { transport: 'tcp' }),
      doh: metrics.counter('driad_dns_dropped_total', help, { transport: 'doh' }),
    };
  }

  /** Swaps in new zones or settings (SIGHUP); the next message uses them. */
  update(options: EngineOptions): void {
    this.options = options;
  }

  /** Answers one message into a new buffer, or returns null when it deserves no answer. */
  handle(msg: Buffer, transport: Transport, peer: Peer): Buffer | null {
    const p = this.#prepare(msg, transport, peer);
    if (!p) return null;
    const out = Buffer.allocUnsafe(responseLength(p.query, p.reply, p.limit));
    this.#write(out, 0, msg, transport, peer, p);
    return out;
  }

  /** Answers one message into `out` at `offset`; returns the length written, 0 for no answer. */
  handleInto(msg: Buffer, transport: Transport, peer: Peer, out: Buffer, offset: number): number {
    const p = this.#prepare(msg, transport, peer);
    return p ? this.#write(out, offset, msg, transport, peer, p) : 0;
  }

  /** A message that never reached the parser (e.g. larger than the receive slot). */
  drop(transport: Transport, reason: string, peer: Peer): void {
    this.#dropped[transport].inc();
    this.#badInput.report('dns', 'dropped', reason, peer.address);
  }

  #prepare(msg: Buffer, transport: Transport, peer: Peer): Pending | null {
    const p = this.#pending;
    const failed = parseQueryInto(msg, p.query);
    if (!failed) {
      p.reply = respond(this.options.catalog, p.query, peer);
      if (p.reply.problem) this.#badInput.report('dns', RCODE_NAME[p.reply.rcode] ?? String(p.reply.rcode), p.reply.problem, peer.address);
      p.limit = transport === 'udp' ? udpLimit(p.query, this.options.udpPayloadSize) : TCP_LIMIT;
      return p;
    }
    if (failed.drop) {
      this.drop(transport, failed.reason, peer);
      return null;
    }
    this.#badInput.report('dns', RCODE_NAME[failed.rcode] ?? String(failed.rcode), failed.reason, peer.address);
    p.reply = bareReply(failed.rcode);
    p.limit = TCP_LIMIT;
    return p;
  }

  #write(out: Buffer, offset: number, msg: Buffer, transport: Transport, peer: Peer, p: Pending): number {
    const length = writeResponseAt(out, offset, msg, p.query, p.reply, { limit: p.limit, ourUdpSize: this.options.udpPayloadSize });
    this.#count(transport, p.query.qtype, p.reply.rcode);
    if (this.options.queryLog) this.#logQuery(transport, peer, p, ((out[offset + 2] as number) & 0x02) !== 0);
    return length;
  }

  #logQuery(transport: Transport, peer: Peer, p: Pending, truncated: boolean): void {
    const { query, reply } = p;
    this.#log.info(
      {
        query: {
          client: peer.address,
          transport,
          qname: query.qname,
          qtype: typeName(query.qtype),
          rcode: RCODE_NAME[reply.rcode],
          answers: reply.ancount,
          truncated,
        },
      },
      'query',
    );
  }

  /** Both per-query counters of one (transport, qtype, rcode), found with one lookup on the hot path. */
  #count(transport: Transport, qtype: number, rcode: number): void {
    // 16 + 12 + 2 bits (rcode is 12 bits with EDNS): a small integer, which keys a Map fastest.
    const key = (qtype << 14) | ((rcode & 0xfff) << 2) | TRANSPORT_BITS[transport];
    let pair = this.#counters.get(key);
    if (!pair) {
      pair = [this.#responses(transport, rcode), this.#queries(qtype, rcode)];
      this.#counters.set(key, pair);
    }
    pair[0].inc();
    pair[1].inc();
  }

  #responses(transport: Transport, rcode: number): Counter {
    return this.#metrics.counter('driad_dns_responses_total', 'Responses by transport and rcode', { transport, rcode: RCODE_NAME[rcode] ?? String(rcode) });
  }

  #queries(qtype: number, rcode: number): Counter {
    return this.#metrics.counter('driad_dns_queries_total', 'Queries answered, by QTYPE and rcode', { qtype: typeName(qtype), rcode: RCODE_NAME[rcode] ?? String(rcode) });
  }
}
