import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level = process.env.DRIAD_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: 'driad', level, base: { pid: process.pid } });
}

/** A logger that drops everything; for tests and benches that do not read logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
