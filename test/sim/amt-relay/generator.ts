// The gateway side of many AMT tunnels at once (see README.md, "Generator"): each planned gateway
// runs a whole RFC 7450 lifecycle against a relay over real UDP, and the generator keeps a ledger
// of every datagram it sent and received, which is what a tracker on the path must report.

import { createSocket, type Socket } from 'node:dgram';
import { decodeAmt, encodeAmt } from '../../../src/amt/codec.ts';
import { RECORD_TYPE, type GroupRecord } from '../../../src/amt/group-records.ts';
import { encodeMembershipReport } from '../../../src/amt/membership.ts';
import type { AmtMessage, GatewayEndpoint, MembershipQuery } from '../../../src/amt/messages.ts';

export interface GroupJoin {
  /** IPv4 group for an IPv4 (IGMPv3) tunnel, IPv6 for an MLDv2 one. */
  group: string;
  /** SSM source (ALLOW_NEW_SOURCES {source}); none: an ASM join (CHANGE_TO_EXCLUDE_MODE {}). */
  source?: string;
}

export interface GatewayPlan {
  /** Local address to send from (the relay's family). */
  address: string;
  /** Local port; 0 for a free one. Several gateways may share an address with different ports. */
  port: number;
  /** Joined in one Membership Update; they all have the family of the first. */
  groups: GroupJoin[];
  /** Leaves the first `leave` groups in a second Membership Update. */
  leave?: number;
  /** Ends with a Teardown; otherwise the gateway just stops sending (its tunnel expires). */
  teardown?: boolean;
}

export interface Count {
  packets: number;
  bytes: number;
}

/** One gateway's exchange, as the gateway saw it. */
export interface LedgerEntry {
  address: string;
  port: number;
  relay: { address: string; port: number };
  requestNonce: number;
  responseMac: number;
  /** The Membership Query's Gateway Address and Port (what the relay saw), null when G=0. */
  seenAs: GatewayEndpoint | null;
  /** Groups joined at the end. */
  groups: string[];
  tornDown: boolean;
  toRelay: { discovery: Count; request: Count; update: Count; teardown: Count };
  fromRelay: { advertisement: Count; query: Count; data: Count };
  /** What went wrong (a reply that never came); empty when the lifecycle completed. */
  errors: string[];
}

export interface Datagram {
  at: number;
  /** `to`: gateway to relay; `from`: relay to gateway. */
  direction: 'to' | 'from';
  gateway: { address: string; port: number };
  relay: { address: string; port: number };
  bytes: Buffer;
}

export interface GeneratorOptions {
  /** Where Relay Discovery goes (the relay, or its anycast discovery address). */
  relay: { address: string; port: number };
  /** Gateways running at the same time. Default 32. */
  concurrency?: number;
  /** How long to wait for each answer. Default 5000 ms. */
  timeoutMs?: number;
  /** Multicast Data datagrams the relay sends per group joined (the relay simulator's `data.packets`). */
  dataPerGroup?: number;
  /** Keep every datagram (for a pcap). */
  transcript?: boolean;
  /** Nonces are derived from this and the gateway's index, so runs are reproducible. */
  seed?: number;
}

export interface GeneratorResult {
  ledger: LedgerEntry[];
  transcript: Datagram[];
}

const zero = (): Count => ({ packets: 0, bytes: 0 });
const add = (c: Count, b: Buffer): void => {
  c.packets++;
  c.bytes += b.length;
};

/** Group records: joins as ALLOW_NEW_SOURCES {S} or CHANGE_TO_EXCLUDE {}, leaves as BLOCK_OLD_SOURCES {S} or CHANGE_TO_INCLUDE {}. */
function records(groups: GroupJoin[], change: 'join' | 'leave'): GroupRecord[] {
  return groups.map((g) =>
    g.source
      ? { type: change === 'join' ? RECORD_TYPE.ALLOW_NEW_SOURCES : RECORD_TYPE.BLOCK_OLD_SOURCES, group: g.group, sources: [g.source] }
      : { type: change === 'join' ? RECORD_TYPE.CHANGE_TO_EXCLUDE_MODE : RECORD_TYPE.CHANGE_TO_INCLUDE_MODE, group: g.group, sources: [] },
  );
}

/** A bound UDP socket with a deadline on every wait for a matching datagram. */
class Endpoint {
  readonly #socket: Socket;
  readonly #queue: Array<{ bytes: Buffer; from: { address: string; port: number } }> = [];
  #wake: (() => void) | null = null;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('message', (bytes, r) => {
      this.#queue.push({ bytes, from: { address: r.address, port: r.port } });
      this.#wake?.();
    });
  }

  static async open(address: string, port: number): Promise<Endpoint> {
    const v6 = address.includes(':');
    const socket = createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6 });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, address, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', () => {});
    return new Endpoint(socket);
  }

  get port(): number {
    return this.#socket.address().port;
  }

  send(bytes: Buffer, to: { address: string; port: number }): Promise<void> {
    return new Promise((resolve, reject) => this.#socket.send(bytes, to.port, to.address, (err) => (err ? reject(err) : resolve())));
  }

  /** The next datagram `accept` takes (others stay queued), or null after `timeoutMs`. */
  async next<T>(accept: (bytes: Buffer) => T | null, timeoutMs: number): Promise<{ value: T; bytes: Buffer; from: { address: string; port: number } } | null> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      for (let i = 0; i < this.#queue.length; i++) {
        const d = this.#queue[i]!;
        const value = accept(d.bytes);
        if (value !== null) {
          this.#queue.splice(i, 1);
          return { value, ...d };
        }
      }
      const left = end - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#socket.close(() => resolve()));
  }
}

