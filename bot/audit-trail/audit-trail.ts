/**
 * The bot's audit trail: every command, decision, approval, vote, execution and result, appended
 * to a hash-chained table in PostgreSQL that the bot writes itself (so it works while the Audit
 * Engine is down), with a local spool file for when PostgreSQL is not there.
 *
 * Two ways to append, for the two things the issue asks:
 * - `append` never loses a record of what happened: written to the chain when PostgreSQL answers,
 *   otherwise flushed to the spool before it returns, and replayed into the chain in order later.
 * - `appendToChain` is the gate of an escalated action: it resolves only once the record is in
 *   the chain, and refuses (AuditTrailUnavailableError, nothing spooled) otherwise. The action
 *   runs only after it resolved, so an escalated action never runs unrecorded.
 * `available()` answers the same question in advance, for refusing early and for `/acgs can`.
 */
import type pg from 'pg';
import { DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT } from '../../commands/ports.js';
import type { SignedCheckpoint } from '../../services/audit-engine/checkpoint-ledger.js';
import type { AuditOutbox } from '../../services/kit/audit-outbox.js';
import { forwardGovernanceRecord } from './governance-forwarding.js';
import type { TrailCheckpointSettings } from './trail-checkpoints.js';
import { createDatabaseState } from './trail-database-state.js';
import { AuditTrailUnavailableError, describeFailure, withTimeout } from './trail-failures.js';
import { type AppendReceipt, createAppendQueue } from './trail-append-queue.js';
import { createTrailIntegrity } from './trail-integrity.js';
import { createLossLedger, type TrailLoss } from './trail-losses.js';
import { type PendingRecord, type TrailRecord, type TrailRecordInput, prepareRecord } from './trail-record.js';
import { type SpoolReplay, createSpoolReplay } from './trail-replay.js';
import { type TrailSpool, openTrailSpool } from './trail-spool.js';
import { type ChainReceipt, type TrailQueryFilter, createTrailStore } from './trail-store.js';
import type { TrailVerification, TrailVerifyScope } from './trail-verifier.js';

export interface TrailLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface AuditTrailOptions {
  pool: pg.Pool;
  /** One directory per bot process (claimed with a lock file); the spool is `trail.jsonl` in it. */
  spoolDir: string;
  /** When given, governance records are also sent to the Audit Engine through it. */
  outbox?: Pick<AuditOutbox, 'record'>;
  /** How long a write may take before PostgreSQL counts as unavailable. Default 5 s. */
  writeTimeoutMs?: number;
  /** First and longest pause between replay attempts while PostgreSQL is down. Defaults 250 ms and 30 s. */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Records per transaction when replaying the spool. Default 200. */
  batchSize?: number;
  /** How long a successful write or probe vouches for PostgreSQL in `available()`. Default 1 s. */
  freshForMs?: number;
  log?: TrailLog;
  /** Signed checkpoints of the trail (README.md, "Signed checkpoints"); without, none are made or checked. */
  checkpoints?: TrailCheckpointSettings;
}

// Declared beside the checkpoints, which read it (no cycle between the two files).
export type { TrailCheckpointSettings };

export type { AppendReceipt };

export type TrailAvailability =
  | { ok: true }
  | {
      ok: false;
      /** A sentence to show with the refusal. */
      reason: string;
      /** Records waiting in the local spool. */
      waiting: number;
    };

export interface TrailStatus {
  database: 'unknown' | 'up' | 'down';
  initialized: boolean;
  /** Records in the spool, not yet in the chain. */
  waiting: number;
  /** Records the database refused as data (kept in `unstorable.jsonl`); should stay 0. */
  unstorable: number;
  /**
   * Records this process could store nowhere (PostgreSQL away, spool not writable); absent when
   * none. `unnoted` of them are not yet named by a `records_lost` note in the trail.
   */
  lost?: TrailLoss & { unnoted: number };
  lastError?: string;
}

export interface TrailQuery extends Partial<Omit<TrailQueryFilter, 'limit'>> {
  limit?: number;
}

export interface TrailQueryResult {
  records: TrailRecord[];
  /** More records match than were returned; page with `beforeSequence` = last record's sequence. */
  more: boolean;
  /** Records still in the local spool, not yet in the chain (not part of `records`). */
  waiting: number;
}

