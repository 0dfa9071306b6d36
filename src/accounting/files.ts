import { open, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Flushes a directory's entries (a created, renamed or deleted file) to disk. */
export async function fsyncDirectory(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Replaces `path` with `text` so that a crash leaves the old or the new content, never a mix. */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, text, { flush: true });
  await rename(tmp, path);
  await fsyncDirectory(dirname(path));
}

/** At most one log line per key per interval, with how many were held back since the last. */
export class LogLimiter {
  readonly #intervalMs: number;
  readonly #last = new Map<string, { at: number; suppressed: number }>();

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** Calls `emit(suppressed)` unless a line for `key` went out less than an interval ago. */
  once(key: string, emit: (suppressed: number) => void): void {
    const now = performance.now();
    const entry = this.#last.get(key);
    if (entry && now - entry.at < this.#intervalMs) {
      entry.suppressed++;
      return;
    }
    emit(entry?.suppressed ?? 0);
    this.#last.set(key, { at: now, suppressed: 0 });
  }
}
