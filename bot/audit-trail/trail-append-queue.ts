/**
 * The appends on their way to the chain: written in batches, one transaction at a time, in the
 * order they were made. When a write fails, or anything waits in the spool, the rest of the queue
 * follows into the spool, so nothing overtakes; a job that needed the chain is refused instead.
 */
import type { TrailDatabaseState } from './trail-database-state.js';
import { withTimeout } from './trail-failures.js';
import type { PendingRecord } from './trail-record.js';
import type { ChainReceipt, TrailStore } from './trail-store.js';

export type AppendReceipt =
  | ({ stored: 'chain' } & ChainReceipt)
  /** Flushed to the local spool; it joins the chain, in order, once PostgreSQL is back. */
  | { stored: 'spool'; key: string; waiting: number };

export interface AppendQueueOptions {
  store: Pick<TrailStore, 'append'>;
  database: TrailDatabaseState;
  /** Records per transaction. */
  batchSize: number;
  writeTimeoutMs: number;
  /** True while new records must go to the spool (trail-replay.ts). */
  spoolFirst(): boolean;
  /** Spools a record (throws when it cannot). */
  spool(record: PendingRecord): AppendReceipt;
  /** The refusal of a record that must be in the chain and cannot be now. */
  refusal(): Error;
  /** Records that joined the chain. */
  onChained(count: number): void;
}

export interface AppendQueue {
  /** Resolves once the record is in the chain or the spool; `requireChain`: in the chain, or rejects. */
  enqueue(record: PendingRecord, requireChain: boolean): Promise<AppendReceipt>;
  /** Appends waiting in memory or being written: later appends must queue behind them, not overtake them through the spool. */
  busy(): boolean;
  /** Resolves when the batch being written has settled. */
  settled(): Promise<void>;
}

interface Job {
  record: PendingRecord;
  requireChain: boolean;
  resolve(receipt: AppendReceipt): void;
  reject(error: unknown): void;
}

export function createAppendQueue(options: AppendQueueOptions): AppendQueue {
  const { database, writeTimeoutMs } = options;
  const queue: Job[] = [];
  let pumping: Promise<void> | undefined;

  /** Spools queued jobs in order; a job that needed the chain is refused instead. */
  function spoolJobs(jobs: Job[]): void {
    for (const job of jobs) {
      if (job.requireChain) {
        job.reject(options.refusal());
        continue;
      }
      try {
        job.resolve(options.spool(job.record));
      } catch (spoolError) {
        job.reject(spoolError);
      }
    }
  }

  function pump(): void {
    pumping ??= (async () => {
      while (queue.length > 0) {
        if (options.spoolFirst()) {
          spoolJobs(queue.splice(0));
          break;
        }
        const batch = queue.splice(0, options.batchSize);
        try {
          const receipts = await withTimeout(
            options.store.append(
              batch.map((job) => job.record),
              writeTimeoutMs,
            ),
            writeTimeoutMs,
          );
          database.markUp();
          batch.forEach((job, index) => job.resolve({ stored: 'chain', ...receipts[index]! }));
          options.onChained(receipts.filter((receipt) => !receipt.duplicate).length);
        } catch (error) {
          database.markDown(error);
          spoolJobs([...batch, ...queue.splice(0)]);
        }
      }
    })().finally(() => {
      pumping = undefined;
      // Appended while the last batch settled: handled in order by another round.
      if (queue.length > 0) pump();
    });
  }

  return {
    enqueue(record, requireChain) {
      return new Promise((resolve, reject) => {
        queue.push({ record, requireChain, resolve, reject });
        pump();
      });
    },
    busy: () => pumping !== undefined || queue.length > 0,
    settled: async () => {
      await pumping;
    },
  };
}
