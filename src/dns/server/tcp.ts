import { createServer, type Server, type Socket } from 'node:net';
import type { BadInputReporter } from '../../telemetry/bad-input.ts';
import type { Counter, Metrics } from '../../telemetry/metrics.ts';
import type { DnsEngine } from '../engine.ts';

export interface TcpOptions {
  /** Close a connection with no complete query for this long (RFC 7766 §6.2.3), partial bytes or not. */
  idleTimeoutMs: number;
  maxConnections: number;
}

export interface TcpListener {
  address: string;
  port: number;
  connections(): number;
  /** Stops accepting, lets each connection finish the message it is on, then closes it. */
  close(drainMs: number): Promise<void>;
}

const HIGH_WATER = 256 * 1024;

/**
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766): 2-byte length framing, any number of queries per
 * connection, pipelined queries answered in order, idle and slow-client timeouts.
 */
export async function listenTcp(
  engine: DnsEngine,
  host: string,
  port: number,
  options: () => TcpOptions,
  metrics: Metrics,
  badInput: BadInputReporter,
): Promise<TcpListener> {
  /** Open connections and the partial message each one holds. */
  const sockets = new Map<Socket, { pending: Buffer }>();
  const refused: Counter = metrics.counter('driad_dns_tcp_refused_total', 'TCP connections closed at once: over dns.tcpMaxConnections');
  const timedOut: Counter = metrics.counter('driad_dns_tcp_timeouts_total', 'TCP connections closed for idleness or a slow client');
  let draining = false;

  const server: Server = createServer({ noDelay: true }, (socket) => {
    const peer = { address: socket.remoteAddress ?? '?' };
    if (draining || sockets.size >= options().maxConnections) {
      refused.inc();
      badInput.report('dns-tcp', 'connection limit', `closing connection from ${peer.address}: ${sockets.size} open`, peer.address);
      socket.destroy();
      return;
    }
    const conn: { pending: Buffer } = { pending: Buffer.alloc(0) };
    sockets.set(socket, conn);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());

    let timer: NodeJS.Timeout;
    const armTimer = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut.inc();
        socket.destroy();
      }, options().idleTimeoutMs);
    };
    armTimer();
    socket.on('close', () => clearTimeout(timer));

    socket.on('data', (chunk: Buffer) => {
      if (socket.writableEnded) return;
      const pending = conn.pending.length === 0 ? chunk : Buffer.concat([conn.pending, chunk]);
      let offset = 0;
      while (pending.length - offset >= 2) {
        const length = pending.readUInt16BE(offset);
        if (pending.length - offset - 2 < length) break;
        const msg = pending.subarray(offset + 2, offset + 2 + length);
        offset += 2 + length;
        armTimer();
        const out = engine.handle(msg, 'tcp', peer);
        if (!out) {
          // RFC 7766 §7: a message we cannot answer at all leaves the stream untrustworthy.
          socket.destroy();
          return;
        }
        const frame = Buffer.allocUnsafe(2 + out.length);
        frame.writeUInt16BE(out.length, 0);
        out.copy(frame, 2);
        if (!socket.write(frame) && socket.writableLength > HIGH_WATER) {
          socket.pause();
          socket.once('drain', () => socket.resume());
        }
      }
      conn.pending = offset === 0 ? pending : pending.subarray(offset);
      if (draining && conn.pending.length === 0) socket.end();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, ipv6Only: host.includes(':') }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('TCP listener has no address');

  return {
    address: bound.address,
    port: bound.port,
    connections: () => sockets.size,
    close: async (drainMs: number) => {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const [s, conn] of sockets) if (conn.pending.length === 0) s.end();
      const deadline = setTimeout(() => {
        for (const s of sockets.keys()) s.destroy();
      }, drainMs);
      await closed;
      clearTimeout(deadline);
    },
  };
}
