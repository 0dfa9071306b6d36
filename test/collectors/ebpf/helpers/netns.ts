// A network namespace joined to the host by a veth pair, made for one test and removed after.
// The host end is the relay's interface (the loader attaches there); the namespace end plays
// the gateways.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function ip(...args: string[]): Promise<string> {
  const { stdout } = await run('ip', args, { timeout: 10_000 });
  return stdout;
}

/**
 * A read-only listing (bpftool, tc, ip ... show), tried up to three times: bpftool walks every
 * program and link in the kernel, and other test files load and unload theirs meanwhile.
 */
async function show(cmd: string, args: string[]): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await run(cmd, args, { timeout: 10_000 })).stdout;
    } catch (err) {
      if (attempt === 3) throw new Error(`${cmd} ${args.join(' ')}: ${(err as { stderr?: string }).stderr || err}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export interface VethPair {
  ns: string;
  hostIf: string;
  nsIf: string;
  hostIfindex: number;
  hostMac: string;
  nsMac: string;
  host4: string;
  ns4: string;
  host6: string;
  ns6: string;
  destroy(): Promise<void>;
}

let counter = 0;

/** Unique per run: pid, a counter and random bits (interface names stay within 15 bytes). */
export async function createVethPair(): Promise<VethPair> {
  const tag = `${(process.pid % 1000).toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}`;
  const ns = `driad-ebpf-${tag}`;
  const hostIf = `dh${tag}`;
  const nsIf = `dn${tag}`;
  const octet = 1 + (randomBytes(1)[0]! % 250);
  const sub = 1 + (randomBytes(1)[0]! % 250);
  const pair = {
    ns,
    hostIf,
    nsIf,
    host4: `10.${octet}.${sub}.1`,
    ns4: `10.${octet}.${sub}.2`,
    host6: `fd00:${octet.toString(16)}:${sub.toString(16)}::1`,
    ns6: `fd00:${octet.toString(16)}:${sub.toString(16)}::2`,
  };
  const destroy = async () => {
    await ip('link', 'del', hostIf).catch(() => {});
    await ip('netns', 'del', ns).catch(() => {});
  };
  try {
    await ip('netns', 'add', ns);
    await ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    await ip('link', 'set', nsIf, 'netns', ns);
    await ip('addr', 'add', `${pair.host4}/24`, 'dev', hostIf);
    await ip('addr', 'add', `${pair.host6}/64`, 'dev', hostIf, 'nodad');
    await ip('link', 'set', hostIf, 'up');
    await ip('-n', ns, 'addr', 'add', `${pair.ns4}/24`, 'dev', nsIf);
    await ip('-n', ns, 'addr', 'add', `${pair.ns6}/64`, 'dev', nsIf, 'nodad');
    await ip('-n', ns, 'link', 'set', nsIf, 'up');
    await ip('-n', ns, 'link', 'set', 'lo', 'up');
    const nsMac = (await ip('-n', ns, '-j', 'link', 'show', 'dev', nsIf)).match(/"address":"([0-9a-f:]{17})"/)![1]!;
    return {
      ...pair,
      hostIfindex: Number(readFileSync(`/sys/class/net/${hostIf}/ifindex`, 'utf8')),
      hostMac: readFileSync(`/sys/class/net/${hostIf}/address`, 'utf8').trim(),
      nsMac,
      destroy,
    };
  } catch (err) {
    await destroy();
    throw err;
  }
}

/** Whether this kernel has 802.1Q VLAN devices (CONFIG_VLAN_8021Q), tried on a throwaway veth. */
export async function kernelHasVlanDevices(): Promise<boolean> {
  const name = `dv${process.pid.toString(36)}${randomBytes(2).toString('hex')}`;
  try {
    await ip('link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`);
    await ip('link', 'add', 'link', name, 'name', `${name}.1`, 'type', 'vlan', 'id', '1');
    return true;
  } catch {
    return false;
  } finally {
    await ip('link', 'del', name).catch(() => {});
  }
}

/** Adds VLAN `vid` sub-interfaces on both ends with their own addresses (needs hasVlanDevices). */
export async function addVlan(pair: VethPair, vid: number): Promise<{ host4: string; ns4: string; host6: string; ns6: string }> {
  const net = `10.${200 + (vid % 50)}.${vid % 250}`;
  const v6 = `fd01:${vid.toString(16)}::`;
  const addrs = { host4: `${net}.1`, ns4: `${net}.2`, host6: `${v6}1`, ns6: `${v6}2` };
  await ip('link', 'add', 'link', pair.hostIf, 'name', `${pair.hostIf}.v`, 'type', 'vlan', 'id', String(vid));
  await ip('addr', 'add', `${addrs.host4}/24`, 'dev', `${pair.hostIf}.v`);
  await ip('addr', 'add', `${addrs.host6}/64`, 'dev', `${pair.hostIf}.v`, 'nodad');
  await ip('link', 'set', `${pair.hostIf}.v`, 'up');
  await ip('-n', pair.ns, 'link', 'add', 'link', pair.nsIf, 'name', `${pair.nsIf}.v`, 'type', 'vlan', 'id', String(vid));
  await ip('-n', pair.ns, 'addr', 'add', `${addrs.ns4}/24`, 'dev', `${pair.nsIf}.v`);
  await ip('-n', pair.ns, 'addr', 'add', `${addrs.ns6}/64`, 'dev', `${pair.nsIf}.v`, 'nodad');
  await ip('-n', pair.ns, 'link', 'set', `${pair.nsIf}.v`, 'up');
  return addrs;
}

/** The XDP program id on an interface, or null (from `ip -j link show`). */
export async function xdpProgramOn(ifname: string): Promise<number | null> {
  const [link] = JSON.parse(await show('ip', ['-j', '-d', 'link', 'show', 'dev', ifname])) as { xdp?: { prog?: { id: number } } }[];
  return link?.xdp?.prog?.id ?? null;
}

/**
 * BPF links holding these programs, by type ('xdp', 'tcx'), from `bpftool link show` (whose
 * older versions print no interface for XDP links and a number, 11, for tcx ones).
 */
export async function bpfLinksOf(programIds: number[]): Promise<string[]> {
  const links = JSON.parse(await show('bpftool', ['-j', 'link', 'show'])) as { type: string | number; prog_id: number }[];
  return links.filter((l) => programIds.includes(l.prog_id)).map((l) => (l.type === 11 ? 'tcx' : String(l.type)));
}

/** Whether the kernel still holds these programs at all. */
export async function programsLoaded(programIds: number[]): Promise<number[]> {
  return (JSON.parse(await show('bpftool', ['-j', 'prog', 'show'])) as { id: number }[]).map((p) => p.id).filter((id) => programIds.includes(id));
}

/** Classic tc egress filters on an interface. */
export async function tcEgressFilters(ifname: string): Promise<string> {
  return (await show('tc', ['filter', 'show', 'dev', ifname, 'egress'])).trim();
}
