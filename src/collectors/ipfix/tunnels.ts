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
 * string hash and, mostly, one probe (bench/ipfix/README.md has the before and after). Totals
 * live in typed arrays and become objects only at flush(), so the young generation does not copy
 * an object per new tunnel.
 */
export class TunnelTable {
  #count = 0;
  #relays: string[] = [];
  #relayAddresses: string[] = [];
  #gateways: string[] = [];
  #ports = new Int32Array(512);
  #keyHashes = new Int32Array(512);
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

  add(relay: string, relayAddress: string, gateway: string, gatewayPort: number, octets: number, packets: number, rate: number): void {
    const h = keyHash(relay, gateway, gatewayPort);
    const mask = this.#slots.length - 1;
    let slot = h & mask;
    let i = -1;
    for (;;) {
      const index = this.#slots[slot];
      if (index === 0) break;
      if (this.#hashes[slot] === h && this.#ports[index - 1] === gatewayPort && this.#gateways[index - 1] === gateway && this.#relays[index - 1] === relay) {
        i = index - 1;
        break;
      }
      slot = (slot + 1) & mask;
    }
    if (i < 0) {
      if (this.#count >= this.#maxTunnels) {
        this.overflow++;
        return;
      }
      i = this.#count++;
      if (i >= this.#ports.length) this.#growArrays();
      this.#relays.push(relay);
      this.#relayAddresses.push(relayAddress);
      this.#gateways.push(gateway);
      this.#ports[i] = gatewayPort;
      this.#keyHashes[i] = h;
      this.#bytes[i] = 0;
      this.#packets[i] = 0;
      this.#rates[i] = rate;
      this.#flows[i] = 0;
      this.#slots[slot] = i + 1;
      this.#hashes[slot] = h;
      if (this.#count * 2 > this.#slots.length) this.#growSlots();
    }
    this.#bytes[i] += octets * rate;
    this.#packets[i] += packets * rate;
    if (rate > this.#rates[i]) this.#rates[i] = rate;
    this.#flows[i]++;
  }

  /** The interval's tunnels; the table starts empty for the next (at the size it had). */
  flush(): TunnelTotals[] {
    const all: TunnelTotals[] = [];
    for (let i = 0; i < this.#count; i++) {
      all.push({
        relay: this.#relays[i],
        relayAddress: this.#relayAddresses[i],
        gateway: this.#gateways[i],
        gatewayPort: this.#ports[i],
        group: null,
        bytes: this.#bytes[i],
        packets: this.#packets[i],
        samplingRate: this.#rates[i],
        flows: this.#flows[i],
      });
    }
    this.#count = 0;
    this.#relays = [];
    this.#relayAddresses = [];
    this.#gateways = [];
    this.#slots.fill(0);
    return all;
  }

  #growArrays(): void {
    const size = this.#ports.length * 2;
    const grow = <T extends Int32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.#ports = grow(this.#ports, (n) => new Int32Array(n));
    this.#keyHashes = grow(this.#keyHashes, (n) => new Int32Array(n));
    this.#bytes = grow(this.#bytes, (n) => new Float64Array(n));
    this.#packets = grow(this.#packets, (n) => new Float64Array(n));
    this.#rates = grow(this.#rates, (n) => new Float64Array(n));
    this.#flows = grow(this.#flows, (n) => new Float64Array(n));
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
