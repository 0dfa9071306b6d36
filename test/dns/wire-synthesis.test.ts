// The wire-label fast path for DRIAD names (src/dns/wire-synthesis.ts) against the general lookup:
// every message below is answered both ways by the same engine, and the responses must be the same
// bytes. The names cover what the fast path takes and everything it must leave to the lookup.
import test from 'ava';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { defaultConfig } from '../../src/config/defaults.ts';
import type { Config } from '../../src/config/types.ts';
import { Catalog, serveZone } from '../../src/dns/catalog.ts';
import { DnsEngine } from '../../src/dns/engine.ts';
import { useWireSynthesis, wireSynthesized } from '../../src/dns/wire-synthesis.ts';
import { startDecisions } from '../../src/driad/decisions.ts';
import { driadName } from '../../src/driad/names.ts';
import { compilePolicy } from '../../src/driad/selection.ts';
import { driadSynthesizer, type DecisionHolder } from '../../src/driad/synthesizer.ts';
import { HealthStore } from '../../src/health/store.ts';
import { RelayInventory } from '../../src/inventory/inventory.ts';
import { BadInputReporter } from '../../src/telemetry/bad-input.ts';
import type { Logger } from '../../src/telemetry/log.ts';
import { Metrics } from '../../src/telemetry/metrics.ts';
import { loadZoneDirectory } from '../../src/zones/zone.ts';

const SHIPPED = fileURLToPath(new URL('../../zones', import.meta.url));
const SEMANTICS = fileURLToPath(new URL('./fixtures/semantics', import.meta.url));
const silent = { info() {}, warn() {}, error() {}, debug() {}, child: () => silent } as unknown as Logger;

function engineFor(zones: string, policy: (relays: string[]) => Config['policy']): DnsEngine {
  const config = defaultConfig();
  const metrics = new Metrics();
  const badInput = new BadInputReporter(silent, metrics, 60_000);
  const inventory = new RelayInventory(config, { log: silent, metrics, badInput });
  config.policy = policy(inventory.relays().map((r) => r.name));
  const health = new HealthStore(inventory.relays(), { ...config.health });
  const holder = {} as DecisionHolder;
  const compiled = compilePolicy(config.policy, config.driad);
  const catalog = new Catalog(loadZoneDirectory(zones).map((z) => serveZone(z, driadSynthesizer(z.origin, holder))));
  startDecisions({ holder, health, relays: () => inventory.relays(), policy: () => compiled, metrics, log: silent });
  return new DnsEngine({ catalog, udpPayloadSize: 1232, queryLog: false }, silent, metrics, badInput);
}

/** A query from raw label bytes, so names dns-packet cannot write (escapes, odd bytes, any case) are covered. */
function query(labels: Array<string | number[]>, qtype: number, ecs: number[] | null = null): Buffer {
  const parts = [Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, ecs ? 1 : 0])];
  for (const label of labels) {
    const bytes = typeof label === 'string' ? Buffer.from(label, 'latin1') : Buffer.from(label);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0, qtype >> 8, qtype & 0xff, 0, 1]));
  if (ecs) {
    // OPT with EDNS Client Subnet (RFC 7871): family 1, source prefix 24, scope 0, the address bytes.
    const option = Buffer.from([0, 8, 0, 4 + 3, 0, 1, 24, 0, ...ecs.slice(0, 3)]);
    parts.push(Buffer.from([0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, option.length]), option);
  }
  return Buffer.concat(parts);
}

const split = (name: string): string[] => name.split('.');
const A = 1, AAAA = 28, TXT = 16, NS = 2, SOA = 6, DS = 43, ANY = 255, CNAME = 5, AMTRELAY = 260;
const TYPES = [A, AAAA, AMTRELAY, TXT, NS, SOA, DS, ANY, CNAME];

