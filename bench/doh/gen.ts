// The DoH bench workload: SOURCES distinct IPv4 sources (seeded LCG), each asked as A and as
// AMTRELAY, written as h2load GET URIs (RFC 8484 dns=, ID 0 as browsers send) and as dnsperf lines.
// Usage: node bench/doh/gen.ts --out DIR --sources N --seed S --base https://127.0.0.1:PORT

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { out: { type: 'string' }, sources: { type: 'string', default: '1000' }, seed: { type: 'string', default: '8484' } } });
const out = values.out as string;
let state = Number(values.seed) >>> 0;
const next = (): number => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);

function query(name: string, qtype: number): Buffer {
  const labels = name.split('.').map((l) => Buffer.concat([Buffer.of(l.length), Buffer.from(l)]));
  const header = Buffer.from([0, 0, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  const tail = Buffer.from([0, qtype >> 8, qtype & 0xff, 0, 1]);
  return Buffer.concat([header, ...labels, tail]);
}

const uris: string[] = [];
const dnsperf: string[] = [];
for (let i = 0; i < Number(values.sources); i++) {
  const n = next();
  const octets = [1 + (n >>> 24) % 223, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  const name = `${[...octets].reverse().join('.')}.amt.in-addr.arpa`;
  for (const [type, code] of [['A', 1], ['TYPE260', 260]] as const) {
    uris.push(`/dns-query?dns=${query(name, code).toString('base64url')}`);
    dnsperf.push(`${name}. ${type}`);
  }
}
writeFileSync(join(out, 'paths.txt'), uris.join('\n') + '\n');
writeFileSync(join(out, 'queries.txt'), dnsperf.join('\n') + '\n');
console.log(`${uris.length} queries for ${values.sources} sources`);
