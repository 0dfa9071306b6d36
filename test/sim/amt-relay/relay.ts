// A small AMT relay responder for tests (see README.md): the relay side of RFC 7450's relay
// discovery and membership handshakes on a loopback UDP port, built on src/amt/.

import { createHmac, randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { decodeAmt, encodeAmt } from '../../../src/amt/codec.ts';
import { groupChanges } from '../../../src/amt/group-records.ts';
import { canonicalIp, parseIp, udpPacket } from '../../../src/amt/inet.ts';
import { decodeMembershipReport, encodeMembershipQuery } from '../../../src/amt/membership.ts';
import type { AmtMessage, AmtMessageType } from '../../../src/amt/messages.ts';

export interface AmtRelayOptions {
  /** Address to bind: 127.0.0.1 (default), ::1, or an address of a namespace veth the test made. */
  host?: string;
  /** UDP port to bind. Default 0: a free one (2268 where a tracker on the interface must see it). */
  port?: number;
  /** The Relay Address advertised. Default: `host`. */
  relayAddress?: string;
  /** Milliseconds before each answer; a function gets the message answered. */
  delayMs?: number | ((m: AmtMessage) => number);
  /** Probability (0-1) that an incoming datagram is dropped unanswered, drawn from `random`. */
  loss?: number;
  random?: () => number;
  /** The MAC key (32 bytes by default, random). */
  secret?: Buffer;
  /**
   * `rfc` (default): RFC 7450 (P at 0x01, G=1 with the gateway fields, Teardown honoured).
   * `linux`: what drivers/net/amt.c does (notes §6): P read at 0x80, a Request with any other bit
   * of byte 1 set dropped, G=0, Teardown ignored, tunnels keyed by gateway address alone.
   */
  flavour?: 'rfc' | 'linux';
  /** L flag in every Membership Query. */
  limited?: boolean;
  /** QQIC of the General Queries (seconds below 128). Default 125. */
  qqic?: number;
  /**
   * Multicast Data to send for each group a Membership Update joins: `packets` datagrams to the
   * tunnel, each a UDP packet from the joined source (or a documentation address) to the group
   * with `bytes` of payload. Default: none.
   */
  data?: { packets: number; bytes: number };
}

export interface Tunnel {
  /** `address:port` (rfc) or `address` (linux). */
  key: string;
  address: string;
  port: number;
  /** group -> sources joined (empty: any source). */
  groups: Map<string, Set<string>>;
  updates: number;
}

export interface RelayEvent {
  at: number;
  from: string;
  port: number;
  /** The message type, or `error:<reason>` for bytes that are not a message. */
  kind: AmtMessageType | `error:${string}`;
  outcome: 'answered' | 'accepted' | 'dropped-loss' | 'dropped-bad' | 'dropped-mac' | 'ignored';
}

export type Counters = Record<RelayEvent['outcome'], number>;

export interface AmtRelaySim {
  host: string;
  port: number;
  relayAddress: string;
  /** The last 1000 events, oldest first. */
  events: RelayEvent[];
  counts: Counters;
  /** Multicast Data datagrams sent (the `data` option). */
  readonly forwarded: number;
  tunnels: Map<string, Tunnel>;
  /** The Response MAC this relay computes for a gateway endpoint and request nonce. */
  responseMac(address: string, port: number, nonce: number): number;
  close(): Promise<void>;
}

/**
 * Response MAC (RFC 7450 §5.3.5 leaves the method to the relay): the first 48 bits, big-endian,
 * of HMAC-SHA-256 under the relay's secret over the gateway address as 16 bytes (an IPv4 one
 * IPv4-compatible, as the Gateway IP Address field carries it), the port (2 bytes) and the
 * request nonce (4 bytes).
 */
export function responseMac(secret: Buffer, address: string, port: number, nonce: number): number {
  const ip = parseIp(address);
  if (!ip) throw new TypeError(`"${address}" is not an IP address`);
  const msg = Buffer.alloc(22);
  ip.copy(msg, ip.length === 4 ? 12 : 0);
  msg.writeUInt16BE(port, 16);
  msg.writeUInt32BE(nonce >>> 0, 18);
  return createHmac('sha256', secret).update(msg).digest().readUIntBE(0, 6);
}

const MAX_EVENTS = 1000;

export async function startAmtRelaySim(o: AmtRelayOptions = {}): Promise<AmtRelaySim> {
  const host = o.host ?? '127.0.0.1';
  const family = host.includes(':') ? 'udp6' : 'udp4';
  const secret = o.secret ?? randomBytes(32);
  const flavour = o.flavour ?? 'rfc';
  const random = o.random ?? Math.random;
  const socket: Socket = createSocket({ type: family, ipv6Only: family === 'udp6' });
  const events: RelayEvent[] = [];
  const counts: Counters = { answered: 0, accepted: 0, 'dropped-loss': 0, 'dropped-bad': 0, 'dropped-mac': 0, ignored: 0 };
  const tunnels = new Map<string, Tunnel>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  let forwarded = 0;

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(o.port ?? 0, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // A send to a closed gateway port surfaces as an error event on some systems: not the relay's problem.
  socket.on('error', () => {});
  const port = socket.address().port;
  const relayAddress = o.relayAddress ?? host;

  const record = (r: RemoteInfo, kind: RelayEvent['kind'], outcome: RelayEvent['outcome']): void => {
    counts[outcome]++;
    events.push({ at: Date.now(), from: r.address, port: r.port, kind, outcome });
    if (events.length > MAX_EVENTS) events.shift();
  };
  const reply = (m: AmtMessage, r: RemoteInfo, bytes: Buffer): void => {
    const delay = typeof o.delayMs === 'function' ? o.delayMs(m) : (o.delayMs ?? 0);
    const send = (): void => {
      if (!closed) socket.send(bytes, r.port, r.address);
    };
    if (delay <= 0) return send();
    const t = setTimeout(() => {
      timers.delete(t);
      send();
    }, delay);
    timers.add(t);
  };
  /** The `data` option: Multicast Data of `group` (from `source`) to the tunnel at `r`. */
  const forward = (r: RemoteInfo, group: string, source: string | undefined): void => {
    const v4 = !group.includes(':');
    for (let i = 0; i < (o.data?.packets ?? 0); i++) {
      const payload = Buffer.alloc(o.data!.bytes, i & 0xff);
      const packet = udpPacket({ source: source ?? (v4 ? '198.51.100.1' : '2001:db8:100::1'), destination: group, sourcePort: 60000, destinationPort: 60001, payload });
      const m: AmtMessage = { type: 'multicast-data', packet };
      forwarded++;
      reply(m, r, encodeAmt(m));
    }
  };
  const tunnelKey = (address: string, p: number): string => {
    const a = canonicalIp(address) ?? address;
    return flavour === 'linux' ? a : `${a}:${p}`;
  };

  socket.on('message', (bytes, r) => {
    if (o.loss && random() < o.loss) return record(r, 'error:unread', 'dropped-loss');
    const d = decodeAmt(bytes);
    if (!d.ok) return record(r, `error:${d.reason}`, 'dropped-bad');
    const m = d.message;
    switch (m.type) {
      case 'relay-discovery': {
        reply(m, r, encodeAmt({ type: 'relay-advertisement', nonce: m.nonce, relayAddress }));
        return record(r, m.type, 'answered');
      }
      case 'request': {
        let p = m.p;
        if (flavour === 'linux') {
          // RFC P=1 (0x01) is a reserved bit to the kernel: dropped. Its own 0x80 is P=1.
          if (m.p && d.deviation !== 'kernel-p-flag') return record(r, m.type, 'dropped-bad');
          p = d.deviation === 'kernel-p-flag';
        }
        const mac = responseMac(secret, r.address, r.port, m.nonce);
        const packet = encodeMembershipQuery({ family: p ? 6 : 4, qqic: o.qqic ?? 125 });
        const gateway = flavour === 'rfc' ? { port: r.port, address: r.address } : null;
        reply(m, r, encodeAmt({ type: 'membership-query', limited: o.limited ?? false, responseMac: mac, nonce: m.nonce, packet, gateway }));
        return record(r, m.type, 'answered');
      }
      case 'membership-update': {
        if (m.responseMac !== responseMac(secret, r.address, r.port, m.nonce)) return record(r, m.type, 'dropped-mac');
        const report = decodeMembershipReport(m.packet);
        if (!report.ok) return record(r, m.type, 'dropped-bad');
        const key = tunnelKey(r.address, r.port);
        let t = tunnels.get(key);
        if (!t) {
          t = { key, address: r.address, port: r.port, groups: new Map(), updates: 0 };
          tunnels.set(key, t);
        }
        t.updates++;
        for (const c of groupChanges(report.value.records)) {
          const sources = t.groups.get(c.group) ?? new Set<string>();
          if (c.change === 'join') {
            for (const s of c.sources) sources.add(s);
            t.groups.set(c.group, sources);
            forward(r, c.group, c.sources[0]);
          } else if (c.sources.length === 0) {
            t.groups.delete(c.group);
          } else {
            for (const s of c.sources) sources.delete(s);
            if (sources.size === 0) t.groups.delete(c.group);
          }
        }
        if (t.groups.size === 0) tunnels.delete(key);
        return record(r, m.type, 'accepted');
      }
      case 'teardown': {
        if (flavour === 'linux') return record(r, m.type, 'ignored');
        if (m.responseMac !== responseMac(secret, m.gateway.address, m.gateway.port, m.nonce)) return record(r, m.type, 'dropped-mac');
        tunnels.delete(tunnelKey(m.gateway.address, m.gateway.port));
        return record(r, m.type, 'accepted');
      }
      default:
        // Advertisement, Query and Data travel from relays: a relay ignores them (§5.3.3.1).
        return record(r, m.type, 'ignored');
    }
  });

  return {
    host,
    port,
    relayAddress,
    events,
    counts,
    get forwarded() {
      return forwarded;
    },
    tunnels,
    responseMac: (address, p, nonce) => responseMac(secret, address, p, nonce),
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        for (const t of timers) clearTimeout(t);
        timers.clear();
        socket.close(() => resolve());
      }),
  };
}
