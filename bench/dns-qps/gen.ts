// Generates the dns-qps workload into an output directory:
//   queries.txt            dnsperf input: "<name> A" / "<name> TYPE260" lines, 90% hits, 10% NXDOMAIN names
//   amt.in-addr.arpa.zone  the same data as a static zone for Knot (SOA/NS taken from driad's zone file)
//   samples.txt            names used to check that both servers answer alike before measuring
//   probe.txt              a short prefix of queries.txt, for checking which qtypes dnsperf really sends
//
// Usage: node bench/dns-qps/gen.ts --out DIR [--sources 100000] [--seed 8777] [--driad-zone zones/amt.in-addr.arpa.zone]
//
// Deterministic: the same --sources and --seed give byte-identical files, so runs are comparable.

import { createWriteStream, existsSync, readFileSync, mkdirSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { parseArgs } from 'node:util';

const ORIGIN = 'amt.in-addr.arpa.';

// What driad synthesizes for every valid source with its embedded default config
// (src/config/defaults.ts): the MX's public IP as A, and both relays as AMTRELAY by precedence.
// run.sh checks these against the live server before measuring, so drift is caught there.
const TTL = 300;
const A_ADDRESS = '69.25.95.1';
const AMTRELAYS = [
  { precedence: 10, discoveryOptional: false, relay: '69.25.95.1' },
  { precedence: 20, discoveryOptional: false, relay: '192.0.2.10' },
];
// Sources with a static override in driad's zone: never generated.
const EXCLUDED = new Set(['198.51.100.10']);

// Used when driad's zone file does not exist yet.
const PLACEHOLDER_APEX = [
  '$ORIGIN amt.in-addr.arpa.',
  '@ 3600 IN SOA ns1.example.net. hostmaster.example.net. 1 3600 600 604800 300',
  '@ 3600 IN NS ns1.example.net.',
];

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    sources: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '8777' },
    'driad-zone': { type: 'string', default: 'zones/amt.in-addr.arpa.zone' },
  },
  strict: true,
});
if (!values.out) throw new Error('--out DIR is required');
const outDir = values.out;
const sourceCount = Number(values.sources);
if (!Number.isInteger(sourceCount) || sourceCount < 10 || sourceCount > 10_000_000) {
  throw new Error(`--sources must be an integer in 10..10000000, got ${values.sources}`);
}
mkdirSync(outDir, { recursive: true });

/** Numerical Recipes 32-bit LCG: tiny, seedable, identical on every platform. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state;
  };
}
const rand = lcg(Number(values.seed));
/** Uniform-ish integer in [0, n): the high bits of an LCG are the good ones. */
const below = (n: number): number => Math.floor((rand() / 2 ** 32) * n);

function reversedName(address: string): string {
  return `${address.split('.').reverse().join('.')}.${ORIGIN}`;
}

// --- driad's apex records (SOA, NS and the addresses of in-zone NS targets) --------------------

interface ZoneRecord {
  origin: string;
  owner: string;
  ttl: number;
  type: string;
  rdata: string[];
}

