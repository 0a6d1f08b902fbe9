/**
 * Brings the chain up to date with the spool: the trail's migrations if they have not run yet,
 * then the spooled records, oldest first, in batches, each acknowledged only after its transaction
 * committed (a crash in between replays it again; the idempotency keys make that write nothing).
 * While PostgreSQL is away it tries again after a back-off, doubling up to `retryMaxMs`.
 */
import type { TrailDatabaseState } from './trail-database-state.js';
import { isDataError, withTimeout } from './trail-failures.js';
import type { PendingRecord } from './trail-record.js';
import type { TrailSpool } from './trail-spool.js';
import type { TrailStore } from './trail-store.js';

export interface SpoolReplayOptions {
  store: Pick<TrailStore, 'initialize' | 'append' | 'head'>;
  spool: TrailSpool;
  database: TrailDatabaseState;
  writeTimeoutMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** Records per transaction. */
  batchSize: number;
  log?: { info(obj: object, msg: string): void } | undefined;
  /** Records that joined the chain. */
  onChained(count: number): void;
  /** The spool is empty and PostgreSQL answers. */
  onCaughtUp(): void;
}

export interface SpoolReplay {
  /** The migrations ran (in this process). */
  initialized(): boolean;
  /** While anything waits in the spool, or PostgreSQL is known to be down, new records queue behind it. */
  spoolFirst(): boolean;
  /** Replays now; rejects when PostgreSQL does not take it (and a retry is scheduled). */
  drain(): Promise<void>;
  /** The replay in progress, if any. */
  running(): Promise<void> | undefined;
  /** Arms a replay after the current back-off, unless one is armed or running. */
  schedule(): void;
  /** No more replays are armed (a `drain()` still runs). */
  stop(): void;
}

export function createSpoolReplay(options: SpoolReplayOptions): SpoolReplay {
  const { store, spool, database, writeTimeoutMs } = options;
  let initialized = false;
  let draining: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let backoffMs = 0;
  let stopped = false;

  const spoolFirst = () => !initialized || database.state() === 'down' || spool.size() > 0;

  // A one-off replay armed by spooled records or a back-off, not a periodic job: an empty spool wakes nothing.
  function schedule(): void {
    if (stopped || timer || draining) return;
    timer = setTimeout(() => {
      timer = undefined;
      void drain().catch(() => undefined);
    }, backoffMs);
    timer.unref();
  }

  async function replayBatch(batch: PendingRecord[]): Promise<void> {
    try {
      await withTimeout(store.append(batch, writeTimeoutMs), writeTimeoutMs);
    } catch (error) {
      if (!isDataError(error)) throw error;
      if (batch.length === 1) {
        spool.setAside(batch[0]!, error);
        return;
      }
      for (const record of batch) await replayBatch([record]);
    }
  }

  function drain(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    draining ??= (async () => {
      if (!initialized) {
        await withTimeout(store.initialize(), Math.max(writeTimeoutMs, 30_000));
        initialized = true;
      }
      let replayed = 0;
      while (spool.size() > 0) {
        const batch = spool.peek(options.batchSize);
        await replayBatch(batch);
        spool.acknowledge(batch.length);
        replayed += batch.length;
        options.onChained(batch.length);
        database.markUp();
      }
      if (database.state() !== 'up') {
        await withTimeout(store.head(), writeTimeoutMs);
        database.markUp();
      }
      if (replayed > 0) options.log?.info({ replayed }, 'audit trail: spooled records replayed into the chain');
    })()
      .then(
        () => {
          backoffMs = 0;
          options.onCaughtUp();
        },
        (error: unknown) => {
          database.markDown(error);
          backoffMs = Math.min(options.retryMaxMs, backoffMs === 0 ? options.retryMinMs : backoffMs * 2);
          throw error;
        },
      )
      .finally(() => {
        draining = undefined;
        if (spoolFirst()) schedule();
      });
    return draining;
  }

  return {
    initialized: () => initialized,
    spoolFirst,
    drain,
    running: () => draining,
    schedule,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