/** Runs every planned gateway's lifecycle, `concurrency` at a time; resolves with the ledger. */
export async function runGateways(plans: readonly GatewayPlan[], o: GeneratorOptions): Promise<GeneratorResult> {
  const timeoutMs = o.timeoutMs ?? 5000;
  const transcript: Datagram[] = [];
  const ledger: LedgerEntry[] = new Array(plans.length);
  const seed = o.seed ?? 0x5eed;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plans.length) {
      const i = next++;
      ledger[i] = await lifecycle(plans[i]!, i);
    }
  };

  async function lifecycle(plan: GatewayPlan, i: number): Promise<LedgerEntry> {
    const socket = await Endpoint.open(plan.address, plan.port);
    const e: LedgerEntry = {
      address: plan.address,
      port: socket.port,
      relay: { ...o.relay },
      requestNonce: 0,
      responseMac: 0,
      seenAs: null,
      groups: [],
      tornDown: false,
      toRelay: { discovery: zero(), request: zero(), update: zero(), teardown: zero() },
      fromRelay: { advertisement: zero(), query: zero(), data: zero() },
      errors: [],
    };
    const gateway = { address: e.address, port: e.port };
    const log = (direction: 'to' | 'from', bytes: Buffer, relay: { address: string; port: number }): void => {
      if (o.transcript) transcript.push({ at: Date.now(), direction, gateway, relay, bytes });
    };
    const send = async (m: AmtMessage, count: Count): Promise<void> => {
      const bytes = encodeAmt(m);
      add(count, bytes);
      log('to', bytes, e.relay);
      await socket.send(bytes, e.relay);
    };
    const receive = async <T>(what: string, accept: (m: AmtMessage) => T | null, count: Count): Promise<T | null> => {
      const got = await socket.next((bytes) => {
        const d = decodeAmt(bytes);
        return d.ok ? accept(d.message) : null;
      }, timeoutMs);
      if (!got) {
        e.errors.push(`no ${what} within ${timeoutMs} ms`);
        return null;
      }
      add(count, got.bytes);
      log('from', got.bytes, got.from);
      return got.value;
    };
    try {
      const discoveryNonce = (seed * 7919 + i * 2 + 1) >>> 0;
      await send({ type: 'relay-discovery', nonce: discoveryNonce }, e.toRelay.discovery);
      const relayAddress = await receive('Relay Advertisement', (m) => (m.type === 'relay-advertisement' && m.nonce === discoveryNonce ? m.relayAddress : null), e.fromRelay.advertisement);
      if (relayAddress === null) return e;
      e.relay = { address: relayAddress, port: o.relay.port };

      const v6Groups = plan.groups[0]?.group.includes(':') ?? false;
      e.requestNonce = (seed * 104729 + i * 2 + 2) >>> 0;
      await send({ type: 'request', p: v6Groups, nonce: e.requestNonce }, e.toRelay.request);
      const query = await receive('Membership Query', (m) => (m.type === 'membership-query' && m.nonce === e.requestNonce ? m : null), e.fromRelay.query);
      if (query === null) return e;
      e.responseMac = (query as MembershipQuery).responseMac;
      e.seenAs = (query as MembershipQuery).gateway;

      const family = v6Groups ? 6 : 4;
      const update = (groups: GroupJoin[], change: 'join' | 'leave') =>
        send({ type: 'membership-update', responseMac: e.responseMac, nonce: e.requestNonce, packet: encodeMembershipReport({ family, records: records(groups, change) }) }, e.toRelay.update);
      await update(plan.groups, 'join');
      const groups = new Set(plan.groups.map((g) => g.group));
      for (let n = 0; n < (o.dataPerGroup ?? 0) * plan.groups.length; n++) {
        if ((await receive('Multicast Data', (m) => (m.type === 'multicast-data' ? m : null), e.fromRelay.data)) === null) break;
      }
      if (plan.leave) {
        const leaving = plan.groups.slice(0, plan.leave);
        await update(leaving, 'leave');
        for (const g of leaving) groups.delete(g.group);
      }
      e.groups = [...groups].sort();
      if (plan.teardown) {
        await send({ type: 'teardown', responseMac: e.responseMac, nonce: e.requestNonce, gateway: e.seenAs ?? gateway }, e.toRelay.teardown);
        e.tornDown = true;
        e.groups = [];
      }
      return e;
    } finally {
      await socket.close();
    }
  }

  await Promise.all(Array.from({ length: Math.min(o.concurrency ?? 32, plans.length) }, worker));
  return { ledger, transcript };
}

/** Sums of a ledger's counters, by message type. */
export function ledgerTotals(ledger: readonly LedgerEntry[]): Record<string, Count> {
  const t: Record<string, Count> = {};
  for (const e of ledger) {
    for (const [k, c] of [...Object.entries(e.toRelay), ...Object.entries(e.fromRelay)]) {
      const s = (t[k] ??= zero());
      s.packets += c.packets;
      s.bytes += c.bytes;
    }
  }
  return t;
}