/** A minimal master-file reader: enough for an apex SOA/NS and a few static records. */
function readZone(text: string): ZoneRecord[] {
  const records: ZoneRecord[] = [];
  let origin = ORIGIN;
  let defaultTtl = 3600;
  let lastOwner = origin;
  const qualify = (name: string, org: string): string =>
    name === '@' ? org : name.endsWith('.') ? name.toLowerCase() : `${name}.${org}`.toLowerCase();
  // Join parenthesised continuations, drop comments (no quoted ';' in the zones we read).
  const logical: Array<{ leadingBlank: boolean; tokens: string[] }> = [];
  let pending: { leadingBlank: boolean; tokens: string[] } | null = null;
  let depth = 0;
  for (const raw of text.split('\n')) {
    const line = raw.replace(/;.*$/, '');
    if (pending === null) {
      if (line.trim() === '') continue;
      pending = { leadingBlank: /^\s/.test(line), tokens: [] };
    }
    for (const tok of line.replace(/[()]/g, (p) => ` ${p} `).split(/\s+/)) {
      if (tok === '(') depth++;
      else if (tok === ')') depth--;
      else if (tok !== '') pending.tokens.push(tok);
    }
    if (depth === 0) {
      if (pending.tokens.length > 0) logical.push(pending);
      pending = null;
    }
  }
  for (const { leadingBlank, tokens } of logical) {
    const head = tokens[0] ?? '';
    if (head.toUpperCase() === '$ORIGIN') {
      origin = qualify(tokens[1] ?? '', origin);
      continue;
    }
    if (head.toUpperCase() === '$TTL') {
      defaultTtl = parseTtl(tokens[1] ?? '');
      continue;
    }
    if (head.startsWith('$')) throw new Error(`driad zone: unsupported directive ${head}`);
    let i = 0;
    if (!leadingBlank) lastOwner = qualify(tokens[i++] ?? '', origin);
    let ttl = defaultTtl;
    // Optional TTL and class, in either order.
    for (let k = 0; k < 2; k++) {
      const tok = tokens[i] ?? '';
      if (/^\d+[smhdw]?$/i.test(tok)) {
        ttl = parseTtl(tok);
        i++;
      } else if (/^(IN|CH|HS)$/i.test(tok)) i++;
    }
    const type = (tokens[i++] ?? '').toUpperCase();
    records.push({ origin, owner: lastOwner, ttl, type, rdata: tokens.slice(i) });
  }
  return records;
}

