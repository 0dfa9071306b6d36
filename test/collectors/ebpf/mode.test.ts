// Mode selection and fallback with stand-ins for the loader (exiting with each of its codes)
// and the kernel's amt netdev (a recorded `ip -d -j link` answer and a fake sysfs directory).
import test from 'ava';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loaderExitReason } from '../../../src/collectors/ebpf/setup.ts';
import { parseAmtLinks, readKernelView } from '../../../src/collectors/ebpf/kernel-view.ts';
import { until } from '../../helpers/until.ts';
import { FIXTURES, linuxRelay, startTracker } from './helpers/collector.ts';

const FAKE_IP = join(FIXTURES, 'fake-ip.sh');
const SYSFS = join(FIXTURES, 'sysfs');

/** An ip(8) whose `show type amt` answer is the file it returns beside it (tests run concurrently: one each). */
function fakeIp(links: string): { ip: string; links: string } {
  const dir = mkdtempSync(join(tmpdir(), 'driad-fake-ip-'));
  const path = join(dir, 'ip');
  writeFileSync(join(dir, 'links.json'), links);
  writeFileSync(path, `#!/bin/sh\nDRIAD_FAKE_AMT_LINKS='${join(dir, 'links.json')}' exec '${FAKE_IP}' "$@"\n`);
  chmodSync(path, 0o755);
  return { ip: path, links: join(dir, 'links.json') };
}
const NO_AMT = fakeIp('[]').ip;

/** A loader stand-in that prints what the real one prints for `code`, then exits with it. */
function fakeLoader(code: number, stderr: string, stdout = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'driad-fake-loader-'));
  const path = join(dir, 'driad-amt-loader');
  writeFileSync(path, `#!/bin/sh\n${stdout ? `echo '${stdout}'\n` : ''}echo 'driad-amt-loader: ${stderr}' >&2\nexit ${code}\n`);
  chmodSync(path, 0o755);
  return path;
}

// lo holds 127.0.0.1: the interface is found from the relay's address with `ip -j addr`.
const RELAY = linuxRelay('127.0.0.1');

const cases = [
  { code: 3, stderr: 'no-permission: bpf(BPF_PROG_LOAD): Operation not permitted', reason: /^xdp: no CAP_BPF \(needs root, or CAP_BPF \+ CAP_NET_ADMIN\): bpf\(BPF_PROG_LOAD\)/ },
  { code: 4, stderr: 'kernel-unsupported: no BPF ring buffer; no BTF at /sys/kernel/btf/vmlinux', reason: /^xdp: no BTF: no BPF ring buffer/ },
  { code: 5, stderr: 'load-failed: verifier: invalid access to packet', reason: /^xdp: load failed: verifier: invalid access to packet/ },
  { code: 6, stderr: 'attach-failed: interface lo is not Ethernet', reason: /^xdp: attach failed: interface lo is not Ethernet/ },
];

for (const c of cases) {
  test(`loader exit ${c.code}: falls back to capture at once, and says why`, async (t) => {
    const { tracker, metrics } = await startTracker(RELAY, { loaderPath: fakeLoader(c.code, c.stderr), ipCommand: NO_AMT, tcpdumpPath: '/nonexistent/tcpdump' });
    try {
      // capture cannot run either (no tcpdump there), and there is no amt netdev: off, with every reason.
      t.true(await until(async () => tracker.mode === 'off', 5000));
      const s = tracker.status() as ReturnType<typeof tracker.status> & { modeReasons: string[] };
      const [xdp, capture, kernel] = s.modeReasons;
      t.is(s.modeReason, s.modeReasons.join('; '));
      t.regex(xdp!, c.reason);
      t.is(capture, 'capture: tcpdump not found');
      t.is(kernel, 'kernel: no amt relay netdev (ip -d link show type amt)');
      t.like(s.sessions[0], { relay: 'gateway', target: 'lo', connected: false, reconnects: 0 });
      t.is(metrics.get('driad_ebpf_mode', { mode: 'off' }), 1);
      t.is(metrics.get('driad_ebpf_mode', { mode: 'xdp' }), 0);
    } finally {
      await tracker.stop();
    }
  });
}

