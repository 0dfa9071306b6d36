// Runs inside the test's network namespace (`ip netns exec NS node ns-peer.ts`) and plays the
// gateways' UDP side: one JSON command per stdin line, one JSON answer per stdout line.
//   {"id":1,"op":"send","from":{"address","port"},"to":{"address","port"},"hex":"..."}
//   {"id":2,"op":"received"} -> {"id":2,"datagrams":[{"local","from","hex"}]}
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { createInterface } from 'node:readline';

interface Endpoint {
  address: string;
  port: number;
}

const sockets = new Map<string, Socket>();
const received: { local: string; from: string; hex: string }[] = [];

async function socketFor(local: Endpoint): Promise<Socket> {
  const key = `${local.address}:${local.port}`;
  const existing = sockets.get(key);
  if (existing) return existing;
  const socket = createSocket({ type: isIPv6(local.address) ? 'udp6' : 'udp4', reuseAddr: true });
  socket.on('message', (msg, rinfo) => received.push({ local: key, from: `${rinfo.address}:${rinfo.port}`, hex: msg.toString('hex') }));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(local.port, local.address, () => resolve());
  });
  sockets.set(key, socket);
  return socket;
}

const answer = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as { id: number; op: string; from?: Endpoint; to?: Endpoint; hex?: string };
  try {
    if (cmd.op === 'send') {
      const socket = await socketFor(cmd.from!);
      await new Promise<void>((resolve, reject) =>
        socket.send(Buffer.from(cmd.hex!, 'hex'), cmd.to!.port, cmd.to!.address, (err) => (err ? reject(err) : resolve())),
      );
      answer({ id: cmd.id, ok: true });
    } else if (cmd.op === 'bind') {
      await socketFor(cmd.from!);
      answer({ id: cmd.id, ok: true });
    } else if (cmd.op === 'received') {
      answer({ id: cmd.id, datagrams: received });
    } else {
      answer({ id: cmd.id, error: `unknown op ${cmd.op}` });
    }
  } catch (err) {
    answer({ id: cmd.id, error: String(err) });
  }
}
for (const socket of sockets.values()) socket.close();
