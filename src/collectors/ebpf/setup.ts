// The eBPF collector: picks a mode (xdp, capture, kernel, off), runs it, keeps it running, and
// turns the tunnel table and the kernel's view into signals for the Linux relay. See README.md.
import { existsSync } from 'node:fs';
import type { EbpfConfig, RelayConfig } from '../../config/types.ts';
import { LINKTYPE, PcapReader } from '../../capture/pcap.ts';
import type { Collector, CollectorContext, CollectorDefinition, CollectorStatus, SessionStatus } from '../context.ts';
import { decodeCapturedFrame } from './capture-decode.ts';
import { runChild, type ChildRun } from './child.ts';
import { interfaceHolding, listAddresses } from './interfaces.ts';
import { readKernelView, relayDevices, type AmtDevice } from './kernel-view.ts';
import { LineBatcher } from './line-batcher.ts';
import { applyLoaderLine, newLoaderState, type LoaderState } from './loader-lines.ts';
import { KINDS, TunnelTable } from './tunnel-table.ts';

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
    this.table = new TunnelTable({ idleMs: this.#cfg.tunnelIdleMs, maxEntries: this.#cfg.maxEntries });
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
    this.table.clear();
    this.#skipped.length = 0;
    await this.#select();
  }

  /** Finds the relay and its interface, then enters the first mode that can run. */
  async #select(): Promise<void> {
    const candidates = this.#cfg.relay ? this.#ctx.relays.relays().filter((r) => r.name === this.#cfg.relay) : this.#ctx.relays.relays().filter((r) => r.kind === 'linux');
    this.#relay = candidates[0] ?? null;
    this.#iface = this.#cfg.interface ?? null;
    if (!this.#iface && candidates.length > 0) {
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
    const order: EbpfMode[] = this.#cfg.mode === 'auto' ? [...MODES] : [this.#cfg.mode, 'off'];
    await this.#enter(order, 0);
  }

  #noInterfaceReason(): string {
    if (!this.#relay) return 'no linux relay configured';
    return `no interface holds ${[this.#relay.ipv4, this.#relay.ipv6].filter(Boolean).join(' or ')} (set ebpf.interface)`;
  }

  async #enter(order: EbpfMode[], i: number): Promise<void> {
    if (this.#stopped) return;
    const mode = order[i] ?? 'off';
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
    this.#setMode(mode, this.#iface ?? relayDevices(this.#devices)[0]?.name ?? '');
    if (mode === 'xdp' || mode === 'capture') this.#spawn(order, i);
    if (mode === 'kernel') this.#setConnected(relayDevices(this.#devices).some((d) => d.up));
    if (mode === 'off') this.#ctx.log.warn(`ebpf: off (${this.#skipped.join('; ')})`);
    else this.#ctx.log.info(`ebpf: mode ${mode} on ${this.#session.target}${this.#skipped.length ? ` (${this.#skipped.join('; ')})` : ''}`);
  }

  #setMode(mode: EbpfMode, target: string): void {
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
      const args = ['--ifname', iface, '--port', String(this.#cfg.port), '--map-size', String(this.#cfg.mapSize), '--snapshot-ms', String(this.#cfg.snapshotMs)];
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
    if (this.#stopped) return;
    await this.#refreshKernel();
    if (this.#mode === 'kernel') this.#setConnected(relayDevices(this.#devices).some((d) => d.up));
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

  status(): CollectorStatus {
    const now = this.#ctx.clock.now();
    const active = this.table.active(now);
    const status = {
      collector: 'ebpf',
      mode: this.#mode,
      ...(this.#skipped.length ? { modeReason: this.#skipped.join('; ') } : {}),
      /** modeReason, one entry per mode passed over. */
      modeReasons: [...this.#skipped],
      sessions: [{ ...this.#session }],
      tunnels: { active: active.tunnels, activeAddresses: active.addresses, entries: this.table.size },
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
  }
}

/** Why tcpdump cannot capture here at all, or null when a restart may help. */
export function captureExitReason(stderr: string, spawnError?: string): string | null {
  if (spawnError && /ENOENT/.test(spawnError)) return 'tcpdump not found';
  if (/permission|not permitted/i.test(stderr)) return `no permission to capture: ${stderr.trim().split('\n').pop()}`;
  return null;
}