test('loader exit 7 (runtime) after ready: restarted with backoff, then given up after ebpf.maxFailures', async (t) => {
  const loader = fakeLoader(7, 'runtime: the interface went away', '{"type":"ready","pid":1}');
  const { tracker, metrics } = await startTracker(RELAY, { loaderPath: loader, ipCommand: NO_AMT, tcpdumpPath: '/nonexistent/tcpdump', maxFailures: 3 });
  try {
    t.true(await until(async () => tracker.mode === 'off', 5000));
    const s = tracker.status();
    t.regex(s.modeReason!, /^xdp: failed 3 times \(last: exit 7: driad-amt-loader: runtime: the interface went away\)/);
    t.is(metrics.get('driad_ebpf_restarts_total', { mode: 'xdp' }), 2);
    // Three loader runs, and tcpdump that could not start.
    t.like(s.sessions[0], { errors: 4, lastError: 'capture: tcpdump not found' });
  } finally {
    await tracker.stop();
  }
});

test('loader exit reasons', (t) => {
  t.is(loaderExitReason(0, ''), null);
  t.is(loaderExitReason(7, 'driad-amt-loader: runtime: x'), null);
  t.is(loaderExitReason(null, ''), null);
  t.is(loaderExitReason(3, ''), 'no CAP_BPF (needs root, or CAP_BPF + CAP_NET_ADMIN)');
  t.is(loaderExitReason(2, 'driad-amt-loader: bad-args: --map-size 0'), 'bad arguments: --map-size 0');
});

test('kernel view: the recorded ip -d -j link of an amt relay and its sysfs counters', async (t) => {
  const devices = await readKernelView({ ipCommand: FAKE_IP, sysfsDir: SYSFS });
  t.is(devices.length, 2);
  t.deepEqual(devices[0], {
    name: 'amt0',
    up: true,
    operstate: 'UNKNOWN',
    mode: 'relay',
    relayPort: 2268,
    gatewayPort: 2268,
    local: '192.0.2.10',
    remote: null,
    discovery: '192.0.2.10',
    link: 'eth0',
    maxTunnels: 128,
    counters: { rx_packets: 1200, rx_bytes: 96000, rx_dropped: 3, tx_packets: 0, tx_bytes: 0, tx_errors: 0, tx_dropped: 450 },
  });
  t.like(devices[1], { name: 'amtgw', mode: 'gateway', up: false, remote: '198.51.100.7', counters: {} });
  t.deepEqual(parseAmtLinks(''), []);
  t.deepEqual(parseAmtLinks('[{"ifname":"eth0","linkinfo":{"info_kind":"veth"}}]'), []);
  t.throws(() => parseAmtLinks('{"not":"an array"}'), { message: /JSON array/ });
});

test('kernel mode: when XDP and capture cannot run, the amt netdev gives reachable and capacity; down turns the relay unreachable', async (t) => {
  const fake = fakeIp(readFileSync(join(FIXTURES, 'ip-link-amt.json'), 'utf8'));
  // The fixture's relay netdev names its link eth0: XDP and capture would watch it, so neither may run here.
  const { tracker, signals, metrics } = await startTracker(linuxRelay('192.0.2.10'), { ipCommand: fake.ip, sysfsDir: SYSFS, loaderPath: '/nonexistent/driad-amt-loader', tcpdumpPath: '/nonexistent/tcpdump' });
  try {
    t.true(await until(async () => tracker.mode === 'kernel', 5000));
    const s = tracker.status() as ReturnType<typeof tracker.status> & { kernel: unknown[] };
    t.is(s.modeReason, 'xdp: loader not built (/nonexistent/driad-amt-loader; scripts/build-native.sh); capture: tcpdump not found');
    t.like(s.sessions[0], { mode: 'kernel', target: 'amt0', connected: true });
    t.like(s.kernel[0], { name: 'amt0', up: true, maxTunnels: 128 });
    t.true(await until(async () => signals.some((x) => x.kind === 'reachable'), 3000));
    t.like(signals.find((x) => x.kind === 'reachable'), { relay: 'gateway', value: true, intervalMs: 200 });
    t.false(signals.some((x) => x.kind === 'tunnels'), 'the kernel tells no tunnel count');
    t.is(metrics.get('driad_ebpf_kernel_max_tunnels', { device: 'amt0' }), 128);
    t.is(metrics.get('driad_ebpf_kernel_counter', { device: 'amt0', counter: 'tx_dropped' }), 450);
    t.is(metrics.get('driad_ebpf_mode', { mode: 'kernel' }), 1);

    writeFileSync(fake.links, '[{"ifname":"amt0","flags":["POINTOPOINT","NOARP"],"operstate":"DOWN","linkinfo":{"info_kind":"amt","info_data":{"mode":"relay","max_tunnels":128}}}]');
    const seen = signals.length;
    t.true(await until(async () => signals.slice(seen).some((x) => x.kind === 'reachable' && x.value === false), 3000));
    t.like(signals.slice(seen).find((x) => x.value === false), { reason: 'amt device amt0 is DOWN' });
    t.like(tracker.status().sessions[0], { connected: false });
  } finally {
    await tracker.stop();
  }
});

