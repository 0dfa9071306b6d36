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
  #relays = new Int32Array(512);
  #ports = new Int32Array(512);
  #keyHashes = new Int32Array(512);
  /** Gateway and relay (flow source) address per tunnel: family, then four words. */
  #gatewayFamilies = new Uint8Array(512);
  #gateways = new Uint32Array(4 * 512);
  #sourceFamilies = new Uint8Array(512);
  #sources = new Uint32Array(4 * 512);
  #bytes = new Float64Array(512);
  #packets = new Float64Array(512);
  #rates = new Float64Array(512);
  #flows = new Float64Array(512);
  /** Per slot: the tunnel's index + 1 (0: empty), and its key's hash to skip most compares. */
  #slots = new Int32Array(1024);
  #hashes = new Int32Array(1024);
  readonly #maxTunnels: number;
  /** Flows not counted because the table was full. */
  overflow = 0;

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
    const family = cols.dstFamily[i];
    const d = cols.dst;
    const a = 4 * i;
    const w0 = d[a], w1 = d[a + 1], w2 = d[a + 2], w3 = d[a + 3];
    const port = cols.dstPort[i];
    let h = Math.imul(relay ^ 0x9e3779b9, 0x85ebca6b) ^ family;
    h = Math.imul(h ^ w0, 0x01000193);
    h = Math.imul(h ^ w1, 0x01000193);
    h = Math.imul(h ^ w2, 0x01000193);
    h = Math.imul(h ^ w3, 0x01000193);
    h = Math.imul(h ^ port, 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 13;
    const mask = this.#slots.length - 1;
    let slot = h & mask;
    let t = -1;
    const g = this.#gateways;
    for (;;) {
      const index = this.#slots[slot];
      if (index === 0) break;
      const j = index - 1;
      const b = 4 * j;
      if (this.#hashes[slot] === h && this.#ports[j] === port && g[b] === w0 && g[b + 1] === w1 && g[b + 2] === w2 && g[b + 3] === w3 && this.#gatewayFamilies[j] === family && this.#relays[j] === relay) {
        t = j;
        break;
      }
      slot = (slot + 1) & mask;
    }
    if (t < 0) {
      if (this.#count >= this.#maxTunnels) {
        this.overflow++;
        return;
      }
      t = this.#count++;
      if (t >= this.#ports.length) this.#growArrays();
      this.#relays[t] = relay;
      this.#ports[t] = port;
      this.#keyHashes[t] = h;
      this.#gatewayFamilies[t] = family;
      this.#sourceFamilies[t] = cols.srcFamily[i];
      for (let w = 0; w < 4; w++) {
        this.#gateways[4 * t + w] = d[a + w];
        this.#sources[4 * t + w] = cols.src[a + w];
      }
      this.#bytes[t] = 0;
      this.#packets[t] = 0;
      this.#rates[t] = rate;
      this.#flows[t] = 0;
      this.#slots[slot] = t + 1;
      this.#hashes[slot] = h;
      if (this.#count * 2 > this.#slots.length) this.#growSlots();
    }
    const octets = cols.octets[i];
    const packets = cols.packets[i];
    this.#bytes[t] += (octets === octets ? octets : 0) * rate;
    this.#packets[t] += (packets === packets ? packets : 0) * rate;
    if (rate > this.#rates[t]) this.#rates[t] = rate;
    this.#flows[t]++;
  }

  /** The interval's tunnels; the table starts empty for the next (at the size it had). */
  flush(): TunnelTotals[] {
    const all: TunnelTotals[] = [];
    for (let i = 0; i < this.#count; i++) {
      all.push({
        relay: this.#relayNames[this.#relays[i]],
        relayAddress: formatAddressWords(this.#sourceFamilies[i], this.#sources, 4 * i) ?? '',
        gateway: formatAddressWords(this.#gatewayFamilies[i], this.#gateways, 4 * i) ?? '',
        gatewayPort: this.#ports[i],
        group: null,
        bytes: this.#bytes[i],
        packets: this.#packets[i],
        samplingRate: this.#rates[i],
        flows: this.#flows[i],
      });
    }
    this.#count = 0;
    this.#slots.fill(0);
    return all;
  }

  #growArrays(): void {
    const size = this.#ports.length * 2;
    const grow = <T extends Uint8Array | Uint32Array | Int32Array | Float64Array>(a: T, b: T): T => {
      b.set(a);
      return b;
    };
    this.#relays = grow(this.#relays, new Int32Array(size));
    this.#ports = grow(this.#ports, new Int32Array(size));
    this.#keyHashes = grow(this.#keyHashes, new Int32Array(size));
    this.#gatewayFamilies = grow(this.#gatewayFamilies, new Uint8Array(size));
    this.#gateways = grow(this.#gateways, new Uint32Array(4 * size));
    this.#sourceFamilies = grow(this.#sourceFamilies, new Uint8Array(size));
    this.#sources = grow(this.#sources, new Uint32Array(4 * size));
    this.#bytes = grow(this.#bytes, new Float64Array(size));
    this.#packets = grow(this.#packets, new Float64Array(size));
    this.#rates = grow(this.#rates, new Float64Array(size));
    this.#flows = grow(this.#flows, new Float64Array(size));
  }

  #growSlots(): void {
    const size = this.#slots.length * 2;
    const mask = size - 1;
    this.#slots = new Int32Array(size);
    this.#hashes = new Int32Array(size);
    for (let i = 0; i < this.#count; i++) {
      const h = this.#keyHashes[i];
      let slot = h & mask;
      while (this.#slots[slot] !== 0) slot = (slot + 1) & mask;
      this.#slots[slot] = i + 1;
      this.#hashes[slot] = h;
    }
  }
}
