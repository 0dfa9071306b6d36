import type { Logger } from '../telemetry/log.ts';
import type { Counter, Metrics } from '../telemetry/metrics.ts';
import type { BadInputReporter } from '../telemetry/bad-input.ts';
import { typeName } from './packet.ts';
import type { Catalog } from './catalog.ts';
import { respond } from './responder.ts';
import { RCODE_NAME } from './wire/constants.ts';
import { parseQuery } from './wire/query.ts';
import { udpLimit, writeResponse, type Reply } from './wire/response.ts';

export type Transport = 'udp' | 'tcp';

export interface EngineOptions {
  catalog: Catalog;
  udpPayloadSize: number;
  queryLog: boolean;
}

const TCP_LIMIT = 65535;

/** Bytes in, bytes out: the transports hand every message here and send back what it returns. */
export class DnsEngine {
  options: EngineOptions;
  readonly #log: Logger;
  readonly #metrics: Metrics;
  readonly #badInput: BadInputReporter;
  readonly #byRcode: Record<Transport, Array<Counter | undefined>> = { udp: [], tcp: [] };
  readonly #byType = new Map<number, Counter>();
  readonly #dropped: Record<Transport, Counter>;

  constructor(options: EngineOptions, log: Logger, metrics: Metrics, badInput: BadInputReporter) {
    this.options = options;
    this.#log = log;
    this.#metrics = metrics;
    this.#badInput = badInput;
    this.#dropped = {
      udp: metrics.counter('driad_dns_dropped_total', 'Messages dropped without an answer', { transport: 'udp' }),
      tcp: metrics.counter('driad_dns_dropped_total', 'Messages dropped without an answer', { transport: 'tcp' }),
    };
  }

  /** Swaps in new zones or settings (SIGHUP); queries in flight finish on the old ones. */
  update(options: EngineOptions): void {
    this.options = options;
  }

  handle(msg: Buffer, transport: Transport, peer: string): Buffer | null {
    const parsed = parseQuery(msg);
    const { udpPayloadSize } = this.options;
    if (!parsed.ok) {
      if (parsed.drop) {
        this.#dropped[transport].inc();
        this.#badInput.report('dns', 'dropped', parsed.reason, peer);
        return null;
      }
      this.#badInput.report('dns', RCODE_NAME[parsed.rcode] ?? String(parsed.rcode), parsed.reason, peer);
      const reply: Reply = { rcode: parsed.rcode, authoritative: false, answer: null, ancount: 0, soaTail: null, soaOwnerOffset: 0 };
      this.#count(transport, parsed.query.qtype, parsed.rcode);
      return writeResponse(msg, parsed.query, reply, { limit: TCP_LIMIT, ourUdpSize: udpPayloadSize });
    }
    const query = parsed.query;
    const reply = respond(this.options.catalog, query);
    const limit = transport === 'udp' ? udpLimit(query, udpPayloadSize) : TCP_LIMIT;
    const out = writeResponse(msg, query, reply, { limit, ourUdpSize: udpPayloadSize });
    this.#count(transport, query.qtype, reply.rcode);
    if (this.options.queryLog) {
      this.#log.info(
        { query: { client: peer, transport, qname: query.qname, qtype: typeName(query.qtype), rcode: RCODE_NAME[reply.rcode], answers: reply.ancount, truncated: ((out[2] as number) & 0x02) !== 0 } },
        'query',
      );
    }
    return out;
  }

  #count(transport: Transport, qtype: number, rcode: number): void {
    let c = this.#byRcode[transport][rcode];
    if (!c) {
      c = this.#metrics.counter('driad_dns_responses_total', 'Responses by transport and rcode', { transport, rcode: RCODE_NAME[rcode] ?? String(rcode) });
      this.#byRcode[transport][rcode] = c;
    }
    c.inc();
    let t = this.#byType.get(qtype);
    if (!t) {
      t = this.#metrics.counter('driad_dns_queries_total', 'Queries by QTYPE', { qtype: typeName(qtype) });
      this.#byType.set(qtype, t);
    }
    t.inc();
  }
}