export interface AuditTrail {
  /** Claims the spool, migrates and replays what an earlier run left; never fails because PostgreSQL is down. */
  start(): Promise<void>;
  append(input: TrailRecordInput): Promise<AppendReceipt>;
  appendToChain(input: TrailRecordInput): Promise<{ stored: 'chain' } & ChainReceipt>;
  available(): Promise<TrailAvailability>;
  status(): TrailStatus;
  query(filter?: TrailQuery): Promise<TrailQueryResult>;
  /**
   * `checkpoint` (the default of `audit verify`): against the signed checkpoints, then the records
   * written since the newest one; `full` (the default here): every record from the genesis too.
   * Calls made while one runs share it.
   */
  verify(options?: { scope?: TrailVerifyScope }): Promise<TrailVerification & { waiting: number }>;
  /** Signs the head now when it moved since the last checkpoint (also done by itself and at close). */
  checkpoint?(): Promise<SignedCheckpoint[]>;
  /** Replays the spool now; rejects when PostgreSQL still does not take it. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

// The refusal is the audit-log port's error (trail-failures.ts); the query limits are the port's
// too (commands/ports.ts): `audit --limit` is checked against them.
export { AuditTrailUnavailableError, DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT };

/**
 * Composes the trail: the store (trail-store.ts), the spool and its replay (trail-spool.ts,
 * trail-replay.ts), the appends on their way to the chain (trail-append-queue.ts), checkpoints and
 * verification (trail-integrity.ts), and says which to use when.
 */
export function createAuditTrail(options: AuditTrailOptions): AuditTrail {
  const store = createTrailStore(options.pool);
  const writeTimeoutMs = options.writeTimeoutMs ?? 5000;
  const batchSize = options.batchSize ?? 200;
  const freshForMs = options.freshForMs ?? 1000;
  const log = options.log;

  let spool: TrailSpool | undefined;
  let replay: SpoolReplay | undefined;
  const waiting = (): number => spool?.size() ?? 0;
  const database = createDatabaseState(waiting, log);
  const losses = createLossLedger(log);
  let lossNote: Promise<void> | undefined;
  let spoolClosed = false;
  let closed = false;
  const initialized = (): boolean => replay?.initialized() ?? false;

  const integrity = createTrailIntegrity({
    pool: options.pool,
    store,
    checkpoints: options.checkpoints,
    outbox: options.outbox,
    log,
    canSign: () => ({ initialized: initialized(), databaseDown: database.state() === 'down' }),
    closed: () => closed,
  });

  function opened(): { spool: TrailSpool; replay: SpoolReplay } {
    if (!spool || !replay) throw new Error('the audit trail is not started: call start() first');
    return { spool, replay };
  }

  /** While anything waits in the spool, or PostgreSQL is known to be down, new records queue behind it. */
  function spoolFirst(): boolean {
    return replay?.spoolFirst() ?? true;
  }

  function drain(): Promise<void> {
    try {
      return opened().replay.drain();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  const appends = createAppendQueue({
    store,
    database,
    batchSize,
    writeTimeoutMs,
    spoolFirst,
    spool: spoolNow,
    refusal: unavailable,
    onChained: (count) => integrity.noteChained(count),
  });

  function unavailable(): AuditTrailUnavailableError {
    const count = waiting();
    const backlog = count > 0 ? ` ${count} record${count === 1 ? ' is' : 's are'} waiting in the local spool.` : '';
    return new AuditTrailUnavailableError(
      `The bot's audit trail cannot be written to PostgreSQL (${database.lastError() ?? 'not started'}), so escalated actions are refused until it is back.${backlog}`,
    );
  }

  function spoolNow(record: PendingRecord): AppendReceipt {
    const started = opened();
    started.spool.keep(record, database.lastError());
    started.replay.schedule();
    return { stored: 'spool', key: record.idempotency_key, waiting: waiting() };
  }

  /** Once records can be stored again, the trail itself says how many were lost before (trail-losses.ts). */
  function noteLosses(): void {
    const note = spoolClosed ? undefined : losses.nextNote();
    if (note) lossNote = appends.enqueue(note.record, false).then(() => note.settle(true), () => note.settle(false));
  }

  function forward(record: PendingRecord): void {
    if (!options.outbox) return;
    try {
      forwardGovernanceRecord(options.outbox, record);
    } catch (error) {
      // The record itself is safe in the trail; only the copy for the Audit Engine is missing.
      log?.error({ err: error, key: record.idempotency_key }, 'audit trail: could not hand a governance record to the Audit Engine outbox');
    }
  }

  function assertOpen(): void {
    if (closed) throw new Error('the audit trail is closed');
    opened();
  }

  return {
    async start() {
      if (spool) return;
      spool = openTrailSpool({ dir: options.spoolDir, losses, log });
      replay = createSpoolReplay({
        store,
        spool,
        database,
        writeTimeoutMs,
        retryMinMs: options.retryMinMs ?? 250,
        retryMaxMs: options.retryMaxMs ?? 30_000,
        batchSize,
        log,
        onChained: (count) => integrity.noteChained(count),
        onCaughtUp: noteLosses,
      });
      if (spool.size() > 0) log?.info({ waiting: spool.size() }, 'audit trail: replaying records spooled by an earlier run');
      await drain().catch(() => undefined);
      integrity.start();
    },

    async append(input) {
      assertOpen();
      const record = prepareRecord(input);
      const receipt = !appends.busy() && spoolFirst() ? spoolNow(record) : await appends.enqueue(record, false);
      noteLosses();
      forward(record);
      return receipt;
    },

    async appendToChain(input) {
      assertOpen();
      const record = prepareRecord(input);
      for (let attempt = 0; attempt < 2 && spoolFirst(); attempt += 1) {
        try {
          await drain();
        } catch {
          throw unavailable();
        }
      }
      if (spoolFirst()) throw unavailable();
      const receipt = await appends.enqueue(record, true);
      forward(record);
      return receipt as { stored: 'chain' } & ChainReceipt;
    },

    async available() {
      if (closed || !spool || !replay) return { ok: false, reason: 'The audit trail is not running.', waiting: waiting() };
      try {
        if (spoolFirst()) await drain();
        else if (!database.answeredWithin(freshForMs)) {
          await withTimeout(store.head(), writeTimeoutMs);
          database.markUp();
        }
        return { ok: true };
      } catch (error) {
        database.markDown(error);
        replay.schedule();
        return { ok: false, reason: unavailable().message, waiting: waiting() };
      }
    },

    status: () => ({
      database: database.state(),
      initialized: initialized(),
      waiting: waiting(),
      unstorable: spool?.unstorable() ?? 0,
      ...(losses.total() ? { lost: losses.total()! } : {}),
      ...(database.lastError() ? { lastError: database.lastError()! } : {}),
    }),

    async query(filter = {}) {
      const limit = filter.limit ?? DEFAULT_QUERY_LIMIT;
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_QUERY_LIMIT) {
        throw new RangeError(`limit must be a whole number from 1 to ${MAX_QUERY_LIMIT} (got ${limit})`);
      }
      if (filter.since !== undefined && Number.isNaN(filter.since.getTime())) throw new RangeError('since must be a valid time');
      try {
        const result = await store.query({ ...filter, limit });
        return { ...result, waiting: waiting() };
      } catch (error) {
        throw new AuditTrailUnavailableError(`The bot's audit trail cannot be read: ${describeFailure(error)}.`, { cause: error });
      }
    },

    async verify(verifyOptions = {}) {
      try {
        return { ...(await integrity.verify(verifyOptions.scope ?? 'full')), waiting: waiting() };
      } catch (error) {
        throw new AuditTrailUnavailableError(`The bot's audit trail cannot be verified: ${describeFailure(error)}.`, { cause: error });
      }
    },

    checkpoint: () => integrity.checkpoint(),

    flush: () => drain(),

    async close() {
      if (closed) return;
      closed = true;
      replay?.stop();
      await appends.settled();
      // A last chance for the spool while PostgreSQL answers; what stays there is replayed at the next start.
      // Unnoted losses try PostgreSQL even when it was last seen down: the note must outlive this run.
      const unnotedLosses = (losses.total()?.unnoted ?? 0) > 0;
      if (spool && initialized() && (database.state() !== 'down' || unnotedLosses) && (spool.size() > 0 || unnotedLosses)) await drain().catch(() => undefined);
      await replay?.running()?.catch(() => undefined);
      noteLosses();
      await lossNote;
      await integrity.close();
      spoolClosed = true;
      spool?.close();
    },
  };
}
