// driad-amt-loader as a process: its exit codes, and that it leaves nothing attached however it
// stops (SIGTERM, SIGINT, stdin EOF, SIGKILL, the interface going away).
import test from 'ava';
import { until } from '../../helpers/until.ts';
import * as amt from './helpers/amt-bytes.ts';
import { probeLoader, startLoader, type Run } from './helpers/loader.ts';
import { sendRawFrames } from './helpers/peers.ts';
import { bpfLinksOf, createVethPair, ip, programsLoaded, tcEgressFilters, xdpProgramOn, type VethPair } from './helpers/netns.ts';

const capability = await probeLoader();
const maybe = capability.run || !capability.skip ? test.serial : test.serial.skip;
if (!capability.run && capability.skip) test.skip(`eBPF loader tests skipped: ${capability.reason}`, () => {});

async function pairFor(t: import('ava').ExecutionContext): Promise<VethPair> {
  if (!capability.run) throw new Error(capability.reason);
  const pair = await createVethPair();
  t.teardown(() => pair.destroy());
  return pair;
}

async function exitOf(args: string[], opts: { withoutCapabilities?: boolean } = {}): Promise<{ code: number | string; stderr: string; run: Run }> {
  const run = startLoader(args, opts);
  const code = await run.exited;
  return { code, stderr: run.stderr(), run };
}

maybe('bad arguments: exit 2 and one line', async (t) => {
  for (const args of [[], ['--ifindex', 'x'], ['--ifindex', '1', '--port', '70000'], ['--ifindex', '1', '--mode', 'turbo'], ['--ifindex', '1', '--ringbuf-kib', '3'], ['--ifindex', '1', '--log-records', '100'], ['--ifindex', '1', '--log-records', '8388608'], ['--bogus']]) {
    const { code, stderr } = await exitOf(args);
    t.is(code, 2, `${args.join(' ')}: ${stderr}`);
    t.regex(stderr, /^driad-amt-loader: bad-args: .+\n$/);
  }
});

maybe('no permission: exit 3 without capabilities, for a run and for --probe', async (t) => {
  for (const args of [['--ifindex', '1'], ['--probe']]) {
    const { code, stderr } = await exitOf(args, { withoutCapabilities: true });
    t.is(code, 3, stderr);
    // Where unprivileged bpf() is allowed (kernel.unprivileged_bpf_disabled=0) the refusal comes
    // at the program load instead of the first map.
    t.regex(stderr, /^driad-amt-loader: no-permission: (bpf\(\)|loading the programs) refused \(Operation not permitted\).*\n$/);
  }
});

maybe('attach failures: exit 6 for a missing interface, a non-Ethernet one, and a taken one', async (t) => {
  const missing = await exitOf(['--ifindex', '999999']);
  t.is(missing.code, 6);
  t.is(missing.stderr, 'driad-amt-loader: attach-failed: no interface with index 999999\n');
  const lo = await exitOf(['--ifname', 'lo']);
  t.is(lo.code, 6);
  t.regex(lo.stderr, /attach-failed: lo \(ifindex 1\) is not an Ethernet interface \(type 772\)/);

  const pair = await pairFor(t);
  const first = startLoader(['--ifname', pair.hostIf]);
  t.teardown(async () => void (await first.stop()));
  await first.waitFor((l) => l.type === 'ready');
  const second = await exitOf(['--ifname', pair.hostIf]);
  t.is(second.code, 6);
  t.regex(second.stderr, /attach-failed: XDP attach on ifindex \d+: another XDP program is attached/);
  t.truthy(await xdpProgramOn(pair.hostIf), 'the first one stays attached');
});

maybe('--probe loads the programs without attaching anything', async (t) => {
  const { code, run } = await exitOf(['--probe']);
  t.is(code, 0);
  t.deepEqual(run.lines, [{ type: 'probe', ok: true, kernelBtf: true }]);
});

for (const how of ['SIGTERM', 'SIGINT', 'eof'] as const) {
  for (const egress of ['tcx', 'tc'] as const) {
    maybe(`stopping by ${how} with ${egress} egress: exit 0, a final snapshot, nothing left attached`, async (t) => {
      const pair = await pairFor(t);
      const loader = startLoader(['--ifindex', String(pair.hostIfindex), '--egress', egress, '--snapshot-ms', '60000']);
      const ready = await loader.waitFor((l) => l.type === 'ready');
      const programs = [ready.xdpProgramId, ready.egressProgramId] as number[];
      t.is(await xdpProgramOn(pair.hostIf), ready.xdpProgramId);
      if (egress === 'tc') {
        t.regex(await tcEgressFilters(pair.hostIf), new RegExp(`amt_tc_egress.* id ${ready.egressProgramId} `));
        t.deepEqual(await bpfLinksOf(programs), ['xdp']);
      } else {
        t.deepEqual((await bpfLinksOf(programs)).sort(), ['tcx', 'xdp']);
      }

      t.is(await loader.stop(how), 0);
      const reason = how === 'eof' ? 'stdin-eof' : how.toLowerCase();
      t.deepEqual(loader.lines.slice(-2).map((l) => l.type), ['snapshot', 'stopped']);
      t.deepEqual(loader.lines.at(-1), { type: 'stopped', reason });
      t.is(loader.stderr(), '');
      t.is(await xdpProgramOn(pair.hostIf), null);
      t.deepEqual(await bpfLinksOf(programs), []);
      t.is(await tcEgressFilters(pair.hostIf), '');
      t.true(await until(async () => (await programsLoaded(programs)).length === 0), 'the kernel freed both programs');
    });
  }
}

