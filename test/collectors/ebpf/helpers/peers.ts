// The processes around the loader in a test: the gateways' UDP peer inside the namespace, raw
// frame sends from it, a packet capture on the host end, and UDP sockets on the host (the relay).
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from '../../../helpers/until.ts';
import type { VethPair } from './netns.ts';

const here = dirname(fileURLToPath(import.meta.url));
const PYTHON = process.env.DRIAD_PYTHON ?? '/usr/bin/python3';

export interface Endpoint {
  address: string;
  port: number;
}

function lineReader(child: ChildProcess, onLine: (line: string) => void): void {
  let partial = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    partial += chunk;
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      onLine(partial.slice(0, nl));
      partial = partial.slice(nl + 1);
    }
  });
}

export interface NsPeer {
  send(from: Endpoint, to: Endpoint, bytes: Buffer): Promise<void>;
  bind(from: Endpoint): Promise<void>;
  received(): Promise<{ local: string; from: string; hex: string }[]>;
  close(): Promise<void>;
}

/** The gateways' side: a Node process inside the namespace sending and receiving UDP. */
export function startNsPeer(pair: VethPair): NsPeer {
  const child = spawn('ip', ['netns', 'exec', pair.ns, process.execPath, join(here, 'ns-peer.ts')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const waiting = new Map<number, (answer: any) => void>();
  let nextId = 1;
  lineReader(child, (line) => {
    const answer = JSON.parse(line);
    waiting.get(answer.id)?.(answer);
    waiting.delete(answer.id);
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const call = (cmd: object) =>
    new Promise<any>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => reject(new Error(`namespace peer did not answer; stderr: ${stderr}`)), 10_000);
      waiting.set(id, (answer) => {
        clearTimeout(timer);
        if (answer.error) reject(new Error(answer.error));
        else resolve(answer);
      });
      child.stdin!.write(`${JSON.stringify({ id, ...cmd })}\n`);
    });
  return {
    send: async (from, to, bytes) => void (await call({ op: 'send', from, to, hex: bytes.toString('hex') })),
    bind: async (from) => void (await call({ op: 'bind', from })),
    received: async () => (await call({ op: 'received' })).datagrams,
    close: async () => {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Sends whole Ethernet frames out of the namespace end, as they are. */
export async function sendRawFrames(pair: VethPair, frames: Buffer[]): Promise<void> {
  const child = spawn('ip', ['netns', 'exec', pair.ns, PYTHON, join(here, 'raw_frames.py'), 'send', pair.nsIf], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  child.stdin!.end(frames.map((f) => f.toString('hex')).join('\n') + '\n');
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0 || out.trim() !== `sent ${frames.length}`) throw new Error(`raw send failed (${code}): ${err}${out}`);
}

export interface Capture {
  frames: string[];
  /** Waits until every frame given was captured (hex, exact bytes). */
  sawAll(frames: Buffer[], ms?: number): Promise<boolean>;
  stop(): Promise<void>;
}

/** A packet socket on the host end: it sees every frame XDP passed on, tagged or not. */
export async function startCapture(ifname: string): Promise<Capture> {
  const child = spawn(PYTHON, [join(here, 'raw_frames.py'), 'capture', ifname], { stdio: ['pipe', 'pipe', 'pipe'] });
  const frames: string[] = [];
  let ready = false;
  lineReader(child, (line) => {
    if (line === 'ready') ready = true;
    else frames.push(line);
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  if (!(await until(async () => ready, 10_000))) throw new Error('capture did not start');
  return {
    frames,
    sawAll: (want, ms = 5000) => until(async () => want.every((f) => frames.includes(f.toString('hex'))), ms),
    stop: async () => {
      child.stdin!.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface HostSocket {
  endpoint: Endpoint;
  socket: Socket;
  received: { from: string; hex: string }[];
  close(): void;
}

/** A UDP socket on the host end (the relay's side), recording what reaches it. */
export async function hostSocket(address: string, port: number): Promise<HostSocket> {
  const socket = createSocket({ type: isIPv6(address) ? 'udp6' : 'udp4' });
  const received: { from: string; hex: string }[] = [];
  socket.on('message', (msg, rinfo) => received.push({ from: `${rinfo.address}:${rinfo.port}`, hex: msg.toString('hex') }));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => resolve());
  });
  return { endpoint: { address, port: socket.address().port }, socket, received, close: () => socket.close() };
}

export function sendFromHost(host: HostSocket, to: Endpoint, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => host.socket.send(bytes, to.port, to.address, (err) => (err ? reject(err) : resolve())));
}
