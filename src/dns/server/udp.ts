import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { DnsEngine } from '../engine.ts';

export interface UdpListener {
  address: string;
  port: number;
  close(): Promise<void>;
}

export async function listenUdp(engine: DnsEngine, host: string, port: number): Promise<UdpListener> {
  const socket: Socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4', ipv6Only: isIPv6(host), recvBufferSize: 4 << 20 });
  socket.on('message', (msg, rinfo) => {
    const out = engine.handle(msg, 'udp', rinfo);
    if (out) socket.send(out, rinfo.port, rinfo.address);
  });
  // A send failure (e.g. ICMP unreachable reported back) concerns one client, not the listener.
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const bound = socket.address();
  return {
    address: bound.address,
    port: bound.port,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
