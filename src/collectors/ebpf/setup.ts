// The eBPF collector: picks a mode (xdp, capture, kernel, off), runs it, keeps it running, and
// turns the tunnel table and the kernel's view into signals for the Linux relay. See README.md.
import { existsSync } from 'node:fs';
import { SpoolRefused } from '../../accounting/spool.ts';
import type { EbpfConfig, RelayConfig } from '../../config/types.ts';
import { LINKTYPE, PcapReader } from '../../capture/pcap.ts';
import type { Collector, CollectorContext, CollectorDefinition, CollectorStatus, SessionStatus } from '../context.ts';
import { decodeCapturedFrame } from './capture-decode.ts';
import { runChild, type ChildRun } from './child.ts';
import { interfaceHolding, listAddresses } from './interfaces.ts';
import { readKernelView, relayDevices, type AmtDevice } from './kernel-view.ts';
import { LineBatcher } from './line-batcher.ts';
import { applyLoaderLine, newLoaderState, type LoaderState } from './loader-lines.ts';
import { RateMeter, type Rates } from './rates.ts';
import { lifecycleRecord } from './tunnel-records.ts';
import { KINDS, TunnelTable, type TunnelLife } from './tunnel-table.ts';

export type EbpfMode = 'xdp' | 'capture' | 'kernel' | 'off';
export const MODES: readonly EbpfMode[] = ['xdp', 'capture', 'kernel', 'off'];

/** driad-amt-loader's exit codes (loader/exit_codes.h) that no restart can cure, as reasons. */
const LOADER_EXIT: Record<number, string> = {
  2: 'bad arguments',
  3: 'no CAP_BPF (needs root, or CAP_BPF + CAP_NET_ADMIN)',
  4: 'kernel unsupported',
  5: 'load failed',
  6: 'attach failed',
};

const LOG_INTERVAL_MS = 10_000;
/** amt-tunnel-lifecycle records handed to the spool and not yet written; beyond this they are dropped (counted). */
const MAX_RECORDS_IN_FLIGHT = 10_000;

/**
 * tcpdump's kernel buffer (-B, KiB). With --immediate-mode libpcap uses fixed ring slots sized for
 * the largest packet, so its 2 MiB default holds a few dozen frames: a burst of 400 gateways'
 * lifecycles lost up to a tenth of them (test/collectors/ebpf/collector-scale.test.ts).
 */
const CAPTURE_BUFFER_KIB = 16_384;

export const ebpfCollector: CollectorDefinition<EbpfConfig> = {
  name: 'ebpf',
  configOf: (config) => (config.ebpf.enabled ? config.ebpf : null),
  start: async (ctx) => {
    const tracker = new EbpfTracker(ctx);
    await tracker.start();
    return tracker;
  },
};

/** The loader's one-line stderr, `driad-amt-loader: <kind>: <message>`, without the prefix. */
function loaderMessage(stderr: string): string {
  const line = stderr.trim().split('\n').filter(Boolean).pop() ?? '';
  return line.replace(/^driad-amt-loader:\s*/, '').slice(0, 300);
}

/** Why the loader's exit code means XDP cannot run here, or null when a restart may help. */
export function loaderExitReason(code: number | null, stderr: string): string | null {
  const reason = code === null ? undefined : LOADER_EXIT[code];
  if (!reason) return null;
  const message = loaderMessage(stderr).replace(/^[a-z-]+:\s*/, '');
  if (code === 4 && /BTF/i.test(message)) return `no BTF: ${message}`;
  return message ? `${reason}: ${message}` : reason;
}

/** What /api/v1/relays shows of this collector (README.md, "The collector"). */
export interface EbpfStatus extends CollectorStatus {
  /** modeReason, one entry per mode passed over. */
  modeReasons: string[];
  /** Active tunnels by gateway address and port, by address alone (the kernel's key), and entries kept. */
  tunnels: { active: number; activeAddresses: number; entries: number };
  /** The latest rates sent as signals (null before two samples). */
  rates: (Rates & { at: number }) | null;
  /** amt-tunnel-lifecycle records handed to the spool. */
  tunnelRecords: { spooled: number; refused: number; lastRefusal: string | null };
  kernel: Array<Pick<AmtDevice, 'name' | 'mode' | 'up' | 'maxTunnels' | 'relayPort' | 'local' | 'discovery'>>;
}

