/**
 * The collector's UDP socket: the native batched receive of native/udp-batch (recvmmsg into a
 * reused slab, one call into JavaScript per batch of datagrams) when it is built and the listen
 * address is IPv4, else node:dgram (one callback and one new Buffer per datagram). Either way the
 * receive buffer (SO_RCVBUF) is set to `receiveBufferBytes` and what the kernel granted is
 * reported: Linux caps it at net.core.rmem_max, and at a high record rate the buffer is what
 * rides out a pause of the event loop (a garbage collection, other work on the core).
 */
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { loadBatchAddon } from '../../dns/server/udp-batch.ts';
import type { IpfixSource } from '../../ipfix/decoder.ts';

/** The addon's socket, with the receiveBuffer() it has since the IPFIX collector uses it. */
interface BatchSocket {
  port: number;
  close(): void;
  receiveBuffer?: (bytes?: number) => number;
}

export interface ReceiveBufferReport {
  /** ipfix.receiveBufferBytes. */
  requested: number;
  /** The buffer the kernel granted (Linux reports twice this through getsockopt). */
  granted: number;
  /** net.core.rmem_max, the cap for unprivileged SO_RCVBUF; null where it cannot be read. */
  rmemMax: number | null;
  clamped: boolean;
}

export interface UdpReceiver {
  port: number;
  mode: 'recvmmsg' | 'dgram';
  /** Why the batched receive is not used (mode dgram), else null. */
  fallback: string | null;
  receiveBuffer: ReceiveBufferReport;
  close(): Promise<void>;
}

/**
 * Called per datagram. `transient`: `message` is a view of the receive slab, valid only during
 * the call (copy it to keep it); else it is the caller's to keep.
 */
export type OnDatagram = (message: Buffer, source: IpfixSource, transient: boolean) => void;

/** Datagrams per recvmmsg, and room for the largest UDP payload in each (none arrives cut short). */
const SLOTS = 32;
const SLOT_SIZE = 65536;
const AF_INET = 2;
const MAX_SOURCES = 4096;

export function readRmemMax(): number | null {
  try {
    const v = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim());
    return Number.isFinite(v) ? v : null;
  } catch {
    return null;
  }
}

function report(requested: number, reported: number): ReceiveBufferReport {
  const granted = process.platform === 'linux' ? Math.floor(reported / 2) : reported;
  return { requested, granted, rmemMax: readRmemMax(), clamped: granted < requested };
}

export interface ReceiverOptions {
  /** Use the native batched receive where it can be. */
  batched: boolean;
  receiveBufferBytes: number;
  /** Socket errors after the bind (node:dgram). */
  onError: (err: Error) => void;
}

export async function openUdpReceiver(host: string, port: number, options: ReceiverOptions, onDatagram: OnDatagram): Promise<UdpReceiver> {
  let fallback: string | null = null;
  if (!options.batched) fallback = 'ipfix.batchedReceive is false';
  else if (host.includes(':')) fallback = 'the batched receive is IPv4-only here (an IPv6 socket also takes IPv4-mapped exporters through node:dgram)';
  else {
    const loaded = loadBatchAddon();
    if (loaded.addon) return openBatched(loaded.addon as unknown as BatchAddonLike, host, port, options.receiveBufferBytes, onDatagram);
    fallback = loaded.reason;
  }
  return openDgram(host, port, options, onDatagram, fallback);
}

interface BatchAddonLike {
  ADDR_SIZE: number;
  open(host: string, port: number, ipv6: boolean, slots: number, slotSize: number, inSlab: Buffer, inLens: Uint32Array, addrSlab: Buffer, outSlab: Buffer, outLens: Uint32Array, onBatch: (count: number) => void): BatchSocket;
}

function openBatched(addon: BatchAddonLike, host: string, port: number, receiveBufferBytes: number, onDatagram: OnDatagram): UdpReceiver {
  const inSlab = Buffer.alloc(SLOTS * SLOT_SIZE);
  const outSlab = Buffer.alloc(SLOTS * SLOT_SIZE); // required by the addon; nothing is sent back
  const addrs = Buffer.alloc(SLOTS * addon.ADDR_SIZE);
  const inLens = new Uint32Array(SLOTS);
  const outLens = new Uint32Array(SLOTS);
  // One view per slot, remade only when the length changes (J-Flow datagrams are mostly alike).
  const views: Array<Buffer | null> = new Array<Buffer | null>(SLOTS).fill(null);
  // One source object per exporter address and port, so that none is made per datagram.
  const sources = new Map<number, IpfixSource>();
  const sourceOf = (slot: number): IpfixSource => {
    const at = slot * addon.ADDR_SIZE;
    const p = addrs.readUInt16BE(at + 2);
    if (addrs.readUInt16LE(at) !== AF_INET) return { address: '?', port: p };
    const a = addrs.readUInt32BE(at + 4);
    const key = a * 65536 + p;
    let s = sources.get(key);
    if (!s) {
      if (sources.size >= MAX_SOURCES) sources.clear();
      s = { address: `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`, port: p };
      sources.set(key, s);
    }
    return s;
  };
  const onBatch = (count: number): void => {
    for (let i = 0; i < count; i++) {
      const length = inLens[i] as number;
      let view = views[i] as Buffer | null;
      if (view === null || view.length !== length) {
        view = inSlab.subarray(i * SLOT_SIZE, i * SLOT_SIZE + length);
        views[i] = view;
      }
      onDatagram(view, sourceOf(i), true);
    }
  };
  const socket = addon.open(host, port, false, SLOTS, SLOT_SIZE, inSlab, inLens, addrs, outSlab, outLens, onBatch);
  let buffer: ReceiveBufferReport;
  if (socket.receiveBuffer) buffer = report(receiveBufferBytes, socket.receiveBuffer(receiveBufferBytes));
  else buffer = { requested: receiveBufferBytes, granted: 4 << 20, rmemMax: readRmemMax(), clamped: receiveBufferBytes > 4 << 20 };
  return { port: socket.port, mode: 'recvmmsg', fallback: null, receiveBuffer: buffer, close: async () => socket.close() };
}

async function openDgram(host: string, port: number, options: ReceiverOptions, onDatagram: OnDatagram, fallback: string | null): Promise<UdpReceiver> {
  const udp: Socket = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: options.receiveBufferBytes });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, host, () => {
      udp.off('error', reject);
      resolve();
    });
  });
  udp.on('message', (msg, rinfo) => onDatagram(msg, { address: rinfo.address, port: rinfo.port }, false));
  udp.on('error', options.onError);
  return {
    port: udp.address().port,
    mode: 'dgram',
    fallback,
    receiveBuffer: report(options.receiveBufferBytes, udp.getRecvBufferSize()),
    close: () => new Promise<void>((resolve) => udp.close(() => resolve())),
  };
}
