import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { relayList } from '../../src/inventory/relays.ts';

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'driad-cfg-')), 'driad.yaml');
  writeFileSync(file, text);
  return file;
}

test('with no config at all: loopback 5300 and 8080, zones/, the seed MX and a gateway', (t) => {
  const c = loadConfig({}, {});
  t.deepEqual(c.dns.listen, ['127.0.0.1:5300']);
  t.is(c.http.listen, '127.0.0.1:8080');
  t.true(c.zones.directory.endsWith('/zones'));
  t.deepEqual(relayList(c, []).map((r) => [r.name, r.kind, r.ipv4]), [
    ['mx', 'juniper', '69.25.95.1'],
    ['gateway', 'linux', '192.0.2.10'],
  ]);
});

test("accepts the seed's Helm values as written", (t) => {
  const file = yamlFile(`amtRelay:
  enabled: true
  relayType: "juniper"
  gnmiAuthMode: "tls"
  gnmiUsername: "blockcast"
  gnmiPasswordSecret: "amt-relay-gnmi-password"
  gnmiTLSSkipVerify: true
  amtRelayPublicIP: "69.25.95.1"   # Public IP of hardware AMT relay
  ipfixPort: 4739
  gnmiTarget: "69.25.95.1:32767"
`);
  const c = loadConfig({ config: file }, {});
  t.like(c.amtRelay, { enabled: true, relayType: 'juniper', gnmiUsername: 'blockcast', gnmiTLSSkipVerify: true, ipfixPort: 4739, gnmiTarget: '69.25.95.1:32767' });
});

test('layers: file < env < flags', (t) => {
  const file = yamlFile('dns:\n  listen: ["127.0.0.1:1053"]\nhttp:\n  listen: 127.0.0.1:9000\n');
  t.deepEqual(loadConfig({ config: file }, {}).dns.listen, ['127.0.0.1:1053']);
  t.deepEqual(loadConfig({ config: file }, { DRIAD_DNS_LISTEN: '127.0.0.1:2053,[::1]:2053' }).dns.listen, ['127.0.0.1:2053', '[::1]:2053']);
  t.deepEqual(loadConfig({ config: file, dnsListen: ['127.0.0.1:3053'] }, { DRIAD_DNS_LISTEN: '127.0.0.1:2053' }).dns.listen, ['127.0.0.1:3053']);
  t.is(loadConfig({ config: file }, { AMT_RELAY_PUBLIC_IP: '203.0.113.9' }).amtRelay.amtRelayPublicIP, '203.0.113.9');
});

