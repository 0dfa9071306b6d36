/**
 * driad's eBPF collector on its own (as src/collectors/index.ts would start it), for the bench:
 * the relay at ADDRESS, mode xdp (the loader: XDP and tc, events and snapshots into the tunnel
 * table) or capture (tcpdump into the same table). Run in the relay's namespace. Prints `ready
 * <mode> <interface>` once connected; on SIGTERM stops and prints one JSON line of what it saw.
 *
 *   node bench/ebpf/collector.ts ADDRESS xdp|capture [native|generic]   (how XDP attaches; default auto)
 */
import { linuxRelay, startTracker } from '../../test/collectors/ebpf/helpers/collector.ts';
import { KINDS } from '../../src/collectors/ebpf/tunnel-table.ts';

const [address, mode, attach] = process.argv.slice(2);
if (!address || (mode !== 'xdp' && mode !== 'capture')) throw new Error('usage: collector.ts ADDRESS xdp|capture [native|generic]');
if (attach !== undefined && attach !== 'native' && attach !== 'generic') throw new Error(`collector.ts: attach must be native or generic, not ${attach}`);
const { tracker, metrics } = await startTracker(linuxRelay(address), { mode, snapshotMs: 1000, signalIntervalMs: 1000, xdpAttach: attach ?? 'auto' });
const deadline = Date.now() + 20_000;
while (!tracker.status().sessions[0]!.connected) {
  if (tracker.mode !== mode || Date.now() > deadline) {
    process.stderr.write(`collector: ${mode} did not start: ${JSON.stringify(tracker.status())}\n`);
    await tracker.stop();
    process.exit(1);
  }
  await new Promise((r) => setTimeout(r, 50));
}
process.stdout.write(`ready ${mode} ${tracker.status().sessions[0]!.target} ${tracker.childPid}\n`);
process.once('SIGTERM', () => {
  void (async () => {
    await tracker.stop();
    const totals = tracker.table.totals();
    const stats = Object.fromEntries(['ringbufDrops', 'amt', 'entriesCreated', 'logged', 'logFull'].map((s) => [s, metrics.get('driad_ebpf_loader_stat', { stat: s })]));
    process.stdout.write(`${JSON.stringify({ mode, entries: tracker.table.size, packets: Object.fromEntries(KINDS.map((k) => [k, totals[k].packets])), loader: stats })}\n`);
    process.exit(0);
  })();
});
