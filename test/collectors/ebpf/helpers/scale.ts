// Hundreds of gateways in the test's namespace running whole tunnel lifecycles against the relay
// simulator on the host end (test/sim/amt-relay/), and the generator's ledger compared with what
// the collector's tunnel table holds. Shared by the XDP and capture runs of collector-scale.test.ts.
import type { ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { canonicalIp } from '../../../../src/amt/inet.ts';
import { KINDS, type TunnelTable } from '../../../../src/collectors/ebpf/tunnel-table.ts';
import { until } from '../../../helpers/until.ts';
import { ledgerTotals, type GatewayPlan, type GeneratorOptions, type LedgerEntry } from '../../../sim/amt-relay/generator.ts';
import { startAmtRelaySim, type AmtRelaySim } from '../../../sim/amt-relay/relay.ts';
import { ip, type VethPair } from './netns.ts';
import { startNsPeer } from './peers.ts';

const GENERATOR = fileURLToPath(new URL('../../../sim/amt-relay/generator-cli.ts', import.meta.url));

export const DATA_PER_GROUP = 2;

export type Fate = 'teardown' | 'expiry' | 'active';

export interface ScalePlan {
  plans: GatewayPlan[];
  fates: Fate[];
}

/**
 * `gateways` gateways: one in five over IPv6 (MLDv2), the others IPv4 (IGMPv3); spread over
 * `v4Addresses` IPv4 and `v6Addresses` IPv6 addresses of the namespace, so each address is
 * shared by many gateways on different ports. Each joins an SSM group, every other one an ASM
 * group too; every third that joined two leaves one. Fates in turn: Teardown, keepalive expiry
 * (stops sending, in the first phase), active, active.
 */
export async function scalePlan(pair: VethPair, gateways: number, v4Addresses: number, v6Addresses: number): Promise<ScalePlan> {
  const [, o2, o3] = pair.ns4.split('.');
  const v6Prefix = pair.ns6.replace(/::2$/, '::');
  const v4 = [pair.ns4];
  const v6 = [pair.ns6];
  for (let i = 1; i < v4Addresses; i++) v4.push(`10.${o2}.${o3}.${100 + i}`);
  for (let i = 1; i < v6Addresses; i++) v6.push(`${v6Prefix}${(0x100 + i).toString(16)}`);
  for (const a of v4.slice(1)) await ip('-n', pair.ns, 'addr', 'add', `${a}/24`, 'dev', pair.nsIf);
  for (const a of v6.slice(1)) await ip('-n', pair.ns, 'addr', 'add', `${a}/64`, 'dev', pair.nsIf, 'nodad');
  const plans: GatewayPlan[] = [];
  const fates: Fate[] = [];
  const perFamily = { v4: 0, v6: 0 };
  for (let i = 0; i < gateways; i++) {
    const six = i % 5 === 4;
    const n = six ? perFamily.v6++ : perFamily.v4++;
    const ssm = six
      ? { group: `ff3e::10:${i.toString(16)}`, source: `2001:db8:7::${(1 + (i % 50)).toString(16)}` }
      : { group: `232.10.${i >> 8}.${i & 0xff}`, source: `198.51.100.${1 + (i % 50)}` };
    const groups = i % 2 === 0 ? [ssm, { group: six ? `ff0e::${(1 + (i % 4)).toString(16)}` : `239.1.1.${1 + (i % 4)}` }] : [ssm];
    const fate: Fate = (['teardown', 'expiry', 'active', 'active'] as const)[i % 4]!;
    const addresses = six ? v6 : v4;
    plans.push({ address: canonicalIp(addresses[n % addresses.length]!)!, port: 40000 + i, groups, leave: groups.length > 1 && i % 3 === 0 ? 1 : 0, teardown: fate === 'teardown' });
    fates.push(fate);
  }
  return { plans, fates };
}

/**
 * Until tcpdump captures: one datagram that is not AMT (a single byte) to the relay's port every
 * 100 ms from the namespace, until the table counts one as malformed (type 0: `amt-unknown-type`).
 */
export async function captureLive(pair: VethPair, table: TunnelTable): Promise<boolean> {
  const peer = startNsPeer(pair);
  try {
    return await until(async () => {
      await peer.send({ address: pair.ns4, port: 39999 }, { address: pair.host4, port: 2268 }, Buffer.from([0]));
      await new Promise((r) => setTimeout(r, 100));
      return table.malformed.size > 0;
    }, 10_000);
  } finally {
    await peer.close();
  }
}

/** The relay on the host end: the simulator on port 2268 of each address, with one secret. */
export async function startRelays(pair: VethPair): Promise<{ v4: AmtRelaySim; v6: AmtRelaySim; close(): Promise<void> }> {
  const secret = randomBytes(32);
  const data = { packets: DATA_PER_GROUP, bytes: 100 };
  const v4 = await startAmtRelaySim({ host: pair.host4, port: 2268, secret, data });
  const v6 = await startAmtRelaySim({ host: pair.host6, port: 2268, secret, data });
  return { v4, v6, close: async () => void (await Promise.all([v4.close(), v6.close()])) };
}

/** Runs generator-cli.ts inside the namespace for these gateways (one family per call); resolves with its ledger. */
export function generateInNamespace(pair: VethPair, plans: GatewayPlan[], options: GeneratorOptions): Promise<LedgerEntry[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', pair.ns, process.execPath, GENERATOR], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    // 'close', not 'exit': the ledger can still be in the pipe when the process has exited.
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`generator exited ${code ?? signal}: ${err.trim()}`));
      try {
        resolve((JSON.parse(out) as { ledger: LedgerEntry[] }).ledger);
      } catch (e) {
        reject(new Error(`generator printed no ledger: ${(e as Error).message}; stderr: ${err}`));
      }
    });
    child.stdin.end(JSON.stringify({ options, plans }));
  });
}

