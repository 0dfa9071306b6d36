// The ipfix and accounting sections: defaults, relative directories, and errors naming the key.

import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';

function yamlFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'driad-cfg-'));
  const file = join(dir, 'driad.yaml');
  writeFileSync(file, text);
  return file;
}

test('defaults: both off; the spool fsyncs every record; the interval matches Junos\'s active timeout', (t) => {
  const c = loadConfig({}, {});
  t.like(c.ipfix, { enabled: false, listen: '127.0.0.1', tcp: true, intervalMs: 60_000, usageRecords: true });
  t.like(c.accounting, { enabled: false, fsync: 'always', segmentBytes: 16 << 20 });
  t.is(c.amtRelay.ipfixPort, 4739);
  t.is(loadConfig({}, { IPFIX_PORT: '4740' }).amtRelay.ipfixPort, 4740);
});

test('accounting directories in a config file are relative to it', (t) => {
  const file = yamlFile('accounting:\n  enabled: true\n  directory: spool\n  cdni:\n    directory: out/cdni\n');
  const c = loadConfig({ config: file }, {});
  t.is(c.accounting.directory, join(file, '..', 'spool'));
  t.is(c.accounting.cdni.directory, join(file, '..', 'out', 'cdni'));
});

const bad: Array<[string, string]> = [
  ['ipfix:\n  listen: 0.0.0.0:4739\n', 'config error: ipfix.listen: must be an IP address to bind, the port is amtRelay.ipfixPort (got "0.0.0.0:4739")'],
  ['ipfix:\n  intervalMs: 5\n', 'config error: ipfix.intervalMs: must be an integer from 100 to 3600000 (got 5)'],
  ['ipfix:\n  exporters:\n    - { address: mx.example, relay: mx }\n', 'config error: ipfix.exporters[0].address: must be an IP address (got "mx.example")'],
  ['ipfix:\n  exporters:\n    - { address: 10.0.0.1 }\n', 'config error: ipfix.exporters[0].relay: must be a non-empty string (got undefined)'],
  ['ipfix:\n  exportres: []\n', 'config error: ipfix.exportres: unknown key'],
  ['amtRelay:\n  ipfixPort: 70000\n', 'config error: amtRelay.ipfixPort: must be an integer from 0 to 65535 (got 70000)'],
  ['accounting:\n  fsync: sometimes\n', 'config error: accounting.fsync: must be one of always, interval (got "sometimes")'],
  ['accounting:\n  segmentBytes: 100\n', 'config error: accounting.segmentBytes: must be an integer from 4096 to 1073741824 (got 100)'],
  ['accounting:\n  maxBytes: 8192\n', 'config error: accounting.maxBytes: must be at least accounting.segmentBytes (8192 < 16777216)'],
  ['accounting:\n  cdni:\n    rotateMs: 0\n', 'config error: accounting.cdni.rotateMs: must be an integer from 100 to 86400000 (got 0)'],
  ['accounting:\n  cdni:\n    claimedOrigin: "bad origin"\n', 'config error: accounting.cdni.claimedOrigin: must be a host name (got "bad origin")'],
];

for (const [yaml, message] of bad) {
  test(`rejects with the key named: ${message}`, (t) => {
    t.throws(() => loadConfig({ config: yamlFile(yaml) }, {}), { message });
  });
}