const bad: Array<[string, string]> = [
  ['driad:\n  ttl: -5\n', 'config error: driad.ttl: must be an integer from 1 to 604800 (got -5)'],
  ['driad:\n  ttl: 60\n  degradedTtl: 120\n', 'config error: driad.degradedTtl: must not exceed driad.ttl (120 > 60)'],
  ['amtRelay:\n  relayType: cisco\n', 'config error: amtRelay.relayType: must be one of juniper, linux (got "cisco")'],
  ['amtRelay:\n  amtRelayPublicIP: 1.2.3\n', 'config error: amtRelay.amtRelayPublicIP: must be an IP address (got "1.2.3")'],
  ['dns:\n  listne: []\n', 'config error: dns.listne: unknown key'],
  ['dns:\n  listen: ["localhost:53"]\n', 'config error: dns.listen[0]: must be IP:PORT or [IPv6]:PORT (got "localhost:53")'],
  ['relays:\n  - name: mx\n    kind: juniper\n    ipv4: 203.0.113.1\n    precedence: 5\n', 'config error: relays[0].name: duplicate relay name "mx"'],
  ['relays:\n  - name: r1\n    kind: linux\n    precedence: 5\n', 'config error: relays[0]: needs ipv4 or ipv6'],
  ['gateway:\n  publicIP: 2001:db8::1\n', 'config error: gateway.publicIP: must be an IPv4 address (got "2001:db8::1")'],
  ['amtRelay:\n  gnmiAuthMode: password\n', 'config error: amtRelay.gnmiUsername: is required when gnmiAuthMode is password'],
  ['driad:\n  reverseZones: ["example.com"]\n', 'config error: driad.reverseZones[0]: must be a zone under in-addr.arpa or ip6.arpa (got "example.com")'],
  ['health:\n  degradedUtilization: 0.95\n  fullUtilization: 0.9\n', 'config error: health.degradedUtilization: must be below health.fullUtilization (0.95 >= 0.9)'],
  ['health:\n  upAfter: 0\n', 'config error: health.upAfter: must be an integer from 1 to 100 (got 0)'],
  ['policy:\n  capacityThreshold: 1.5\n', 'config error: policy.capacityThreshold: must be a number from 0.01 to 1 (got 1.5)'],
  ['policy:\n  sources:\n    - prefix: 69.25.95.0/24\n      relays: [mx, edge-9]\n', 'config error: policy.sources[0].relays[1]: no relay named "edge-9" (relays: mx, gateway; or a kind: juniper, linux)'],
  ['trafficOps:\n  url: http://127.0.0.1:1\n  username: u\n  password: p\n  cachegroup: c\n  schedule: "every minute"\n', 'config error: trafficOps.schedule: is not a valid cron expression (got "every minute")'],
  ['amtRelay:\n  gnmiTarget: 69.25.95.1\n', 'config error: amtRelay.gnmiTarget: must be HOST:PORT (got "69.25.95.1")'],
  ['relays:\n  - name: edge\n    kind: linux\n    ipv4: 203.0.113.1\n    precedence: 5\n    gnmiTarget: 203.0.113.1:32767\n', 'config error: relays[0].gnmiTarget: only a juniper relay has a gNMI server'],
];

for (const [yaml, message] of bad) {
  test(`rejects with the key named: ${message}`, (t) => {
    t.throws(() => loadConfig({ config: yamlFile(yaml) }, {}), { message });
  });
}

test('a YAML syntax error names the file and line', (t) => {
  const file = yamlFile('dns:\n  listen: [oops\n');
  const err = t.throws(() => loadConfig({ config: file }, {}));
  t.regex(err.message, new RegExp(`^config error: ${file}(:\\d+)?: `));
});

test('a missing config file is a clear error', (t) => {
  t.throws(() => loadConfig({ config: '/nonexistent/driad.yaml' }, {}), { message: /config error: \/nonexistent\/driad.yaml: cannot read/ });
});

test('gNMI targets: each MX on port 32767 of its address unless amtRelay.gnmiTarget names one', (t) => {
  const c = loadConfig({}, {});
  t.deepEqual(relayList(c, []).map((r) => [r.name, r.gnmiTarget]), [['mx', '69.25.95.1:32767'], ['gateway', undefined]]);
  const explicit = loadConfig({}, { GNMI_TARGET: '10.0.0.1:50051' });
  t.is(relayList(explicit, [])[0]?.gnmiTarget, '10.0.0.1:50051');

  const discovery = yamlFile('amtRelay:\n  amtRelayPublicIP: ""\ntrafficOps:\n  url: http://127.0.0.1:1\n  username: u\n  password: p\n  cachegroup: c\n');
  const found = [
    { hostName: 'mx-a', ipv4: '192.0.2.1' },
    { hostName: 'mx-b', ipv6: '2001:db8::2' },
  ];
  const targets = (env: Record<string, string>): Array<[string, string | undefined]> =>
    relayList(loadConfig({ config: discovery }, env), found)
      .filter((r) => r.kind === 'juniper')
      .map((r) => [r.name, r.gnmiTarget]);
  t.deepEqual(targets({}), [['mx-a', '192.0.2.1:32767'], ['mx-b', '[2001:db8::2]:32767']]);
  t.deepEqual(targets({ GNMI_TARGET: '[2001:db8::2]:9339' }), [['mx-a', '192.0.2.1:32767'], ['mx-b', '[2001:db8::2]:9339']], 'the MX at the target address');
  t.deepEqual(targets({ GNMI_TARGET: 'mx.example.net:9339' }), [['mx-a', 'mx.example.net:9339'], ['mx-b', '[2001:db8::2]:32767']], 'else the first MX');
});
