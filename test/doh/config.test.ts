// The doh and prober config sections: defaults, and every error naming its key.

import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'driad-cfg-')), 'driad.yaml');
  writeFileSync(file, text);
  return file;
}

test('defaults: DoH on 127.0.0.1:8443 with a kept self-signed certificate, any origin, no trusted proxy; no prober', (t) => {
  const c = loadConfig({}, {});
  t.like(c.doh, { enabled: true, listen: '127.0.0.1:8443', http1: true, corsOrigins: ['*'], trustedProxies: [], maxQueryBytes: 4096, stateDir: '.driad-state/doh' });
  t.is(c.prober, null);
  t.is(loadConfig({ dohListen: '127.0.0.1:9443' }, {}).doh.listen, '127.0.0.1:9443');
  t.is(loadConfig({}, { DRIAD_DOH_LISTEN: '[::1]:9443' }).doh.listen, '[::1]:9443');
});

test('prober: {} runs it with the defaults; relays[] override targets; file paths are relative to the file', (t) => {
  const file = yamlFile('prober: {}\ndoh:\n  certFile: c.pem\n  keyFile: k.pem\n  trustedProxies: [10.0.0.1, "2001:db8::/32"]\n');
  const c = loadConfig({ config: file }, {});
  t.deepEqual(c.prober, { intervalMs: 5000, jitter: 0.2, timeoutMs: 1000, port: 2268, smoothing: 0.125, lossWindow: 20, lossesToDown: 3, tcpPort: undefined, relays: [] });
  t.is(c.doh.certFile, join(file, '..', 'c.pem'));
  t.deepEqual(c.doh.trustedProxies, ['10.0.0.1/32', '2001:db8::/32']);
  const r = loadConfig({ config: yamlFile('prober:\n  tcpPort: 443\n  relays:\n    - { name: mx, target: "127.0.0.1:4000" }\n    - { name: gateway, enabled: false }\n') }, {});
  t.deepEqual(r.prober?.relays, [
    { name: 'mx', target: '127.0.0.1:4000', tcpPort: undefined, enabled: true },
    { name: 'gateway', target: undefined, tcpPort: undefined, enabled: false },
  ]);
});

const bad: Array<[string, RegExp]> = [
  ['doh:\n  listen: "localhost:443"\n', /config error: doh\.listen: must be IP:PORT/],
  ['doh:\n  certFile: c.pem\n', /config error: doh\.keyFile: doh\.certFile and doh\.keyFile go together/],
  ['doh:\n  corsOrigins: ["app.example"]\n', /config error: doh\.corsOrigins\[0\]: must be '\*' or an origin/],
  ['doh:\n  trustedProxies: ["10.0.0.1/33"]\n', /config error: doh\.trustedProxies\[0\]: prefix length 33/],
  ['doh:\n  maxQueryBytes: 70000\n', /config error: doh\.maxQueryBytes: must be an integer from 12 to 65535/],
  ['doh:\n  maxStreams: 5\n', /config error: doh\.maxStreams: unknown key/],
  ['prober:\n  intervalMs: 500\n  timeoutMs: 500\n', /config error: prober\.timeoutMs: must be below prober\.intervalMs/],
  ['prober:\n  jitter: 2\n', /config error: prober\.jitter: must be a number from 0 to 0\.9/],
  ['prober:\n  relays:\n    - { name: nope }\n', /config error: prober\.relays\[0\]\.name: no relay named "nope"/],
  ['prober:\n  relays:\n    - { name: mx, target: "mx:2268" }\n', /config error: prober\.relays\[0\]\.target: must be IP:PORT/],
  ['prober:\n  porte: 2268\n', /config error: prober\.porte: unknown key/],
];
for (const [yaml, message] of bad) {
  test(`rejects with the key named: ${message.source.replace(/\\/g, '').slice(14, 70)}`, (t) => {
    t.throws(() => loadConfig({ config: yamlFile(yaml) }, {}), { message });
  });
}
