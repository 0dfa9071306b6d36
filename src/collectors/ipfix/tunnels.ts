/**
 * AMT tunnels from flow records: a flow from a relay's AMT port (2268) to a gateway's address and
 * port is the data of one tunnel. Octets and packets (multiplied by the sampling rate) add up per
 * tunnel within an interval; `flush()` hands over the interval's tunnels and starts the next.
 */
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
 * Open addressing over typed arrays rather than a Map keyed by `relay|gateway|port`: at 500,000
 * tunnels that Map cost about 2 us per record here (a string built and hashed per record, then
 * cache misses through the Map's chains), most of the collector's time; this table costs a
 * string hash and, mostly, one probe (bench/ipfix/README.md has the before and after).
 */
export class TunnelTable {
  #entries: TunnelTotals[] = [];
  /** Per slot: the entry's index + 1 (0: empty), and its key's hash to skip most compares. */
  #slots = new Int32Array(1024);
  #hashes = new Int32Array(1024);
  #entryHashes: number[] = [];
  readonly #maxTunnels: number;
  /** Flows not counted because the table was full. */
  overflow = 0;

  constructor(maxTunnels = 2_000_000) {
    this.#maxTunnels = maxTunnels;
  }

  get size(): number {
    return this.#entries.length;
  }

  add(relay: string, relayAddress: string, gateway: string, gatewayPort: number, octets: number, packets: number, rate: number): void {
    const h = keyHash(relay, gateway, gatewayPort);
    const mask = this.#slots.length - 1;
    let slot = h & mask;
    let t: TunnelTotals | undefined;
    for (;;) {
      const index = this.#slots[slot];
      if (index === 0) break;
      if (this.#hashes[slot] === h) {
        const e = this.#entries[index - 1];
        if (e.gatewayPort === gatewayPort && e.gateway === gateway && e.relay === relay) {
          t = e;
          break;
        }
      }
      slot = (slot + 1) & mask;
    }
    if (!t) {
      if (this.#entries.length >= this.#maxTunnels) {
        this.overflow++;
        return;
      }
      t = { relay, relayAddress, gateway, gatewayPort, group: null, bytes: 0, packets: 0, samplingRate: rate, flows: 0 };
      this.#entries.push(t);
      this.#entryHashes.push(h);
      this.#slots[slot] = this.#entries.length;
      this.#hashes[slot] = h;
      if (this.#entries.length * 2 > this.#slots.length) this.#grow();
    }
    t.bytes += octets * rate;
    t.packets += packets * rate;
    if (rate > t.samplingRate) t.samplingRate = rate;
    t.flows++;
  }

  /** The interval's tunnels; the table starts empty for the next (at the size it had). */
  flush(): TunnelTotals[] {
    const all = this.#entries;
    this.#entries = [];
    this.#entryHashes = [];
    this.#slots.fill(0);
    return all;
  }

  #grow(): void {
    const size = this.#slots.length * 2;
    const mask = size - 1;
    this.#slots = new Int32Array(size);
    this.#hashes = new Int32Array(size);
    this.#entryHashes.forEach((h, i) => {
      let slot = h & mask;
      while (this.#slots[slot] !== 0) slot = (slot + 1) & mask;
      this.#slots[slot] = i + 1;
      this.#hashes[slot] = h;
    });
  }
}

/** FNV-1a over the gateway and relay names and the port, finished with a multiply-xorshift mix. */
function keyHash(relay: string, gateway: string, port: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < gateway.length; i++) h = Math.imul(h ^ gateway.charCodeAt(i), 0x01000193);
  for (let i = 0; i < relay.length; i++) h = Math.imul(h ^ relay.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ port, 0x01000193);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  return h ^ (h >>> 13);
}