/** One phase: the IPv4 and IPv6 gateways of `which` at the same time, against their relays. */
export async function runPhase(pair: VethPair, plan: ScalePlan, which: (f: Fate) => boolean): Promise<LedgerEntry[]> {
  const pick = (six: boolean) => plan.plans.filter((p, i) => which(plan.fates[i]!) && p.address.includes(':') === six);
  const options = (relay: string): GeneratorOptions => ({ relay: { address: relay, port: 2268 }, dataPerGroup: DATA_PER_GROUP, concurrency: 24, timeoutMs: 10_000 });
  const [a, b] = await Promise.all([generateInNamespace(pair, pick(false), options(pair.host4)), generateInNamespace(pair, pick(true), options(pair.host6))]);
  return [...a, ...b];
}

const sameTotals = (table: TunnelTable, ledger: LedgerEntry[]): boolean => {
  const want = ledgerTotals(ledger);
  const got = table.totals();
  return KINDS.every((k) => got[k].packets === want[k]!.packets && got[k].bytes === want[k]!.bytes);
};

/** Waits until the table's totals are the ledger's, every message type's packets and bytes. */
export async function tableCaughtUp(t: ExecutionContext, table: TunnelTable, ledger: LedgerEntry[]): Promise<void> {
  const ok = await until(async () => sameTotals(table, ledger), 15_000);
  t.true(ok, `table totals ${JSON.stringify(table.totals())} vs ledger ${JSON.stringify(ledgerTotals(ledger))}`);
}

/**
 * Every gateway of the ledger is one table entry with exactly its counters per message type and
 * its groups, and nothing else is in the table; the relay simulator holds the same tunnels.
 */
export function checkAgainstLedger(t: ExecutionContext, table: TunnelTable, ledger: LedgerEntry[], relays: { v4: AmtRelaySim; v6: AmtRelaySim }): void {
  t.deepEqual(ledger.flatMap((e) => e.errors), [], 'every lifecycle completed');
  t.is(table.size, ledger.length);
  let mismatches = 0;
  for (const e of ledger) {
    const entry = table.get({ address: e.address, port: e.port });
    if (!entry) {
      t.fail(`${e.address}:${e.port} is not in the table`);
      continue;
    }
    const want = { ...e.toRelay, ...e.fromRelay };
    const got = Object.fromEntries(Object.keys(want).map((k) => [k, entry.counters[k as keyof typeof want]]));
    const same = JSON.stringify(got) === JSON.stringify(want) && JSON.stringify([...entry.groups].sort()) === JSON.stringify(e.groups) && entry.tornDown === e.tornDown;
    // One assertion per gateway would flood the report on a failure: the first few in full.
    if (!same && mismatches++ < 5) t.deepEqual({ counters: got, groups: [...entry.groups].sort(), tornDown: entry.tornDown }, { counters: want, groups: e.groups, tornDown: e.tornDown }, `${e.address}:${e.port}`);
  }
  t.is(mismatches, 0, 'gateways whose table entry differs from the ledger');
  const relayTunnels = [...relays.v4.tunnels.values(), ...relays.v6.tunnels.values()].map((x) => `${canonicalIp(x.address)}:${x.port}`).sort();
  t.deepEqual(relayTunnels, ledger.filter((e) => !e.tornDown && e.groups.length > 0).map((e) => `${e.address}:${e.port}`).sort(), 'the relay simulator holds the same tunnels');
}

/** Tunnels by address and port, and distinct addresses, of the ledger entries `keep` selects. */
export function expectedActive(ledger: LedgerEntry[], keep: (e: LedgerEntry) => boolean): { tunnels: number; addresses: number } {
  const kept = ledger.filter(keep);
  return { tunnels: kept.length, addresses: new Set(kept.map((e) => e.address)).size };
}
