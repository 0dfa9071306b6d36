// The shipped zone files must load in BIND, and BIND must read them (and the feature
// fixture) to exactly the wire data driad's loader produces.

import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { encodeRdata, typeCode } from '../../src/dns/packet.ts';
import { parseMasterFile } from '../../src/zones/masterfile.ts';
import { compileFileToWire, hasBinary, NAMED_CHECKZONE, NAMED_COMPILEZONE, type RawRecord } from '../dns/bind.ts';

const SHIPPED = readdirSync('zones')
  .filter((name) => name.endsWith('.zone'))
  .map((name) => ({ origin: name.replace(/\.zone$/, ''), file: join('zones', name) }));

test('zones/ ships the two DRIAD reverse zones', (t) => {
  t.deepEqual(SHIPPED.map((z) => z.origin).sort(), ['amt.in-addr.arpa', 'amt.ip6.arpa']);
});

const hasCheckzone = hasBinary(NAMED_CHECKZONE);
const hasCompilezone = hasBinary(NAMED_COMPILEZONE);
const missing = (binary: string) => ` (skipped: ${binary} not installed; apt-get install bind9-utils)`;

for (const { origin, file } of SHIPPED) {
  (hasCheckzone ? test : test.skip)(`named-checkzone accepts ${file}${hasCheckzone ? '' : missing(NAMED_CHECKZONE)}`, (t) => {
    const run = spawnSync(NAMED_CHECKZONE, [origin, file], { encoding: 'utf8' });
    t.is(run.status, 0, run.stdout + run.stderr);
    t.regex(run.stdout, /^OK$/m);
    t.notRegex(run.stdout + run.stderr, /warning|ignored|error/i);
  });
}

const CROSS_CHECKED = [
  ...SHIPPED,
  { origin: 'example.net', file: 'test/zones/fixtures/features/features.zone' },
];

for (const { origin, file } of CROSS_CHECKED) {
  (hasCompilezone ? test : test.skip)(
    `BIND and driad read ${file} to the same owners, TTLs and rdata${hasCompilezone ? '' : missing(NAMED_COMPILEZONE)}`,
    (t) => {
      // BIND resolves $INCLUDE from its working directory, driad from the including file;
      // the features fixture keeps all its files in one directory, where both agree.
      const fromBind = summarize(compileFileToWire(origin, basename(file), resolve(file, '..')));
      const fromDriad = new Map<string, { ttl: number; rdata: string[] }>();
      for (const record of parseMasterFile(file)) {
        const key = `${record.name} ${typeCode(record.type)}`;
        const rrset = fromDriad.get(key) ?? { ttl: record.ttl, rdata: [] };
        rrset.rdata.push(encodeRdata(record.type, record.data).toString('hex'));
        fromDriad.set(key, rrset);
      }
      for (const rrset of fromDriad.values()) rrset.rdata.sort();
      t.deepEqual(sorted(fromDriad), sorted(fromBind));
    },
  );
}

function summarize(records: RawRecord[]): Map<string, { ttl: number; rdata: string[] }> {
  const byKey = new Map<string, { ttl: number; rdata: string[] }>();
  for (const r of records) {
    byKey.set(`${r.owner.toLowerCase()} ${r.type}`, { ttl: r.ttl, rdata: r.rdata.map((d) => d.toString('hex')).sort() });
  }
  return byKey;
}

function sorted<T>(map: Map<string, T>): Array<[string, T]> {
  return [...map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
