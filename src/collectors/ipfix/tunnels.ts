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

export class TunnelTable {
  #tunnels = new Map<string, TunnelTotals>();
  readonly #maxTunnels: number;
  /** Flows not counted because the table was full. */
  overflow = 0;

  constructor(maxTunnels = 2_000_000) {
    this.#maxTunnels = maxTunnels;
  }

  get size(): number {
    return this.#tunnels.size;
  }

  add(relay: string, relayAddress: string, gateway: string, gatewayPort: number, octets: number, packets: number, rate: number): void {
    const key = `${relay}|${gateway}|${gatewayPort}`;
    let t = this.#tunnels.get(key);
    if (!t) {
      if (this.#tunnels.size >= this.#maxTunnels) {
        this.overflow++;
        return;
      }
      t = { relay, relayAddress, gateway, gatewayPort, group: null, bytes: 0, packets: 0, samplingRate: rate, flows: 0 };
      this.#tunnels.set(key, t);
    }
    t.bytes += octets * rate;
    t.packets += packets * rate;
    if (rate > t.samplingRate) t.samplingRate = rate;
    t.flows++;
  }

  /** The interval's tunnels; the table starts empty for the next. */
  flush(): TunnelTotals[] {
    const all = [...this.#tunnels.values()];
    this.#tunnels = new Map();
    return all;
  }
}
