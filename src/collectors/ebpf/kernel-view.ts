// What the kernel itself says about its AMT relay: the `amt` netdevs' configuration from
// netlink (`ip -d -j link show type amt`) and their generic netdev counters from sysfs.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The counters amt.c updates (protocol-facts §6); it adds no tx packet or byte counts itself. */
export const KERNEL_COUNTERS = ['rx_packets', 'rx_bytes', 'rx_dropped', 'tx_packets', 'tx_bytes', 'tx_errors', 'tx_dropped'] as const;

export interface AmtDevice {
  name: string;
  /** operstate up, or the interface flagged UP with an unknown operstate (virtual devices often say UNKNOWN). */
  up: boolean;
  operstate: string;
  mode: 'relay' | 'gateway' | string;
  relayPort: number | null;
  gatewayPort: number | null;
  local: string | null;
  remote: string | null;
  discovery: string | null;
  /** The underlying interface, by name when ip prints it. */
  link: string | null;
  maxTunnels: number | null;
  /**
   * sysfs statistics. tx_dropped is NOT a drop count: amt_dev_xmit's success path for the relay's
   * Membership Queries also increments it, so it is reported as is and never judged.
   */
  counters: Partial<Record<(typeof KERNEL_COUNTERS)[number], number>>;
}

export interface KernelViewOptions {
  /** The ip(8) executable (a test passes a script printing a recorded answer). */
  ipCommand: string;
  /** Where the netdevs' statistics directories are: /sys/class/net. */
  sysfsDir: string;
}

type Obj = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const int = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : null);

/** Parses `ip -d -j link show type amt`; links of another kind are ignored. Throws on text that is not JSON. */
export function parseAmtLinks(json: string): Omit<AmtDevice, 'counters'>[] {
  const trimmed = json.trim();
  if (trimmed === '') return [];
  const links = JSON.parse(trimmed) as unknown;
  if (!Array.isArray(links)) throw new Error('ip -j link did not print a JSON array');
  const out: Omit<AmtDevice, 'counters'>[] = [];
  for (const l of links as Obj[]) {
    const info = (l?.linkinfo ?? {}) as Obj;
    if (info.info_kind !== 'amt' || typeof l.ifname !== 'string') continue;
    const data = (info.info_data ?? {}) as Obj;
    const flags = Array.isArray(l.flags) ? (l.flags as string[]) : [];
    const operstate = typeof l.operstate === 'string' ? l.operstate : 'UNKNOWN';
    out.push({
      name: l.ifname,
      up: operstate === 'UP' || (operstate === 'UNKNOWN' && flags.includes('UP')),
      operstate,
      mode: str(data.mode) ?? 'unknown',
      relayPort: int(data.relay_port),
      gatewayPort: int(data.gateway_port),
      local: str(data.local),
      remote: str(data.remote),
      discovery: str(data.discovery),
      link: str(data.link),
      maxTunnels: int(data.max_tunnels),
    });
  }
  return out;
}

async function readCounters(sysfsDir: string, dev: string): Promise<AmtDevice['counters']> {
  const counters: AmtDevice['counters'] = {};
  await Promise.all(
    KERNEL_COUNTERS.map(async (name) => {
      const text = await readFile(join(sysfsDir, dev, 'statistics', name), 'utf8').catch(() => null);
      const n = text === null ? NaN : Number(text.trim());
      if (Number.isFinite(n)) counters[name] = n;
    }),
  );
  return counters;
}

/** The kernel's amt devices; [] when there is none (or ip knows no such link kind: a kernel without the module). */
export async function readKernelView(o: KernelViewOptions): Promise<AmtDevice[]> {
  let stdout: string;
  try {
    ({ stdout } = await run(o.ipCommand, ['-d', '-j', 'link', 'show', 'type', 'amt'], { timeout: 5000 }));
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '');
    // iproute2 without the amt kind, or a kernel without the module.
    if (/unknown|not supported|No such|Error/i.test(stderr)) return [];
    throw new Error(`${o.ipCommand} -d -j link show type amt: ${stderr.trim() || (err as Error).message}`);
  }
  const links = parseAmtLinks(stdout);
  return Promise.all(links.map(async (l) => ({ ...l, counters: await readCounters(o.sysfsDir, l.name) })));
}

/** The relay devices only (a gateway-mode amt device is a tunnel client, not the relay). */
export function relayDevices(devices: readonly AmtDevice[]): AmtDevice[] {
  return devices.filter((d) => d.mode === 'relay');
}