/** "300", "1h", "1w" (single unit; enough for $TTL and record TTLs). */
function parseTtl(text: string): number {
  const m = /^(\d+)([smhdw]?)$/i.exec(text);
  if (!m) throw new Error(`driad zone: bad TTL "${text}"`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Number(m[1]) * unit;
}

function apexLines(): { lines: string[]; owners: Set<string>; from: string } {
  const path = values['driad-zone'];
  if (!path || !existsSync(path)) return { lines: PLACEHOLDER_APEX, owners: new Set(), from: 'placeholder' };
  const records = readZone(readFileSync(path, 'utf8'));
  const soa = records.filter((r) => r.type === 'SOA' && r.owner === ORIGIN);
  if (soa.length !== 1) throw new Error(`${path}: expected one SOA at ${ORIGIN}, found ${soa.length}`);
  const apexNs = records.filter((r) => r.type === 'NS' && r.owner === ORIGIN);
  const nsTargets = new Set(apexNs.map((r) => qualifyRdataName(r.rdata[0] ?? '', r.origin)));
  const glue = records.filter((r) => (r.type === 'A' || r.type === 'AAAA') && nsTargets.has(r.owner));
  const lines: string[] = [];
  for (const r of [...soa, ...apexNs, ...glue]) {
    // Keep rdata as written, under the $ORIGIN it was written with, so relative names resolve alike.
    lines.push(`$ORIGIN ${r.origin}`, `${r.owner} ${r.ttl} IN ${r.type} ${r.rdata.join(' ')}`);
  }
  return { lines, owners: new Set(records.map((r) => r.owner)), from: path };
}

function qualifyRdataName(name: string, origin: string): string {
  return name === '@' ? origin : name.endsWith('.') ? name.toLowerCase() : `${name}.${origin}`.toLowerCase();
}

// --- sources ----------------------------------------------------------------------------------

const apex = apexLines();
const sources: string[] = [];
const seen = new Set<number>();
while (sources.length < sourceCount) {
  // Unicast sources (1.0.0.0 - 223.255.255.255): what an SSM (S,G) source looks like.
  const n = (((1 + below(223)) << 24) | (rand() >>> 8)) >>> 0;
  if (seen.has(n)) continue;
  const address = [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  if (EXCLUDED.has(address) || apex.owners.has(reversedName(address))) continue;
  seen.add(n);
  sources.push(address);
}

// --- NXDOMAIN names: under the tree, but not a reversed IPv4 address or a prefix of one ---------

function octet(): string {
  return String(below(256));
}
function nxName(i: number): string {
  const rest = `${octet()}.${octet()}.${octet()}`;
  switch (i % 5) {
    case 0: // out-of-range octet
      return `${256 + below(744)}.${rest}.${ORIGIN}`;
    case 1: // non-numeric label
      return `x${below(100)}.${rest}.${ORIGIN}`;
    case 2: // five labels: longer than any IPv4 address
      return `${octet()}.${rest}.${octet()}.${ORIGIN}`;
    case 3: // leading zero
      return `0${1 + below(99)}.${rest}.${ORIGIN}`;
    default: // invalid octet in the middle
      return `${octet()}.${octet()}.${1000 + below(9000)}.${octet()}.${ORIGIN}`;
  }
}

// --- queries.txt: every source as A and as AMTRELAY, plus 1/9 as many NXDOMAIN queries, shuffled --

interface Query {
  name: string;
  type: 'A' | 'TYPE260';
}
const queries: Query[] = [];
for (const s of sources) {
  const name = reversedName(s);
  queries.push({ name, type: 'A' }, { name, type: 'TYPE260' });
}
const hitCount = queries.length;
const nxCount = Math.round(hitCount / 9);
const nxSamples: string[] = [];
for (let i = 0; i < nxCount; i++) {
  const name = nxName(i);
  if (i < 5) nxSamples.push(name);
  queries.push({ name, type: i % 2 === 0 ? 'A' : 'TYPE260' });
}
for (let i = queries.length - 1; i > 0; i--) {
  const j = below(i + 1);
  [queries[i], queries[j]] = [queries[j] as Query, queries[i] as Query];
}

async function writeLines(path: string, lines: Iterable<string>): Promise<void> {
  const out = createWriteStream(path);
  for (const line of lines) if (!out.write(`${line}\n`)) await once(out, 'drain');
  out.end();
  await finished(out);
}

// Names are written absolute (trailing dot); dnsperf accepts that.
await writeLines(
  join(outDir, 'queries.txt'),
  queries.map((q) => `${q.name} ${q.type}`),
);
await writeLines(
  join(outDir, 'probe.txt'),
  queries.slice(0, 1000).map((q) => `${q.name} ${q.type}`),
);

// --- Knot's zone ------------------------------------------------------------------------------

function amtrelayGeneric(r: (typeof AMTRELAYS)[number]): string {
  const bytes = [r.precedence, (r.discoveryOptional ? 0x80 : 0) | 1, ...r.relay.split('.').map(Number)];
  return `\\# ${bytes.length} ${bytes.map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}
const relayRdata = AMTRELAYS.map(amtrelayGeneric);

function* zoneLines(): Generator<string> {
  yield `; generated by bench/dns-qps/gen.ts: ${sources.length} sources, seed ${values.seed}, apex from ${apex.from}`;
  yield* apex.lines;
  yield `$ORIGIN ${ORIGIN}`;
  for (const s of sources) {
    const owner = s.split('.').reverse().join('.');
    yield `${owner} ${TTL} IN A ${A_ADDRESS}`;
    for (const rdata of relayRdata) yield `${owner} ${TTL} IN TYPE260 ${rdata}`;
  }
}
await writeLines(join(outDir, 'amt.in-addr.arpa.zone'), zoneLines());

// --- samples.txt: "hit <name>" x3, "nx <name>" x5 (one of each invalid form) ----------------------------------------------

await writeLines(join(outDir, 'samples.txt'), [
  ...[0, Math.floor(sources.length / 2), sources.length - 1].map((i) => `hit ${reversedName(sources[i] as string)}`),
  ...nxSamples.map((n) => `nx ${n}`),
]);

const typeCounts = { A: 0, TYPE260: 0 };
for (const q of queries) typeCounts[q.type]++;
console.log(
  `gen: ${sources.length} sources, ${queries.length} queries (${hitCount} hits, ${nxCount} nxdomain; ` +
    `A ${typeCounts.A}, TYPE260 ${typeCounts.TYPE260}), apex from ${apex.from}`,
);
