// The gateway end of a test exchange with the relay simulator: a UDP socket that sends AMT
// messages and hands back what arrives, decoded, with a deadline on every wait.

import { createSocket, type Socket } from 'node:dgram';
import { decodeAmt, encodeAmt, type EncodeOptions } from '../../../src/amt/codec.ts';
import type { AmtDecodeResult, AmtMessage } from '../../../src/amt/messages.ts';

export interface Received {
  result: AmtDecodeResult;
  bytes: Buffer;
  from: { address: string; port: number };
}

export interface TestGateway {
  address: string;
  port: number;
  send(m: AmtMessage | Buffer, options?: EncodeOptions): Promise<void>;
  /** The next datagram, or null after `timeoutMs`. */
  receive(timeoutMs?: number): Promise<Received | null>;
  close(): Promise<void>;
}

export async function startTestGateway(relay: { host: string; port: number }): Promise<TestGateway> {
  const v6 = relay.host.includes(':');
  const socket: Socket = createSocket({ type: v6 ? 'udp6' : 'udp4', ipv6Only: v6 });
  await new Promise<void>((resolve) => socket.bind(0, v6 ? '::1' : '127.0.0.1', resolve));
  const queue: Received[] = [];
  const waiters: Array<(r: Received) => void> = [];
  socket.on('message', (bytes, r) => {
    const got: Received = { result: decodeAmt(bytes), bytes, from: { address: r.address, port: r.port } };
    const w = waiters.shift();
    if (w) w(got);
    else queue.push(got);
  });
  const { address, port } = socket.address();
  return {
    address,
    port,
    send: (m, options) =>
      new Promise<void>((resolve, reject) => {
        const bytes = Buffer.isBuffer(m) ? m : encodeAmt(m, options);
        socket.send(bytes, relay.port, relay.host, (err) => (err ? reject(err) : resolve()));
      }),
    receive: (timeoutMs = 2000) =>
      new Promise<Received | null>((resolve) => {
        const ready = queue.shift();
        if (ready) return resolve(ready);
        const waiter = (r: Received): void => {
          clearTimeout(timer);
          resolve(r);
        };
        const timer = setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          resolve(null);
        }, timeoutMs);
        waiters.push(waiter);
      }),
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