test('zero config: an amt relay netdev whose address is not local names the interface to watch, its link', async (t) => {
  const fake = fakeIp(readFileSync(join(FIXTURES, 'ip-link-amt.json'), 'utf8'));
  // A stand-in loader that records its arguments, so nothing is attached to this machine's eth0.
  const dir = mkdtempSync(join(tmpdir(), 'driad-fake-loader-'));
  const loader = join(dir, 'driad-amt-loader');
  writeFileSync(loader, `#!/bin/sh\necho "$@" > '${join(dir, 'args')}'\necho 'driad-amt-loader: attach-failed: stand-in' >&2\nexit 6\n`);
  chmodSync(loader, 0o755);
  const { tracker } = await startTracker(linuxRelay('198.51.100.200'), { ipCommand: fake.ip, sysfsDir: SYSFS, loaderPath: loader, tcpdumpPath: '/nonexistent/tcpdump' });
  try {
    t.true(await until(async () => tracker.mode === 'kernel', 5000));
    t.is(tracker.status().modeReason, 'xdp: attach failed: stand-in; capture: tcpdump not found');
    t.regex(readFileSync(join(dir, 'args'), 'utf8'), /^--ifname eth0 --mode auto --port 2268 --map-size 65536 --log-records 8192 /);
    t.like(tracker.status().sessions[0], { mode: 'kernel', target: 'amt0' });
  } finally {
    await tracker.stop();
  }
});

test('zero config: off for want of anything to watch, then an amt relay netdev appears: selected again, kernel mode', async (t) => {
  const fake = fakeIp('[]');
  const { tracker } = await startTracker(linuxRelay('192.0.2.10'), { ipCommand: fake.ip, sysfsDir: SYSFS, loaderPath: '/nonexistent/driad-amt-loader', tcpdumpPath: '/nonexistent/tcpdump' });
  try {
    t.is(tracker.mode, 'off');
    t.regex(tracker.status().modeReason!, /kernel: no amt relay netdev/);
    writeFileSync(fake.links, readFileSync(join(FIXTURES, 'ip-link-amt.json')));
    t.true(await until(async () => tracker.mode === 'kernel', 5000));
    t.like(tracker.status().sessions[0], { mode: 'kernel', target: 'amt0', connected: true });
  } finally {
    await tracker.stop();
  }
});

test('zero config: with no linux relay nothing runs, and the reason says so', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'driad-fake-ip-'));
  const ip = join(dir, 'ip');
  writeFileSync(ip, `#!/bin/sh\necho "$@" >> '${join(dir, 'ran')}'\nexit 1\n`);
  chmodSync(ip, 0o755);
  const { tracker, signals } = await startTracker({ ...linuxRelay('192.0.2.10'), kind: 'juniper', name: 'mx' }, { ipCommand: ip, loaderPath: '/nonexistent/driad-amt-loader' });
  try {
    t.is(tracker.mode, 'off');
    t.is(tracker.status().modeReason, 'no linux relay configured');
    t.like(tracker.status().sessions[0], { relay: null, connected: false });
    await new Promise((r) => setTimeout(r, 500));
    t.deepEqual(signals, []);
    t.false(existsSync(join(dir, 'ran')), 'not even ip was run');
  } finally {
    await tracker.stop();
  }
});

test('a reload that moves the relay to a local address runs the selection again', async (t) => {
  const { tracker, setRelays } = await startTracker(linuxRelay('192.0.2.10'), { loaderPath: fakeLoader(6, 'attach-failed: lo is not Ethernet'), ipCommand: NO_AMT, tcpdumpPath: '/nonexistent/tcpdump' });
  try {
    t.is(tracker.mode, 'off');
    t.regex(tracker.status().modeReason!, /^xdp: no interface holds 192\.0\.2\.10/);
    setRelays([linuxRelay('127.0.0.1')]);
    t.true(await until(async () => /^xdp: attach failed: lo is not Ethernet/.test(tracker.status().modeReason ?? ''), 5000));
    t.like(tracker.status().sessions[0], { target: 'lo', mode: 'off' });
  } finally {
    await tracker.stop();
  }
});
