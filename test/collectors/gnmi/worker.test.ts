import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { startGnmiMx } from '../../sim/gnmi-mx/server.ts';
import { mxRelay, startHarness, testSettings } from './harness.ts';

// Its own file (its own process): the simulator writing 50,000 tunnels would stall the other tests' simulators.

test('through the worker thread: a 50,000-tunnel list syncs, and the worker stops with the collector', async (t) => {
  const paths = [
    { path: '/interfaces/interface/state/counters', mode: 'sample' as const },
    { path: '/junos/amt/tunnels/tunnel', mode: 'on_change' as const },
  ];
  // No heartbeat: it would have the target send the whole list again every heartbeat (docs/gnmi.md)
  const mx = await startGnmiMx({ tunnels: 50_000, tunnelLimit: 100_000 });
  t.teardown(() => mx.stop());
  const h = await startHarness(testSettings({ worker: true, paths, sampleIntervalMs: 200, heartbeatIntervalMs: 0, syncTimeoutMs: 60_000 }), [mxRelay('mx', mx.address)]);
  t.teardown(() => h.stop());
  t.true(await h.waitFor(() => h.latest('tunnels')?.value === 50_000 && h.session()?.synced === true, 45_000), 'statuses come every 200 ms');
  t.like(h.session(), { synced: true, dropped: 0, mode: 'stream' });
  t.true(h.session()!.updates >= 50_000);
  t.true(h.metrics.get('driad_gnmi_updates_total', { relay: 'mx' }) >= 50_000, 'worker counters reach the main metrics');
  // (ava may run other test files' gNMI workers in this process too: all run at the default.)
  const nice = niceOf('driad-gnmi');
  t.true(nice.length > 0 && nice.every((n) => n === 15), `the worker thread alone runs at gnmi.workerNice (Linux nice is per thread): ${nice}`);
  t.is(niceOf(readFileSync('/proc/thread-self/comm', 'utf8').trim())[0], 0, 'the main thread keeps its priority');
  mx.setTunnels(49_990);
  t.true(await h.waitFor(() => h.latest('tunnels')?.value === 49_990), 'deletes of 10 tunnels');
  await h.stop();
  t.deepEqual(h.collector.status().sessions, []);
});

/** Nice values of this process's threads named `name` (from /proc: field 19 of each task's stat). */
function niceOf(name: string): number[] {
  const out: number[] = [];
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== name) continue;
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      out.push(Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}
