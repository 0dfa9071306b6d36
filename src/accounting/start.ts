/**
 * Starts accounting from the config: the spool and its consumers (the CDNI file writer; a later
 * gRPC export joins the list). Collectors reach it only through `account()`, the accounting sink
 * of their context.
 */
import type { AccountingConfig, Config } from '../config/types.ts';
import type { Logger } from '../telemetry/log.ts';
import type { Metrics } from '../telemetry/metrics.ts';
import { CdniFileWriter, type CdniFileStatus } from './cdni-file.ts';
import type { AccountingRecord } from './records.ts';
import { Spool, SpoolRefused } from './spool.ts';

export interface Accounting {
  /** Resolves once the record is in the spool (written and flushed per accounting.fsync); rejects with SpoolRefused. */
  account(record: AccountingRecord): Promise<void>;
  status(): { enabled: boolean; directory: string | null; lastSeq: number; bytes: number; cdni: CdniFileStatus | null };
  stop(): Promise<void>;
}

export const CDNI_CONSUMER = 'cdni-file';

export async function startAccounting(config: Config, deps: { log: Logger; metrics: Metrics }): Promise<Accounting> {
  const c: AccountingConfig = config.accounting;
  const log = deps.log.child({ component: 'accounting' });
  if (!c.enabled) {
    const refused = new SpoolRefused('disabled', 'accounting is not enabled (accounting.enabled)');
    return {
      account: () => Promise.reject(refused),
      status: () => ({ enabled: false, directory: null, lastSeq: 0, bytes: 0, cdni: null }),
      stop: async () => {},
    };
  }
  const consumers = c.cdni.enabled ? [CDNI_CONSUMER] : [];
  if (consumers.length === 0) throw new Error('config error: accounting.cdni.enabled: accounting needs at least one consumer (the CDNI file writer is the only one so far)');
  const spool = await Spool.open({ ...c, consumers, log, metrics: deps.metrics });
  const cdni = new CdniFileWriter({ ...c.cdni, consumer: spool.consumer(CDNI_CONSUMER), log, metrics: deps.metrics });
  await cdni.start();
  log.info({ directory: spool.directory, lastSeq: spool.lastSeq, fsync: c.fsync }, `accounting spool in ${spool.directory} (fsync ${c.fsync})`);
  return {
    account: async (record) => {
      await spool.append(record as unknown as Parameters<Spool['append']>[0]);
    },
    status: () => ({ enabled: true, directory: spool.directory, lastSeq: spool.lastSeq, bytes: spool.bytes, cdni: cdni.status() }),
    async stop() {
      await cdni.stop();
      await spool.close();
    },
  };
}
