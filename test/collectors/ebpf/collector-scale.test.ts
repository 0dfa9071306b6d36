// Hundreds of tunnels on a real kernel path: the generator (test/sim/amt-relay/generator.ts) in a
// network namespace runs 400 gateways' whole lifecycles (Discovery, Advertisement, Request, Query,
// Update joining groups, Multicast Data, a leave, Teardown or keepalive expiry) over a veth pair
// against the relay simulator on the host end, where the collector runs in XDP mode (the real
// loader, XDP and tc) or capture mode (real tcpdump). The table must hold exactly the generator's
// ledger: every gateway's packets and bytes per message type, its groups, its end.
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import type { EbpfConfig } from '../../../src/config/types.ts';
import { until } from '../../helpers/until.ts';
import { linuxRelay, startTracker } from './helpers/collector.ts';
import { probeLoader } from './helpers/loader.ts';
import { createVethPair } from './helpers/netns.ts';
import { captureLive, checkAgainstLedger, expectedActive, runPhase, scalePlan, startRelays, tableCaughtUp } from './helpers/scale.ts';

const capability = await probeLoader();
const root = process.getuid?.() === 0;
const tcpdump = ['/usr/bin/tcpdump', '/usr/sbin/tcpdump'].find((p) => existsSync(p));

const GATEWAYS = 400;
const V4_ADDRESSES = 5;
const V6_ADDRESSES = 2;
const IDLE_MS = 260_000;

async function scenario(t: ExecutionContext, config: Partial<EbpfConfig>) {
  const pair = await createVethPair();
  t.teardown(() => pair.destroy());
  const plan = await scalePlan(pair, GATEWAYS, V4_ADDRESSES, V6_ADDRESSES);
  const relays = await startRelays(pair);
  t.teardown(() => relays.close());
  const { tracker, metrics } = await startTracker(linuxRelay(pair.host4), { snapshotMs: 100, tunnelIdleMs: IDLE_MS, ...config });
  t.teardown(() => tracker.stop());
  t.is(tracker.mode, config.mode === 'capture' ? 'capture' : 'xdp', JSON.stringify(tracker.status()));
  t.true(await until(async () => tracker.status().sessions[0]!.connected, 10_000), JSON.stringify(tracker.status()));
  if (config.mode === 'capture') t.true(await captureLive(pair, tracker.table), 'tcpdump captures');

  // Phase 1: the gateways whose tunnels will expire; all counted before phase 2 starts, so that
  // every one of their messages is older than `middle` and every later one newer.
  const first = await runPhase(pair, plan, (f) => f === 'expiry');
  await tableCaughtUp(t, tracker.table, first);
  await new Promise((r) => setTimeout(r, 20));
  const middle = Date.now();
  await new Promise((r) => setTimeout(r, 20));
  const second = await runPhase(pair, plan, (f) => f !== 'expiry');
  const ledger = [...first, ...second];
  await tableCaughtUp(t, tracker.table, ledger);
  const expiring = new Set(first.map((e) => `${e.address}:${e.port}`));

  checkAgainstLedger(t, tracker.table, ledger, relays);
  t.is(ledger.length, GATEWAYS);
  t.is(ledger.filter((e) => e.tornDown).length, GATEWAYS / 4);
  t.is(new Set(ledger.map((e) => e.address)).size, V4_ADDRESSES + V6_ADDRESSES);
  // Now: every tunnel not torn down is within its keepalive window.
  const now = expectedActive(ledger, (e) => !e.tornDown);
  t.deepEqual(tracker.table.active(Date.now()), now);
  t.like(tracker.status(), { tunnels: { active: now.tunnels, activeAddresses: now.addresses, entries: GATEWAYS } });
  // 3 x idle after `middle` (an Update holds a tunnel for three keepalive windows): the first
  // phase's tunnels have expired, the second phase's (less those torn down) have not.
  const later = middle + 3 * IDLE_MS;
  t.deepEqual(tracker.table.active(later), expectedActive(ledger, (e) => !e.tornDown && !expiring.has(`${e.address}:${e.port}`)));
  for (const e of first) t.false(tracker.table.isActive(tracker.table.get(e)!, later), `${e.address}:${e.port} expired`);
  return { ledger, metrics };
}

if (!capability.run) {
  test(`xdp collector at scale: skipped: ${capability.reason}`, (t) => {
    if (!capability.skip) t.fail(capability.reason);
    else t.pass();
  });
} else {
  test(`xdp mode: ${GATEWAYS} gateways' lifecycles through the real loader; the table is the generator's ledger exactly`, async (t) => {
    const { metrics } = await scenario(t, {});
    for (const stat of ['ringbufDrops', 'badVersion', 'badType', 'truncated', 'reportUnparsed', 'entryFailures', 'evictionsAtCapacity']) {
      t.is(metrics.get('driad_ebpf_loader_stat', { stat }), 0, stat);
    }
    t.is(metrics.get('driad_ebpf_loader_stat', { stat: 'entriesCreated' }), GATEWAYS);
  });
}

if (!root || !tcpdump) {
  test(`capture collector at scale: skipped: ${!root ? 'not root (tcpdump needs CAP_NET_RAW, the veth pair CAP_NET_ADMIN)' : 'tcpdump not installed (DRIAD_DEBS)'}`, (t) => t.pass());
} else {
  test(`capture mode: the same ${GATEWAYS} gateways through real tcpdump; the same exact table`, async (t) => {
    const { ledger } = await scenario(t, { mode: 'capture' });
    t.is(ledger.length, GATEWAYS);
  });
}