export class EbpfTracker implements Collector {
  readonly #ctx: CollectorContext<EbpfConfig>;
  readonly #cfg: EbpfConfig;
  readonly table: TunnelTable;
  #loaderState: LoaderState = newLoaderState();
  #mode: EbpfMode = 'off';
  readonly #skipped: string[] = [];
  #relay: RelayConfig | null = null;
  #iface: string | null = null;
  #devices: AmtDevice[] = [];
  #run: ChildRun | null = null;
  #failures = 0;
  #readyAt: number | null = null;
  #restartTimer: NodeJS.Timeout | null = null;
  #signalTimer: NodeJS.Timeout | null = null;
  #stopped = false;
  #unsubscribe: () => void = () => {};
  readonly #lastLog = new Map<string, number>();
  readonly #rates = new RateMeter();
  #lastRates: (Rates & { at: number }) | null = null;
  /** Records on their way to the spool: stop() waits for them. */
  readonly #accounting = new Set<Promise<void>>();
  readonly #records = { spooled: 0, refused: 0, lastRefusal: null as string | null };
  readonly #session: SessionStatus = {
    relay: null,
    target: '',
    mode: 'off',
    connected: false,
    since: null,
    lastMessageAt: null,
    errors: 0,
    reconnects: 0,
    lastError: null,
    lastErrorAt: null,
  };

  constructor(ctx: CollectorContext<EbpfConfig>) {
    this.#ctx = ctx;
    this.#cfg = ctx.config;
    this.table = new TunnelTable({ idleMs: this.#cfg.tunnelIdleMs, maxEntries: this.#cfg.maxEntries, onEnd: (life) => this.#tunnelEnded(life) });
    this.#metrics();
  }

  get mode(): EbpfMode {
    return this.#mode;
  }

  /** The pid of the running loader or tcpdump, if any. */
  get childPid(): number | null {
    return this.#run?.child.pid ?? null;
  }

  async start(): Promise<void> {
    await this.#select();
    this.#signalTimer = setInterval(() => void this.#tick(), this.#cfg.signalIntervalMs);
    this.#signalTimer.unref();
    let last = this.#targetKey();
    this.#unsubscribe = this.#ctx.relays.onChange(() => {
      const next = this.#pickRelay();
      const key = `${next?.name}|${next?.ipv4}|${next?.ipv6}`;
      if (key === last || this.#stopped) return;
      last = key;
      void this.#reselect();
    });
  }

  #targetKey(): string {
    return `${this.#relay?.name}|${this.#relay?.ipv4}|${this.#relay?.ipv6}`;
  }

  #pickRelay(): RelayConfig | null {
    const linux = this.#ctx.relays.relays().filter((r) => (this.#cfg.relay ? r.name === this.#cfg.relay : r.kind === 'linux'));
    return linux[0] ?? null;
  }

  async #reselect(): Promise<void> {
    await this.#leaveMode();
    this.table.endAll(this.#ctx.clock.now());
    this.table.clear();
    this.#skipped.length = 0;
    await this.#select();
  }

  /** Finds the relay and its interface, then enters the first mode that can run. */
  async #select(): Promise<void> {
    const candidates = this.#cfg.relay ? this.#ctx.relays.relays().filter((r) => r.name === this.#cfg.relay) : this.#ctx.relays.relays().filter((r) => r.kind === 'linux');
    this.#relay = candidates[0] ?? null;
    this.#iface = this.#cfg.interface ?? null;
    if (!this.#relay) {
      // Nothing to watch: no command is run, nothing attached.
      this.#devices = [];
      await this.#enter(['off'], 0, 'no linux relay configured');
      return;
    }
    if (!this.#iface) {
      const listing = await listAddresses(this.#cfg.ipCommand).catch((err: Error) => {
        this.#logOnce('ip', `cannot list addresses: ${err.message}`);
        return null;
      });
      for (const r of listing ? candidates : []) {
        const found = interfaceHolding(listing!, [r.ipv4, r.ipv6].filter((a): a is string => a !== undefined));
        if (found) {
          this.#relay = r;
          this.#iface = found;
          break;
        }
      }
    }
    await this.#refreshKernel();
    // The kernel relay's own link carries its tunnels when its address is not local (behind a NAT).
    const link = relayDevices(this.#devices).find((d) => d.link)?.link;
    if (!this.#iface && link) this.#iface = link;
    this.#selectedWithDevices = relayDevices(this.#devices).length > 0;
    const order: EbpfMode[] = this.#cfg.mode === 'auto' ? [...MODES] : [this.#cfg.mode, 'off'];
    await this.#enter(order, 0);
  }

  #selectedWithDevices = false;

  #noInterfaceReason(): string {
    if (!this.#relay) return 'no linux relay configured';
    return `no interface holds ${[this.#relay.ipv4, this.#relay.ipv6].filter(Boolean).join(' or ')} and no amt relay netdev names its link (set ebpf.interface)`;
  }

  async #enter(order: EbpfMode[], i: number, offReason?: string): Promise<void> {
    if (this.#stopped) return;
    const mode = order[i] ?? 'off';
    if (offReason) this.#skipped.push(offReason);
    const skip = (why: string) => {
      this.#skipped.push(`${mode}: ${why}`);
      return this.#enter(order, i + 1);
    };
    this.#failures = 0;
    switch (mode) {
      case 'xdp':
        if (!this.#iface) return skip(this.#noInterfaceReason());
        if (!existsSync(this.#cfg.loaderPath)) return skip(`loader not built (${this.#cfg.loaderPath}; scripts/build-native.sh)`);
        break;
      case 'capture':
        if (!this.#iface) return skip(this.#noInterfaceReason());
        break;
      case 'kernel':
        if (relayDevices(this.#devices).length === 0) return skip('no amt relay netdev (ip -d link show type amt)');
        break;
      default:
        break;
    }
    this.#setMode(mode, mode === 'kernel' ? relayDevices(this.#devices)[0]!.name : (this.#iface ?? relayDevices(this.#devices)[0]?.name ?? ''));
    if (mode === 'xdp' || mode === 'capture') this.#spawn(order, i);
    if (mode === 'kernel') this.#setConnected(relayDevices(this.#devices).some((d) => d.up));
    // Off is the expected state of a machine that is no relay (the zero-config default): a warning only when a mode was asked for.
    if (mode === 'off') this.#ctx.log[this.#cfg.mode === 'auto' ? 'info' : 'warn'](`ebpf: off (${this.#skipped.join('; ')})`);
    else this.#ctx.log.info(`ebpf: mode ${mode} on ${this.#session.target}${this.#skipped.length ? ` (${this.#skipped.join('; ')})` : ''}`);
  }

  #setMode(mode: EbpfMode, target: string): void {
    const now = this.#ctx.clock.now();
    // Loader counters come with snapshots: an ended tunnel waits for the next one; a capture counts at once.
    this.table.deferEnds = mode === 'xdp';
    if (mode !== 'xdp') this.table.settle();
    if (mode !== 'xdp' && mode !== 'capture') this.table.endAll(now);
    this.#rates.reset();
    this.#lastRates = null;
    this.#mode = mode;
    this.#session.mode = mode;
    this.#session.target = target;
    this.#session.relay = this.#relay?.name ?? null;
    this.#setConnected(false);
  }

  #setConnected(connected: boolean): void {
    if (this.#session.connected === connected && this.#session.since !== null) return;
    this.#session.connected = connected;
    this.#session.since = this.#ctx.clock.now();
  }

  #error(message: string): void {
    this.#session.errors++;
    this.#session.lastError = message;
    this.#session.lastErrorAt = this.#ctx.clock.now();
  }

  #logOnce(kind: string, message: string): void {
    const now = performance.now();
    if (now - (this.#lastLog.get(kind) ?? -Infinity) < LOG_INTERVAL_MS) return;
    this.#lastLog.set(kind, now);
    this.#ctx.log.warn({ kind }, `ebpf: ${message}`);
  }

  #spawn(order: EbpfMode[], i: number): void {
    const mode = order[i] as 'xdp' | 'capture';
    const iface = this.#iface!;
    this.#readyAt = null;
    this.#loaderState = newLoaderState();
    let onStdout: (chunk: Buffer) => void;
    let finish: () => void;
    let run: ChildRun;
    if (mode === 'xdp') {
      const lines = new LineBatcher({
        onLine: (line) => {
          const now = this.#ctx.clock.now();
          this.#session.lastMessageAt = now;
          if (line.type === 'ready') this.#ready();
          if (!applyLoaderLine(this.table, this.#loaderState, line, now)) this.#ctx.badInput.report('ebpf', 'loader-line', `unexpected line type ${String(line.type)}`);
        },
        onBad: (detail) => this.#ctx.badInput.report('ebpf', 'loader-line', detail),
      });
      onStdout = (chunk) => lines.push(chunk.toString('utf8'));
      finish = () => lines.close();
      const args = ['--ifname', iface, '--mode', this.#cfg.xdpAttach, '--port', String(this.#cfg.port), '--map-size', String(this.#cfg.mapSize), '--log-records', String(this.#cfg.logRecords), '--snapshot-ms', String(this.#cfg.snapshotMs)];
      run = runChild(this.#cfg.loaderPath, args, (c) => onStdout(c));
    } else {
      const reader = new PcapReader();
      let linktype: number = LINKTYPE.ETHERNET;
      onStdout = (chunk) => {
        for (const e of reader.push(chunk)) {
          if (e.kind === 'header') {
            linktype = e.header.linktype;
            this.#ready();
          } else if (e.kind === 'record') {
            this.#packet(linktype, e.record.data, e.record.seconds * 1000 + Math.floor(e.record.nanos / 1e6));
          } else {
            this.#ctx.badInput.report('ebpf', `pcap-${e.error.reason}`, e.error.detail);
            this.#run?.child.kill('SIGTERM');
          }
        }
      };
      finish = () => void reader.end();
      const args = ['-i', iface, '-B', String(CAPTURE_BUFFER_KIB), '-U', '--immediate-mode', '-w', '-', 'udp', 'port', String(this.#cfg.port)];
      run = runChild(this.#cfg.tcpdumpPath, args, (c) => onStdout(c));
    }
    this.#run = run;
    void run.exited.then(({ code, signal, stderr, spawnError }) => {
      finish();
      // No later snapshot of this run will bring counters for tunnels that ended in it.
      this.table.settle();
      if (this.#run === run) this.#run = null;
      if (this.#stopped || this.#leaving.has(run)) return;
      this.#setConnected(false);
      const ranLong = this.#readyAt !== null && this.#ctx.clock.now() - this.#readyAt >= this.#cfg.restartMaxMs;
      if (ranLong) this.#failures = 0;
      const permanent = mode === 'xdp' ? loaderExitReason(code, stderr) : captureExitReason(stderr, spawnError);
      const what = spawnError ?? (signal ? `killed by ${signal}` : `exit ${code}: ${stderr.trim().split('\n').pop() ?? ''}`);
      this.#error(`${mode}: ${permanent ?? what}`);
      if (permanent) {
        this.#skipped.push(`${mode}: ${permanent}`);
        void this.#enter(order, i + 1);
        return;
      }
      this.#failures++;
      if (this.#failures >= this.#cfg.maxFailures) {
        this.#skipped.push(`${mode}: failed ${this.#failures} times (last: ${what})`);
        void this.#enter(order, i + 1);
        return;
      }
      const delay = Math.min(this.#cfg.restartMinMs * 2 ** (this.#failures - 1), this.#cfg.restartMaxMs);
      this.#logOnce(`${mode}-died`, `${mode} ${mode === 'xdp' ? 'loader' : 'tcpdump'} stopped (${what}); restarting in ${delay} ms`);
      this.#ctx.metrics.counter('driad_ebpf_restarts_total', 'Restarts of the loader or tcpdump after it died, by mode', { mode }).inc();
      this.#restartTimer = setTimeout(() => {
        this.#restartTimer = null;
        if (this.#stopped) return;
        this.#session.reconnects++;
        this.#spawn(order, i);
      }, delay);
    });
  }

  #ready(): void {
    this.#readyAt = this.#ctx.clock.now();
    this.#setConnected(true);
  }

  #packet(linktype: number, data: Uint8Array, at: number): void {
    this.#session.lastMessageAt = this.#ctx.clock.now();
    const d = decodeCapturedFrame(linktype, data, at, this.#cfg.port);
    if (d.ok) {
      this.table.observe(d.observation);
      if (d.reportError) this.#ctx.badInput.report('ebpf', d.reportError, `Membership Update from ${d.observation.gateway.address}:${d.observation.gateway.port}`);
    } else if (!d.skip) {
      this.table.countMalformed(d.reason);
      this.#ctx.badInput.report('ebpf', d.reason, d.detail);
    }
  }

  async #refreshKernel(): Promise<void> {
    try {
      this.#devices = await readKernelView({ ipCommand: this.#cfg.ipCommand, sysfsDir: this.#cfg.sysfsDir });
    } catch (err) {
      this.#logOnce('kernel-view', (err as Error).message);
      this.#devices = [];
    }
  }

  async #tick(): Promise<void> {
    if (this.#stopped || !this.#relay) return;
    await this.#refreshKernel();
    if (this.#stopped) return;
    if (this.#mode === 'kernel') this.#setConnected(relayDevices(this.#devices).some((d) => d.up));
    if (this.#mode === 'off' && this.#cfg.mode === 'auto' && !this.#selectedWithDevices && relayDevices(this.#devices).length > 0) {
      // An amt relay netdev appeared since the selection (the module loaded, the relay was set up): select again.
      void this.#reselect();
      return;
    }
    this.table.expire(this.#ctx.clock.now());
    this.#signals();
  }

  #signals(): void {
    const relay = this.#relay?.name;
    if (!relay || this.#mode === 'off' || this.#stopped) return;
    const now = this.#ctx.clock.now();
    const intervalMs = this.#cfg.signalIntervalMs;
    const devices = relayDevices(this.#devices);
    const down = devices.filter((d) => !d.up);
    const tracking = (this.#mode === 'xdp' || this.#mode === 'capture') && this.#session.connected;
    if (tracking) this.#ctx.signal({ relay, kind: 'tunnels', value: this.table.active(now).tunnels, at: now, intervalMs });
    // Counters are as of the loader's latest snapshot in xdp mode, as of now in a capture.
    const countersAt = this.#mode === 'xdp' ? this.#loaderState.lastSnapshotAt : now;
    const rates = tracking && countersAt !== null ? this.#rates.sample(this.table.seen, countersAt) : null;
    if (rates) {
      this.#lastRates = { ...rates, at: now };
      this.#ctx.signal({ relay, kind: 'bandwidthBps', value: rates.bandwidthBps, at: now, intervalMs });
      this.#ctx.signal({ relay, kind: 'packetsPerSecond', value: rates.packetsPerSecond, at: now, intervalMs });
      this.#ctx.signal({ relay, kind: 'discoveriesPerSecond', value: rates.discoveriesPerSecond, at: now, intervalMs });
      this.#ctx.signal({ relay, kind: 'requestsPerSecond', value: rates.requestsPerSecond, at: now, intervalMs });
    }
    if (devices.length > 0) {
      const reachable = down.length === 0;
      this.#ctx.signal({ relay, kind: 'reachable', value: reachable, at: now, intervalMs, ...(reachable ? {} : { reason: `amt device ${down[0]!.name} is ${down[0]!.operstate}` }) });
      // The kernel refuses new tunnels beyond max_tunnels, counted by gateway address alone.
      const max = Math.min(...devices.map((d) => d.maxTunnels ?? Infinity));
      if (reachable && tracking && this.table.active(now).addresses >= max) {
        this.#ctx.signal({ relay, kind: 'state', value: 'degraded', at: now, intervalMs, reason: `kernel relay at max_tunnels (${max})` });
      }
    } else if (tracking) {
      this.#ctx.signal({ relay, kind: 'reachable', value: true, at: now, intervalMs });
    }
  }

  status(): EbpfStatus {
    const now = this.#ctx.clock.now();
    const active = this.table.active(now);
    const status: EbpfStatus = {
      collector: 'ebpf',
      mode: this.#mode,
      ...(this.#skipped.length ? { modeReason: this.#skipped.join('; ') } : {}),
      modeReasons: [...this.#skipped],
      sessions: [{ ...this.#session }],
      tunnels: { active: active.tunnels, activeAddresses: active.addresses, entries: this.table.size },
      rates: this.#lastRates,
      tunnelRecords: { ...this.#records },
      kernel: this.#devices.map((d) => ({ name: d.name, mode: d.mode, up: d.up, maxTunnels: d.maxTunnels, relayPort: d.relayPort, local: d.local, discovery: d.discovery })),
    };
    return status;
  }

  async #leaveMode(): Promise<void> {
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#restartTimer = null;
    const run = this.#run;
    this.#run = null;
    if (run) {
      this.#leaving.add(run);
      await run.stop();
      this.#leaving.delete(run);
    }
  }

  readonly #leaving = new Set<ChildRun>();

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#unsubscribe();
    if (this.#signalTimer) clearInterval(this.#signalTimer);
    await this.#leaveMode();
    this.table.endAll(this.#ctx.clock.now());
    await Promise.all([...this.#accounting]);
  }

  /** The accounting sink of the tunnel table: one amt-tunnel-lifecycle record per ended tunnel, into the spool. */
  #tunnelEnded(life: TunnelLife): void {
    const m = this.#ctx.metrics;
    m.counter('driad_ebpf_tunnels_ended_total', 'AMT tunnels that ended, by why: teardown, expired (keepalive), evicted, stopped', { reason: life.reason }).inc();
    const relay = this.#relay;
    if (!this.#cfg.tunnelRecords || !relay) return;
    if (this.#accounting.size >= MAX_RECORDS_IN_FLIGHT) {
      // The spool is not keeping up (a flood of Requests from spoofed addresses ends in evictions): memory stays bounded.
      this.#records.refused++;
      this.#records.lastRefusal = `backlog: ${MAX_RECORDS_IN_FLIGHT} records already on their way to the spool`;
      m.counter('driad_ebpf_tunnel_records_total', 'amt-tunnel-lifecycle records for the accounting spool, by result', { result: 'dropped' }).inc();
      this.#logOnce('record-backlog', `tunnel record dropped: ${MAX_RECORDS_IN_FLIGHT} already on their way to the spool`);
      return;
    }
    const record = lifecycleRecord(life, relay, this.#mode);
    const done = this.#ctx.account(record).then(
      () => {
        this.#records.spooled++;
        m.counter('driad_ebpf_tunnel_records_total', 'amt-tunnel-lifecycle records for the accounting spool, by result', { result: 'spooled' }).inc();
      },
      (err: Error) => {
        const reason = err instanceof SpoolRefused ? err.reason : 'error';
        this.#records.refused++;
        this.#records.lastRefusal = `${reason}: ${err.message}`;
        m.counter('driad_ebpf_tunnel_records_total', 'amt-tunnel-lifecycle records for the accounting spool, by result', { result: 'refused' }).inc();
        // Accounting off is a setting, not a fault: counted, logged once in a while at most.
        this.#logOnce(`record-${reason}`, `tunnel record not spooled (${reason}): ${err.message}`);
      },
    );
    this.#accounting.add(done);
    void done.finally(() => this.#accounting.delete(done));
  }

  #metrics(): void {
    const m = this.#ctx.metrics;
    m.gauge('driad_ebpf_mode', 'Mode of the Linux AMT relay tracker: 1 for the one running', () => MODES.map((mode) => [{ mode }, mode === this.#mode ? 1 : 0]));
    m.gauge('driad_ebpf_tunnels', 'Active AMT tunnels seen by the tracker, by gateway address+port and by address alone (the kernel key)', () => {
      const relay = this.#relay?.name ?? '';
      const a = this.table.active(this.#ctx.clock.now());
      return [
        [{ relay, key: 'gateway' }, a.tunnels],
        [{ relay, key: 'address' }, a.addresses],
      ];
    });
    m.gauge('driad_ebpf_messages', 'AMT messages per type in the tracker table (since the current loader or capture started)', () =>
      KINDS.map((kind) => [{ kind }, this.table.totals()[kind].packets]),
    );
    m.gauge('driad_ebpf_loader_stat', "The loader's global counters from its latest snapshot (ringbufDrops, badVersion, ...)", () =>
      Object.entries(this.#loaderState.stats).map(([stat, v]) => [{ stat }, v]),
    );
    m.gauge('driad_ebpf_kernel_counter', 'sysfs statistics of the amt netdevs (tx_dropped also counts successful Query sends)', () =>
      this.#devices.flatMap((d) => Object.entries(d.counters).map(([counter, v]) => [{ device: d.name, counter }, v] as [Record<string, string>, number])),
    );
    m.gauge('driad_ebpf_kernel_max_tunnels', 'max_tunnels of the amt relay netdevs', () => this.#devices.map((d) => [{ device: d.name }, d.maxTunnels ?? 0]));
    m.gauge('driad_ebpf_kernel_up', '1 while the amt netdev is up', () => this.#devices.map((d) => [{ device: d.name }, d.up ? 1 : 0]));
    m.gauge('driad_ebpf_rate', 'Rates of the watched relay over the last signal interval: bandwidthBps, packetsPerSecond, discoveriesPerSecond, requestsPerSecond', () => {
      const r = this.#lastRates;
      const relay = this.#relay?.name ?? '';
      return r ? (['bandwidthBps', 'packetsPerSecond', 'discoveriesPerSecond', 'requestsPerSecond'] as const).map((rate) => [{ relay, rate }, r[rate]]) : [];
    });
  }
}

/** Why tcpdump cannot capture here at all, or null when a restart may help. */
export function captureExitReason(stderr: string, spawnError?: string): string | null {
  if (spawnError && /ENOENT/.test(spawnError)) return 'tcpdump not found';
  if (/permission|not permitted/i.test(stderr)) return `no permission to capture: ${stderr.trim().split('\n').pop()}`;
  return null;
}