const fixed: Array<Array<string | number[]>> = [
  split('10.95.25.69.amt.in-addr.arpa'),
  split('10.95.25.69.AMT.In-Addr.ARPA'),
  split('0.0.0.0.amt.in-addr.arpa'),
  split('255.255.255.255.amt.in-addr.arpa'),
  split('10.100.51.198.amt.in-addr.arpa'), // a static override in the shipped zone
  split('11.100.51.198.amt.in-addr.arpa'), // the same length as it
  split('95.25.69.amt.in-addr.arpa'),
  split('69.amt.in-addr.arpa'),
  split('amt.in-addr.arpa'),
  split('256.1.1.1.amt.in-addr.arpa'),
  split('01.1.1.1.amt.in-addr.arpa'),
  split('1.1.1.1.1.amt.in-addr.arpa'),
  split('x.10.95.25.69.amt.in-addr.arpa'),
  split('1a.1.1.1.amt.in-addr.arpa'),
  [[0x31, 0x2e, 0x32], '3', '4', '5', 'amt', 'in-addr', 'arpa'], // "1.2" inside one label
  [[0x10], '1', '1', '1', 'amt', 'in-addr', 'arpa'], // a byte that is not a digit, though 0x10 | 0x20 is '0'
  [[0x31, 0x00], '1', '1', '1', 'amt', 'in-addr', 'arpa'],
  split('1.26.69.amt.in-addr.arpa'), // below the cut in the semantics fixture
  split(driadName('2001:db8::1', 'amt.ip6.arpa')),
  split(driadName('2001:db8::1', 'amt.ip6.arpa').toUpperCase()),
  split(driadName('2001:db8::1', 'amt.ip6.arpa')).slice(1),
  ['0', ...split(driadName('2001:db8::1', 'amt.ip6.arpa'))],
  split(driadName('2001:db8::1', 'amt.ip6.arpa').replace(/^1/, 'g')),
  split(driadName('2001:db8::1', 'amt.ip6.arpa').replace(/^1/, '10')),
  split('amt.ip6.arpa'),
  split('alias.example'),
  split('nope.example'),
  split('example'),
  split('a.b.c'),
  split('in-addr.arpa'),
];

function compareBothWays(t: import('ava').ExecutionContext, engine: DnsEngine, msg: Buffer, what: string): void {
  const peer = { address: '127.0.0.1' };
  useWireSynthesis(true);
  const fast = engine.handle(msg, 'udp', peer);
  useWireSynthesis(false);
  const general = engine.handle(msg, 'udp', peer);
  useWireSynthesis(true);
  t.deepEqual(fast, general, what);
}

const setups: Array<{ title: string; zones: string; policy: (relays: string[]) => Config['policy'] }> = [
  { title: 'shipped zones, default policy', zones: SHIPPED, policy: () => defaultConfig().policy },
  { title: 'shipped zones, per-source and per-client rules', zones: SHIPPED, policy: (r) => ({ ...defaultConfig().policy, sources: [{ prefix: '69.25.0.0/16', relays: [r[0]!] }, { prefix: '2001:db8::/32', relays: [r[r.length - 1]!] }], clients: [{ prefix: '127.0.0.0/8', prefer: [r[r.length - 1]!] }, { prefix: '198.51.100.0/24', prefer: [r[0]!] }] }) },
  { title: 'semantics fixtures (a cut, a wildcard, CNAMEs into DRIAD names)', zones: SEMANTICS, policy: () => defaultConfig().policy },
];

for (const setup of setups) {
  test(`wire-label synthesis answers exactly as the general lookup: ${setup.title}`, (t) => {
    const engine = engineFor(setup.zones, setup.policy);
    const before = wireSynthesized();
    for (const labels of fixed) {
      for (const qtype of TYPES) {
        compareBothWays(t, engine, query(labels, qtype), `${labels.join('.')} type ${qtype}`);
        compareBothWays(t, engine, query(labels, qtype, [198, 51, 100]), `${labels.join('.')} type ${qtype} with ECS`);
      }
    }
    const label = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('0', '00', '01', 'a', 'B', 'f', 'F', 'x', '-1'));
    fc.assert(
      fc.property(fc.array(label, { minLength: 0, maxLength: 6 }), fc.constantFrom('amt.in-addr.arpa', 'AMT.in-addr.arpa', 'amt.ip6.arpa', 'in-addr.arpa'), fc.constantFrom(...TYPES), (labels, root, qtype) => {
        const msg = query([...labels, ...split(root)], qtype);
        compareBothWays(t, engine, msg, `${labels.join('.')}.${root} type ${qtype}`);
      }),
      { numRuns: 400 },
    );
    if (setup.zones === SHIPPED) t.true(wireSynthesized() > before + 50, 'the fast path answered the DRIAD names');
  });
}
