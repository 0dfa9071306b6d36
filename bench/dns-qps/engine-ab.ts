// The engine's JavaScript cost per query, in process (no sockets, no kernel), for one checkout or two
// compared: both engines load into one process and alternate rounds, so the machine's noise hits
// both alike and the paired ratio holds even when absolute times swing.
// Usage: node bench/dns-qps/engine-ab.ts QUERIES.txt ROOT [ROOT_B]   (QUERIES: gen.ts output, queries.txt)
import { readFileSync } from 'node:fs';
const roots = process.argv.slice(3);
async function build(root: string) {
  const imp = (p: string) => import(`${root}/src/${p}`);
  const { defaultConfig } = await imp('config/defaults.ts');
  const { Catalog, serveZone } = await imp('dns/catalog.ts');
  const { DnsEngine } = await imp('dns/engine.ts');
  const { startDecisions } = await imp('driad/decisions.ts');
  const { compilePolicy } = await imp('driad/selection.ts');
  const { driadSynthesizer } = await imp('driad/synthesizer.ts');
  const { HealthStore } = await imp('health/store.ts');
  const { RelayInventory } = await imp('inventory/inventory.ts');
  const { BadInputReporter } = await imp('telemetry/bad-input.ts');
  const { Metrics } = await imp('telemetry/metrics.ts');
  const { loadZoneDirectory } = await imp('zones/zone.ts');
  const config = defaultConfig();
  config.zones.directory = `${root}/zones`;
  const log = { info() {}, warn() {}, error() {}, debug() {}, child() { return log; } } as any;
  const metrics = new Metrics();
  const badInput = new BadInputReporter(log, metrics, 60000);
  const inventory = new RelayInventory(config, { log, metrics, badInput });
  const health = new HealthStore(inventory.relays(), { ...config.health });
  const holder = {} as any;
  const policy = compilePolicy(config.policy, config.driad);
  const catalog = new Catalog(loadZoneDirectory(config.zones.directory).map((z: any) => serveZone(z, driadSynthesizer(z.origin, holder))));
  startDecisions({ holder, health, relays: () => inventory.relays(), policy: () => policy, metrics, log });
  return new DnsEngine({ catalog, udpPayloadSize: 1232, queryLog: false }, log, metrics, badInput);
}
const engines = await Promise.all(roots.map(build));
const lines = readFileSync(process.argv[2]!, 'utf8').trim().split('\n');
function wire(name: string, type: number, id: number): Buffer {
  const parts = [Buffer.from([id >> 8, id & 255, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0])];
  for (const l of name.split('.').filter(Boolean)) parts.push(Buffer.from([l.length]), Buffer.from(l, 'latin1'));
  parts.push(Buffer.from([0, type >> 8, type & 255, 0, 1]));
  return Buffer.concat(parts);
}
const msgs = lines.slice(0, 20000).map((l, i) => { const [n, t] = l.split(' '); return wire(n!, t === 'A' ? 1 : 260, i & 0xffff); });
const out = Buffer.alloc(65536);
const peer = { address: '127.0.0.1', port: 5353 };
const results: number[][] = engines.map(() => []);
for (let r = 0; r < 41; r++) {
  for (let e = 0; e < engines.length; e++) {
    const engine = engines[(e + r) % engines.length];
    const t0 = process.cpuUsage();
    for (const m of msgs) engine.handleInto(m, 'udp', peer, out, 0);
    const t = process.cpuUsage(t0);
    if (r > 0) results[(e + r) % engines.length]!.push(((t.user + t.system) * 1000) / msgs.length);
  }
}
// Per-round ratio medians (paired), and each engine's median.
const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
for (let e = 0; e < engines.length; e++) console.log(`${roots[e]}: median ${med(results[e]!).toFixed(0)} ns/query, min ${Math.min(...results[e]!).toFixed(0)}`);
if (engines.length === 2) console.log(`paired ratio (2nd/1st) median: ${med(results[1]!.map((v, i) => v / results[0]![i]!)).toFixed(3)}`);
