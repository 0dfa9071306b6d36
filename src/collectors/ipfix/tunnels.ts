/**
 * AMT tunnels from flow records: a flow from a relay's AMT port (2268) to a gateway's address and
 * port is the data of one tunnel. Octets and packets (multiplied by the sampling rate) add up per
 * tunnel within an interval; `flush()` hands over the interval's tunnels and starts the next.
 */
import { formatAddressWords, type FlowColumns } from '../../ipfix/flow-columns.ts';

export const AMT_PORT = 2268;

export interface TunnelTotals {
  relay: string;
  relayAddress: string;
  gateway: string;
  gatewayPort: number;
  group: string | null;
  /** Sampling applied. */
  bytes: number;
  packets: number;
  /** The largest rate among the records added (they normally all share one). */
  samplingRate: number;
  flows: number;
}

/**
 * Open addressing over typed arrays, keyed by numbers: the relay's index (`relayId`), the
 * gateway's address as its family and four 32-bit words, and its port, all read straight from
 * the decoder's flow columns (src/ipfix/flow-columns.ts). No string is built, hashed or kept per
 * record or per tunnel until `flush()` formats each tunnel's addresses once: at 500,000 tunnels a
 * Map keyed by `relay|gateway|port` strings cost about 2 us per record, and the gateway strings
 * of a string-keyed table were 500,000 old-generation objects for the collector to mark
 * (bench/ipfix/README.md has the steps and figures).
 */
export class TunnelTable {
  #count = 0;
  readonly #relayNames: string[] = [];
  readonly #relayIds = new Map<string, number>();
  /**
   * One 64-octet entry per tunnel, so that finding and updating it touches one cache line:
   * as int32 [relay, gateway family, port, gateway words 0-3, hash], then as float64 at
   * [4..7] bytes, packets, rate, flows.
   */
  #entries = new ArrayBuffer(512 * ENTRY);
  #ints = new Int32Array(this.#entries);
  #floats = new Float64Array(this.#entries);
  /** The relay (flow source) address of each tunnel, needed only at flush(): family, then four words. */
  #sourceFamilies = new Uint8Array(512);
  #sources = new Uint32Array(4 * 512);
  /** Per slot: [the tunnel's index + 1 (0: empty), its key's hash] to skip most compares. */
  #slots = new Int32Array(2 * 1024);
  readonly #maxTunnels: number;
  /** Flows not counted because the table was full. */
  overflow = 0;
  /** addRows(): the rows' hashes, and a sum of what it read ahead (kept so that the reads stay). */
  #hashes = new Int32Array(64);
  #touched = 0;

  constructor(maxTunnels = 2_000_000) {
    this.#maxTunnels = maxTunnels;
  }

  get size(): number {
    return this.#count;
  }

  /** The number that stands for a relay name in add() (names are few and kept). */
  relayId(name: string): number {
    let id = this.#relayIds.get(name);
    if (id === undefined) {
      id = this.#relayNames.length;
      this.#relayNames.push(name);
      this.#relayIds.set(name, id);
    }
    return id;
  }

  /**
   * Adds flow record i of `cols` (an AMT data flow: from the relay, `src`, to the gateway, `dst`
   * and `dstPort`) to its tunnel; octets and packets are multiplied by `rate`, absent ones are 0.
   * The tunnel keeps the relay address of its first record.
   */
  add(relay: number, cols: FlowColumns, i: number, rate: number): void {
    this.#add(relay, cols, i, rate, keyHash(relay, cols, i));
  }

