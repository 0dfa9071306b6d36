import test from 'ava';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mxServer, startTrafficOpsSim } from '../sim/traffic-ops.ts';
import { startTestDriad } from '../helpers/driad.ts';
import { ask } from '../helpers/dns-client.ts';
import { undocumentedMetrics } from '../helpers/metrics-doc.ts';
import { until } from '../helpers/until.ts';

const NAME = '10.95.25.69.amt.in-addr.arpa';

function config(url: string, stateFile: string): string {
  return `trafficOps:
  url: ${url}
  username: driad
  password: twelve
  cachegroup: us-east-relay
  schedule: "*/1 * * * * *"
  timeoutMs: 1000
  stateFile: ${stateFile}
`;
}

test('MX relays discovered in Traffic Ops answer DRIAD queries; the embedded default MX does not override discovery', async (t) => {
  const sim = await startTrafficOpsSim({ servers: [mxServer('mx-edge-1', '203.0.113.5'), mxServer('mx-other', '203.0.113.9', { cachegroup: 'elsewhere', cachegroupId: 9 })] });
  t.teardown(() => sim.close());
  const stateFile = join(mkdtempSync(join(tmpdir(), 'driad-to-')), 'inventory.json');
  const d = await startTestDriad(config(sim.url, stateFile));
  t.teardown(() => d.stop(0));
  t.true(await until(async () => (await ask(d.dnsPort, NAME, 'A')).answers[0]?.data === '203.0.113.5'));
  const amt = await ask(d.dnsPort, NAME, 'AMTRELAY');
  t.deepEqual(amt.answers.map((a) => a.data.relay), ['203.0.113.5', '192.0.2.10']);
  const relays = (await (await fetch(`http://127.0.0.1:${d.httpPort}/api/v1/relays`)).json()) as any;
  t.deepEqual(relays.relays.map((r: any) => [r.name, r.origin, r.gnmiTarget]), [
    ['mx-edge-1', 'traffic-ops', '203.0.113.5:32767'],
    ['gateway', 'config', null],
  ]);
  t.like(relays.inventory.trafficOps, { relays: ['mx-edge-1'], lastError: null });

  // Traffic Ops fails: the last good inventory keeps serving and the error shows.
  await sim.setMode('500');
  t.true(await until(async () => ((await (await fetch(`http://127.0.0.1:${d.httpPort}/api/v1/relays`)).json()) as any).inventory.trafficOps.lastError !== null));
  t.is((await ask(d.dnsPort, NAME, 'A')).answers[0]?.data, '203.0.113.5');
  t.true(d.metrics.get('driad_inventory_errors_total', { source: 'traffic-ops', kind: 'http-status' }) >= 1);
  t.deepEqual(undocumentedMetrics(await (await fetch(`http://127.0.0.1:${d.httpPort}/metrics`)).text()), []);
});

test('a restart while Traffic Ops is down serves the inventory saved on disk', async (t) => {
  const sim = await startTrafficOpsSim({ servers: [mxServer('mx-edge-1', '203.0.113.5')] });
  t.teardown(() => sim.close());
  const stateFile = join(mkdtempSync(join(tmpdir(), 'driad-to-')), 'inventory.json');
  const first = await startTestDriad(config(sim.url, stateFile));
  t.true(await until(async () => (await ask(first.dnsPort, NAME, 'A')).answers[0]?.data === '203.0.113.5'));
  await first.stop(0);
  await sim.setMode('down');
  const second = await startTestDriad(config(sim.url, stateFile));
  t.teardown(() => second.stop(0));
  t.true(await until(async () => (await ask(second.dnsPort, NAME, 'A')).answers[0]?.data === '203.0.113.5'));
  const relays = (await (await fetch(`http://127.0.0.1:${second.httpPort}/api/v1/relays`)).json()) as any;
  t.like(relays.inventory.trafficOps, { fromDisk: true, relays: ['mx-edge-1'] });
});

test('an explicit amtRelayPublicIP overrides discovery', async (t) => {
  const sim = await startTrafficOpsSim({ servers: [mxServer('mx-edge-1', '203.0.113.5')] });
  t.teardown(() => sim.close());
  const stateFile = join(mkdtempSync(join(tmpdir(), 'driad-to-')), 'inventory.json');
  const d = await startTestDriad(`${config(sim.url, stateFile)}amtRelay:\n  amtRelayPublicIP: 198.51.100.1\n`);
  t.teardown(() => d.stop(0));
  await new Promise((r) => setTimeout(r, 300));
  t.is((await ask(d.dnsPort, NAME, 'A')).answers[0]?.data, '198.51.100.1');
});
