// One run of a child process (the loader or tcpdump) whose stdout driad reads.
import { spawn, type ChildProcess } from 'node:child_process';

export interface ChildRun {
  child: ChildProcess;
  /** Resolves once it is gone: its exit code or signal, the tail of its stderr, and a spawn error. */
  exited: Promise<{ code: number | null; signal: string | null; stderr: string; spawnError?: string }>;
  /** Asks it to stop (stdin EOF and SIGTERM), then SIGKILL after `graceMs`; resolves when it is gone. */
  stop(graceMs?: number): Promise<void>;
}

const STDERR_KEPT = 4096;

export function runChild(command: string, args: string[], onStdout: (chunk: Buffer) => void): ChildRun {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let spawnError: string | undefined;
  child.stdout!.on('data', onStdout);
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (stderr = (stderr + d).slice(-STDERR_KEPT)));
  child.stdin!.on('error', () => {});
  child.stdout!.on('error', () => {});
  const exited = new Promise<{ code: number | null; signal: string | null; stderr: string; spawnError?: string }>((resolve) => {
    child.on('error', (err) => {
      spawnError = err.message;
      // A process that never started emits no 'close'.
      if (child.pid === undefined) resolve({ code: null, signal: null, stderr, spawnError });
    });
    child.on('close', (code, signal) => resolve({ code, signal, stderr, spawnError }));
  });
  let gone = false;
  void exited.then(() => (gone = true));
  return {
    child,
    exited,
    async stop(graceMs = 3000) {
      if (gone) return;
      child.stdin!.end();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