maybe('SIGKILL: the kernel drops the XDP and tcx links with the process', async (t) => {
  const pair = await pairFor(t);
  const loader = startLoader(['--ifindex', String(pair.hostIfindex)]);
  const ready = await loader.waitFor((l) => l.type === 'ready');
  const programs = [ready.xdpProgramId, ready.egressProgramId] as number[];
  t.deepEqual((await bpfLinksOf(programs)).sort(), ['tcx', 'xdp']);
  t.is(await loader.stop('SIGKILL'), 'SIGKILL');
  t.is(await xdpProgramOn(pair.hostIf), null);
  t.deepEqual(await bpfLinksOf(programs), []);
  t.true(await until(async () => (await programsLoaded(programs)).length === 0), 'the kernel freed both programs');
});

maybe('the interface going away: exit 7, one line', async (t) => {
  const pair = await pairFor(t);
  const loader = startLoader(['--ifindex', String(pair.hostIfindex), '--snapshot-ms', '50']);
  t.teardown(async () => void (await loader.stop()));
  await loader.waitFor((l) => l.type === 'ready');
  await ip('link', 'del', pair.hostIf);
  t.is(await loader.exited, 7);
  t.is(loader.stderr(), `driad-amt-loader: runtime: interface ${pair.hostIf} (ifindex ${pair.hostIfindex}) is gone\n`);
  t.deepEqual(loader.lines.at(-1), { type: 'stopped', reason: 'runtime' });
});

maybe('a reader that falls behind does not stop the loader: its output is queued, the ring buffer still read', async (t) => {
  const pair = await pairFor(t);
  // A ring buffer of 64 KiB holds about 250 Update events: a loader stopped by a full pipe for the
  // second below would lose most of the 2,000.
  const run = startLoader(['--ifname', pair.hostIf, '--ringbuf-kib', '64', '--snapshot-ms', '100']);
  t.teardown(async () => void (await run.stop()));
  await run.waitFor((l) => l.type === 'ready');
  run.child.stdout!.pause();
  const frame = { srcMac: pair.nsMac, dstMac: pair.hostMac };
  const report = amt.igmpv3Report(pair.ns4, [{ type: 4, group: '232.1.1.1', sources: [] }]);
  const frames = Array.from({ length: 2000 }, (_, i) =>
    amt.ipv4UdpFrame(frame, { src: pair.ns4, dst: pair.host4, sport: 40000 + (i % 500), dport: 2268 }, amt.membershipUpdate([1, 2, 3, 4, 5, 6], i, report)),
  );
  // In bursts the ring takes whole (200 events, about 50 KiB), while the pipe, full after the
  // first, is not read.
  for (let i = 0; i < frames.length; i += 200) {
    await sendRawFrames(pair, frames.slice(i, i + 200));
    await new Promise((r) => setTimeout(r, 100));
  }
  run.child.stdout!.resume();
  t.true(await until(async () => run.events('update').length === 2000, 10_000), `updates read: ${run.events('update').length}`);
  const snap = await run.fullSnapshot();
  t.like(snap.summary.stats, { ringbufDrops: 0 });
});

maybe('events come out before the counts: no snapshot line counts a Request whose event has not been printed', async (t) => {
  const pair = await pairFor(t);
  // A snapshot every 10 ms while 3,000 Requests arrive: many walks run while Requests are counted.
  const run = startLoader(['--ifname', pair.hostIf, '--snapshot-ms', '10']);
  t.teardown(async () => void (await run.stop()));
  await run.waitFor((l) => l.type === 'ready');
  const frame = { srcMac: pair.nsMac, dstMac: pair.hostMac };
  const frames = Array.from({ length: 3000 }, (_, i) =>
    amt.ipv4UdpFrame(frame, { src: pair.ns4, dst: pair.host4, sport: 41000 + (i % 300), dport: 2268 }, amt.request(i)),
  );
  for (let i = 0; i < frames.length; i += 300) await sendRawFrames(pair, frames.slice(i, i + 300));
  t.true(await until(async () => run.events('request').length === frames.length, 10_000));
  await run.fullSnapshot();
  const events = new Map<number, number>();
  let lines = 0;
  const early: string[] = [];
  for (const l of run.lines) {
    if (l.type === 'request') events.set(l.gateway.port, (events.get(l.gateway.port) ?? 0) + 1);
    if (l.type !== 'gateway') continue;
    lines++;
    const counted = l.toRelay.request.packets as number;
    if (counted > (events.get(l.port) ?? 0)) early.push(`${l.port}: ${counted} counted, ${events.get(l.port) ?? 0} events`);
  }
  t.true(lines > 300, `${lines} gateway lines`);
  t.deepEqual(early.slice(0, 5), []);
});
