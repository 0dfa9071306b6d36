import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { DnsEngine, Peer } from '../engine.ts';
import type { Metrics } from '../../telemetry/metrics.ts';
import type { UdpListener } from './udp.ts';

/** The native addon in native/udp-batch: recvmmsg/sendmmsg with one JavaScript call per batch. */
interface BatchAddon {
  ADDR_SIZE: number;
  open(
    host: string,
    port: number,
    ipv6: boolean,
    slots: number,
    slotSize: number,
    inSlab: Buffer,
    inLens: Uint32Array,
    addrSlab: Buffer,
    outSlab: Buffer,
    outLens: Uint32Array,
    onBatch: (count: number) => void,
  ): { port: number; close(): void };
}

const ADDON_PATH = new URL('../../../native/udp-batch/build/udp_batch.node', import.meta.url).pathname;
const SLOTS = 64;
/** Largest UDP query we read and largest answer we write; dns.udpPayloadSize is capped at 4096. */
const SLOT_SIZE = 4096;
/** Queries up to this size get a view of their slot made once and reused (see slotView). */
const REUSED_VIEW_MAX = 512;

type Loaded = { addon: BatchAddon; reason?: undefined } | { addon: null; reason: string };
let loaded: Loaded | undefined;

/** The addon, or null with the reason when it is not built or does not load (then node:dgram serves). */
export function loadBatchAddon(): Loaded {
  loaded ??= load();
  return loaded;
}

function load(): Loaded {
  if (!existsSync(ADDON_PATH)) return { addon: null, reason: `${ADDON_PATH} is not built (npm run build:native)` };
  try {
    return { addon: createRequire(import.meta.url)(ADDON_PATH) as BatchAddon };
  } catch (err) {
    return { addon: null, reason: `cannot load ${ADDON_PATH}: ${(err as Error).message}` };
  }
}

/** Formats the sender of slot `index` only when asked (logs), from the sockaddr the kernel wrote. */
class SlotPeer implements Peer {
  index = 0;
  readonly #addrs: Buffer;
  readonly #addrSize: number;
  constructor(addrs: Buffer, addrSize: number) {
    this.#addrs = addrs;
    this.#addrSize = addrSize;
  }
  get address(): string {
    const at = this.index * this.#addrSize;
    const family = this.#addrs.readUInt16LE(at);
    if (family === 2) return [...this.#addrs.subarray(at + 4, at + 8)].join('.');
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(this.#addrs.readUInt16BE(at + 8 + 2 * i).toString(16));
    return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
  }
}

export function listenUdpBatched(addon: BatchAddon, engine: DnsEngine, host: string, port: number, metrics: Metrics): UdpListener {
  const inSlab = Buffer.alloc(SLOTS * SLOT_SIZE);
  const outSlab = Buffer.alloc(SLOTS * SLOT_SIZE);
  const addrs = Buffer.alloc(SLOTS * addon.ADDR_SIZE);
  const inLens = new Uint32Array(SLOTS);
  const outLens = new Uint32Array(SLOTS);
  const peer = new SlotPeer(addrs, addon.ADDR_SIZE);
  // Their ratio is the mean batch size: how much each crossing into JavaScript and each system call carries.
  const batches = metrics.counter('driad_dns_udp_batches_total', 'recvmmsg calls that returned datagrams (batched UDP path)');
  const datagrams = metrics.counter('driad_dns_udp_batch_datagrams_total', 'Datagrams received by those recvmmsg calls');

  // A new Buffer per datagram was ~4% of the JavaScript time per query (bench/dns-qps/README.md);
  // a query's bytes are read only while it is answered, so one view per slot and length serves
  // them all, and lengths repeat (names are alike).
  const views = Array.from({ length: SLOTS }, () => new Array<Buffer | undefined>(REUSED_VIEW_MAX + 1).fill(undefined));
  const slotView = (slot: number, length: number): Buffer => {
    const start = slot * SLOT_SIZE;
    if (length > REUSED_VIEW_MAX) return inSlab.subarray(start, start + length);
    const row = views[slot] as Array<Buffer | undefined>;
    return (row[length] ??= inSlab.subarray(start, start + length));
  };

  const onBatch = (count: number): void => {
    batches.inc();
    datagrams.inc(count);
    for (let i = 0; i < count; i++) {
      peer.index = i;
      const length = inLens[i] as number;
      if (length === 0) {
        engine.drop('udp', `datagram larger than ${SLOT_SIZE} bytes`, peer);
        continue;
      }
      outLens[i] = engine.handleInto(slotView(i, length), 'udp', peer, outSlab, i * SLOT_SIZE);
    }
  };
  const socket = addon.open(host, port, host.includes(':'), SLOTS, SLOT_SIZE, inSlab, inLens, addrs, outSlab, outLens, onBatch);
  return {
    address: host,
    port: socket.port,
    close: async () => socket.close(),
  };
}