  /**
   * add() for rows[0 .. n-1] of `cols`, in that order, with the same result. The slots and then
   * the entries of all of them are read first: independent loads, whose cache misses the CPU
   * overlaps, where one add() after another waits for each miss in turn (at 500,000 tunnels the
   * table is far larger than the caches).
   */
  addRows(relay: number, cols: FlowColumns, rows: Int32Array, n: number, rate: number): void {
    if (this.#hashes.length < n) this.#hashes = new Int32Array(Math.max(n, 2 * this.#hashes.length));
    const hashes = this.#hashes;
    const slots = this.#slots;
    const mask = (slots.length >> 1) - 1;
    let touched = 0;
    for (let k = 0; k < n; k++) {
      const h = keyHash(relay, cols, rows[k]);
      hashes[k] = h;
      touched += slots[2 * (h & mask)];
    }
    const e = this.#ints;
    for (let k = 0; k < n; k++) {
      const index = slots[2 * (hashes[k] & mask)];
      if (index !== 0) touched += e[(index - 1) * INTS + 2];
    }
    this.#touched = touched;
    for (let k = 0; k < n; k++) this.#add(relay, cols, rows[k], rate, hashes[k]);
  }

  #add(relay: number, cols: FlowColumns, i: number, rate: number, h: number): void {
    const family = cols.dstFamily[i];
    const d = cols.dst;
    const a = 4 * i;
    // Words as int32, as the entry stores them.
    const w0 = d[a] | 0, w1 = d[a + 1] | 0, w2 = d[a + 2] | 0, w3 = d[a + 3] | 0;
    const port = cols.dstPort[i];
    const slots = this.#slots;
    const mask = (slots.length >> 1) - 1;
    const e = this.#ints;
    let slot = h & mask;
    let t = -1;
    for (;;) {
      const index = slots[2 * slot];
      if (index === 0) break;
      if (slots[2 * slot + 1] === h) {
        const b = (index - 1) * INTS;
        if (e[b + 3] === w0 && e[b + 4] === w1 && e[b + 5] === w2 && e[b + 6] === w3 && e[b + 2] === port && e[b + 1] === family && e[b] === relay) {
          t = index - 1;
          break;
        }
      }
      slot = (slot + 1) & mask;
    }
    if (t < 0) {
      if (this.#count >= this.#maxTunnels) {
        this.overflow++;
        return;
      }
      t = this.#count++;
      if (t * ENTRY >= this.#entries.byteLength) this.#growEntries();
      const ints = this.#ints;
      const b = t * INTS;
      ints[b] = relay;
      ints[b + 1] = family;
      ints[b + 2] = port;
      ints[b + 3] = w0;
      ints[b + 4] = w1;
      ints[b + 5] = w2;
      ints[b + 6] = w3;
      ints[b + 7] = h;
      const floats = this.#floats;
      const c = t * FLOATS;
      floats[c + 4] = 0;
      floats[c + 5] = 0;
      floats[c + 6] = rate;
      floats[c + 7] = 0;
      this.#sourceFamilies[t] = cols.srcFamily[i];
      for (let w = 0; w < 4; w++) this.#sources[4 * t + w] = cols.src[a + w];
      slots[2 * slot] = t + 1;
      slots[2 * slot + 1] = h;
      if (this.#count * 2 > slots.length >> 1) this.#growSlots();
    }
    const floats = this.#floats;
    const c = t * FLOATS;
    const octets = cols.octets[i];
    const packets = cols.packets[i];
    floats[c + 4] += (octets === octets ? octets : 0) * rate;
    floats[c + 5] += (packets === packets ? packets : 0) * rate;
    if (rate > floats[c + 6]) floats[c + 6] = rate;
    floats[c + 7]++;
  }

  /** The interval's tunnels; the table starts empty for the next (at the size it had). */
  flush(): TunnelTotals[] {
    const all: TunnelTotals[] = [];
    const ints = this.#ints;
    const floats = this.#floats;
    const words = new Uint32Array(4);
    for (let i = 0; i < this.#count; i++) {
      const b = i * INTS;
      const c = i * FLOATS;
      for (let w = 0; w < 4; w++) words[w] = ints[b + 3 + w];
      all.push({
        relay: this.#relayNames[ints[b]],
        relayAddress: formatAddressWords(this.#sourceFamilies[i], this.#sources, 4 * i) ?? '',
        gateway: formatAddressWords(ints[b + 1], words, 0) ?? '',
        gatewayPort: ints[b + 2],
        group: null,
        bytes: floats[c + 4],
        packets: floats[c + 5],
        samplingRate: floats[c + 6],
        flows: floats[c + 7],
      });
    }
    this.#count = 0;
    this.#slots.fill(0);
    return all;
  }

  #growEntries(): void {
    const tunnels = (this.#entries.byteLength / ENTRY) * 2;
    const entries = new ArrayBuffer(tunnels * ENTRY);
    new Uint8Array(entries).set(new Uint8Array(this.#entries));
    this.#entries = entries;
    this.#ints = new Int32Array(entries);
    this.#floats = new Float64Array(entries);
    const families = new Uint8Array(tunnels);
    families.set(this.#sourceFamilies);
    this.#sourceFamilies = families;
    const sources = new Uint32Array(4 * tunnels);
    sources.set(this.#sources);
    this.#sources = sources;
  }

  #growSlots(): void {
    const size = this.#slots.length;
    const mask = size - 1;
    const slots = new Int32Array(2 * size);
    const ints = this.#ints;
    for (let i = 0; i < this.#count; i++) {
      const h = ints[i * INTS + 7];
      let slot = h & mask;
      while (slots[2 * slot] !== 0) slot = (slot + 1) & mask;
      slots[2 * slot] = i + 1;
      slots[2 * slot + 1] = h;
    }
    this.#slots = slots;
  }
}

/** A multiply-xorshift mix of the key of row i: relay, gateway family and words, gateway port. */
function keyHash(relay: number, cols: FlowColumns, i: number): number {
  const d = cols.dst;
  const a = 4 * i;
  let h = Math.imul(relay ^ 0x9e3779b9, 0x85ebca6b) ^ cols.dstFamily[i];
  h = Math.imul(h ^ (d[a] | 0), 0x01000193);
  h = Math.imul(h ^ (d[a + 1] | 0), 0x01000193);
  h = Math.imul(h ^ (d[a + 2] | 0), 0x01000193);
  h = Math.imul(h ^ (d[a + 3] | 0), 0x01000193);
  h = Math.imul(h ^ cols.dstPort[i], 0x01000193);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 13);
}

/** Octets per tunnel entry, and the entry's length in int32 and float64 units. */
const ENTRY = 64;
const INTS = ENTRY / 4;
const FLOATS = ENTRY / 8;
