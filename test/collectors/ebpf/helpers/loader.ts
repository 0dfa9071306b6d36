// Runs driad-amt-loader and reads its newline-delimited JSON.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { until } from '../../../helpers/until.ts';

export const LOADER = join(dirname(fileURLToPath(import.meta.url)), '../../../../src/collectors/ebpf/build/driad-amt-loader');

export type Line = Record<string, any> & { type: string };

export interface Run {
  child: ChildProcess;
  lines: Line[];
  stderr(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  /** Waits until a line matches; throws with the output so far when none does in `ms`. */
  waitFor(match: (line: Line) => boolean, ms?: number): Promise<Line>;
  /** The last complete snapshot: its gateway and gone lines and the summary line. */
  lastSnapshot(): { gateways: Line[]; gone: Line[]; summary: Line } | null;
  events(type: string): Line[];
  /** Asks for a snapshot of every entry now (stdin "full"), and returns it. */
  fullSnapshot(): Promise<{ gateways: Line[]; gone: Line[]; summary: Line }>;
  /** Stops it: 'eof' closes stdin, otherwise the signal. Resolves with the exit code. */
  stop(how?: 'eof' | NodeJS.Signals): Promise<number | string>;
}

/** `withoutCapabilities`: run it as root with an empty capability bounding set (setpriv). */
export function startLoader(args: string[], opts: { withoutCapabilities?: boolean } = {}): Run {
  const child = opts.withoutCapabilities
    ? spawn('setpriv', ['--bounding-set=-all', '--inh-caps=-all', '--', LOADER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    : spawn(LOADER, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: Line[] = [];
  let err = '';
  let partial = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    partial += chunk;
    let nl;
    while ((nl = partial.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(partial.slice(0, nl)) as Line);
      partial = partial.slice(nl + 1);
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (err += chunk));
  child.stdin!.on('error', () => {});
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
    child.on('error', (e) => {
      err += `cannot run ${LOADER}: ${e.message}`;
      resolve(`spawn failed: ${e.message}`);
    });
  });
  let exitedYet = false;
  void exited.then(() => (exitedYet = true));

  const snapshotEnding = (from: number) => {
    for (let i = lines.length - 1; i >= from; i--) if (lines[i]!.type === 'snapshot') return i;
    return -1;
  };
  const snapshotAt = (end: number) => {
    const summary = lines[end]!;
    const body = lines.filter((l) => (l.type === 'gateway' || l.type === 'gone') && l.seq === summary.seq);
    return { gateways: body.filter((l) => l.type === 'gateway'), gone: body.filter((l) => l.type === 'gone'), summary };
  };
  const run: Run = {
    child,
    lines,
    stderr: () => err,
    exited,
    async waitFor(match, ms = 20_000) {
      let found: Line | undefined;
      const ok = await until(async () => {
        found = lines.find(match);
        return found !== undefined || exitedYet;
      }, ms);
      if (!ok || !found)
        throw new Error(`no matching loader line within ${ms} ms; stderr: ${err.trim()}; last lines: ${JSON.stringify(lines.slice(-3))}`);
      return found;
    },
    lastSnapshot() {
      const end = snapshotEnding(0);
      return end < 0 ? null : snapshotAt(end);
    },
    events: (type) => lines.filter((l) => l.type === type),
    async fullSnapshot() {
      const from = lines.length;
      child.stdin!.write('full\n');
      const summary = await run.waitFor((l) => l.type === 'snapshot' && l.full === true && lines.indexOf(l) >= from);
      return snapshotAt(lines.indexOf(summary));
    },
    async stop(how = 'SIGTERM') {
      if (!exitedYet) {
        if (how === 'eof') child.stdin!.end();
        else child.kill(how);
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  return run;
}

export type Capability = { run: true } | { run: false; skip: boolean; reason: string };

/**
 * Whether the tests can run: the loader's own --probe says whether this machine can load BPF.
 * Only a machine that cannot (no permission: exit 3; kernel without the features: exit 4) is
 * skipped; a missing build or any other failure on a capable machine fails the tests.
 */
export async function probeLoader(): Promise<Capability> {
  if (!existsSync(LOADER)) {
    const reason = `${LOADER} is not built (bash scripts/build-native.sh needs clang, bpftool and libbpf-dev)`;
    return { run: false, skip: process.getuid?.() !== 0, reason };
  }
  const run = startLoader(['--probe']);
  const code = await run.exited;
  if (code === 0) return { run: true };
  return { run: false, skip: code === 3 || code === 4, reason: `driad-amt-loader --probe exited ${code}: ${run.stderr().trim()}` };
}
