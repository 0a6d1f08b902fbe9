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
import { join } from 'node:path';
import type pg from 'pg';
import { AuditLogUnavailableError, DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT } from '../../commands/ports.js';
import type { AuditOutbox } from '../../services/kit/audit-outbox.js';
import type { CheckpointLedger, SignedCheckpoint } from '../../services/audit-engine/checkpoint-ledger.js';
import { type JsonLineSpool, SpoolWriteError, appendWholeLine, openJsonLineSpool } from '../../services/kit/json-line-spool.js';
import { type PeriodicJob, startPeriodicJob } from '../../services/kit/periodic.js';
import { isDatabaseUnavailable } from '../../services/kit/postgres.js';
import { forwardGovernanceRecord } from './governance-forwarding.js';
import { redactText } from './redaction.js';
import { claimSpoolDirectory } from './spool-lock.js';
import { createLossLedger, type TrailLoss } from './trail-losses.js';
import { type PendingRecord, PendingRecordSchema, type TrailRecord, type TrailRecordInput, prepareRecord } from './trail-record.js';
import { createTrailCheckpoints, type TrailCheckpointSettings } from './trail-checkpoints.js';
import { type ChainReceipt, type TrailQueryFilter, createTrailStore } from './trail-store.js';
import { type TrailVerification, type TrailVerifyScope, verifyTrail } from './trail-verifier.js';

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

export type AppendReceipt =
  | ({ stored: 'chain' } & ChainReceipt)
  /** Flushed to the local spool; it joins the chain, in order, once PostgreSQL is back. */
  | { stored: 'spool'; key: string; waiting: number };

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

/**
 * The trail cannot be written to (or read from) PostgreSQL now; the message is safe to show. It is
 * the audit-log port's error, so commands (`audit`) recognise it without importing the bot.
 */
export class AuditTrailUnavailableError extends AuditLogUnavailableError {
  override readonly name = 'AuditTrailUnavailableError';
}

// The query limits are the audit-log port's (commands/ports.ts): `audit --limit` is checked against them.
export { DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT };

interface Job {
  record: PendingRecord;
  requireChain: boolean;
  resolve(receipt: AppendReceipt): void;
  reject(error: unknown): void;
}

class WriteTimeoutError extends Error {
  override readonly name = 'WriteTimeoutError';
}

function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WriteTimeoutError(`PostgreSQL did not answer within ${ms} ms`)), ms);
  });
  // The losing write may still commit later; its records' keys make the replay skip them then.
  work.catch(() => undefined);
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** A failure caused by a record's data, which retrying as it is can never fix. */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^(22|23)/.test(code);
}

function describeFailure(error: unknown): string {
  const message = redactText(error instanceof Error ? error.message || error.name : String(error));
  if (error instanceof WriteTimeoutError) return message;
  return isDatabaseUnavailable(error) ? `PostgreSQL is not reachable (${message})` : `PostgreSQL refused the write (${message})`;
}

export function createAuditTrail(options: AuditTrailOptions): AuditTrail {
  const store = createTrailStore(options.pool);
  const writeTimeoutMs = options.writeTimeoutMs ?? 5000;
  const retryMinMs = options.retryMinMs ?? 250;
  const retryMaxMs = options.retryMaxMs ?? 30_000;
  const batchSize = options.batchSize ?? 200;
  const freshForMs = options.freshForMs ?? 1000;
  const log = options.log;

  let spool: JsonLineSpool<PendingRecord> | undefined;
  let releaseSpool: (() => void) | undefined;
  let initialized = false;
  let database: TrailStatus['database'] = 'unknown';
  let lastError: string | undefined;
  let lastOkAt = 0;
  let unstorable = 0;
  const losses = createLossLedger(log);
  let lossNote: Promise<void> | undefined;
  let spoolClosed = false;
  const queue: Job[] = [];
  let pumping: Promise<void> | undefined;
  let draining: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let backoffMs = 0;
  let closed = false;

  const checkpointSettings = options.checkpoints;
  const ledger: CheckpointLedger | undefined = checkpointSettings
    ? createTrailCheckpoints({
        pool: options.pool,
        store,
        key: checkpointSettings.key,
        ...(checkpointSettings.localFile ? { localFile: checkpointSettings.localFile } : {}),
        ...(options.outbox ? { outbox: options.outbox } : {}),
        ...(checkpointSettings.witness ? { witness: checkpointSettings.witness } : {}),
      })
    : undefined;
  const checkpointEvery = checkpointSettings?.everyRecords ?? 100;
  let sinceCheckpoint = 0;
  let checkpointing: Promise<SignedCheckpoint[]> | undefined;
  let checkpointRounds: PeriodicJob | undefined;
  const verifying = new Map<TrailVerifyScope, Promise<TrailVerification>>();
  /** The last full walk's result: a break it found before the newest checkpoint stays a break. */
  let lastFull: TrailVerification | undefined;
  let fullVerifyRounds: PeriodicJob | undefined;

  /** One run per scope at a time; callers in the meantime share it. */
  function sharedVerify(scope: TrailVerifyScope): Promise<TrailVerification> {
    let run = verifying.get(scope);
    if (!run) {
      run = verifyTrail(store, { scope, ...(ledger ? { checkpoints: () => ledger.check() } : {}) })
        .then((result) => {
          if (scope === 'full') lastFull = result;
          return result;
        })
        .finally(() => verifying.delete(scope));
      verifying.set(scope, run);
    }
    return run;
  }

  /** The background full walk: soon after the start, then `fullVerifyEveryMs` after each walk ends. */
  function startFullVerifyRounds(): PeriodicJob | undefined {
    const everyMs = checkpointSettings?.fullVerifyEveryMs ?? 10 * 60_000;
    if (!ledger || everyMs === 0 || closed) return undefined;
    return startPeriodicJob({
      firstRunAfterMs: 0,
      intervalMs: everyMs,
      run: async () => {
        const result = await sharedVerify('full');
        if (!result.valid) log?.error({ firstBad: result.firstBad }, 'audit trail: the background walk found the trail altered');
      },
      onError: (error) => log?.warn({ reason: describeFailure(error) }, 'audit trail: the background walk could not run'),
    });
  }

  /** One checkpoint at a time; a failure is logged (the next round tries again), never thrown at appends. */
  function checkpointNow(): Promise<SignedCheckpoint[]> {
    if (!ledger || !initialized) return Promise.resolve([]);
    checkpointing ??= (async () => {
      const counted = sinceCheckpoint;
      try {
        const made = await ledger.checkpoint();
        sinceCheckpoint = Math.max(0, sinceCheckpoint - counted);
        return made;
      } catch (error) {
        log?.error({ reason: redactText((error as Error)?.message ?? String(error)) }, 'audit trail: could not sign a checkpoint');
        return [];
      }
    })().finally(() => {
      checkpointing = undefined;
    });
    return checkpointing;
  }

  function noteChained(count: number): void {
    sinceCheckpoint += count;
    if (sinceCheckpoint >= checkpointEvery) void checkpointNow();
  }

  function openedSpool(): JsonLineSpool<PendingRecord> {
    if (!spool) throw new Error('the audit trail is not started: call start() first');
    return spool;
  }

  function waiting(): number {
    return spool?.size() ?? 0;
  }

  function markUp(): void {
    if (database !== 'up' && database !== 'unknown') log?.info({ waiting: waiting() }, 'audit trail: PostgreSQL is back');
    database = 'up';
    lastError = undefined;
    lastOkAt = Date.now();
  }

  function markDown(error: unknown): void {
    const reason = describeFailure(error);
    if (database !== 'down') log?.warn({ reason, waiting: waiting() }, 'audit trail: writing to PostgreSQL failed; records are spooled');
    database = 'down';
    lastError = reason;
  }

  /** While anything waits in the spool, or PostgreSQL is known to be down, new records queue behind it. */
  function spoolFirst(): boolean {
    return !initialized || database === 'down' || waiting() > 0;
  }

  function unavailable(): AuditTrailUnavailableError {
    const count = waiting();
    const backlog = count > 0 ? ` ${count} record${count === 1 ? ' is' : 's are'} waiting in the local spool.` : '';
    return new AuditTrailUnavailableError(
      `The bot's audit trail cannot be written to PostgreSQL (${lastError ?? 'not started'}), so escalated actions are refused until it is back.${backlog}`,
    );
  }

  function spoolNow(record: PendingRecord): AppendReceipt {
    try {
      openedSpool().append(record);
    } catch (error) {
      // Stored nowhere (a full disk while PostgreSQL is away): counted, logged, and the caller told.
      const problem = error instanceof SpoolWriteError ? error.problem : redactText((error as Error)?.message ?? String(error));
      const reason = `${lastError ?? 'PostgreSQL is not available'}, and the local spool could not be written (${problem})`;
      throw new AuditTrailUnavailableError(losses.lost(record, reason), { cause: error });
    }
    scheduleDrain(backoffMs);
    return { stored: 'spool', key: record.idempotency_key, waiting: waiting() };
  }

  /** Once records can be stored again, the trail itself says how many were lost before (trail-losses.ts). */
  function noteLosses(): void {
    const note = spoolClosed ? undefined : losses.nextNote();
    if (note) lossNote = enqueue(note.record, false).then(() => note.settle(true), () => note.settle(false));
  }

  // A one-off drain armed by spooled records or a back-off, not a periodic job: an empty spool wakes nothing.
  function scheduleDrain(delayMs: number): void {
    if (closed || timer || draining) return;
    timer = setTimeout(() => {
      timer = undefined;
      void drain().catch(() => undefined);
    }, delayMs);
    timer.unref();
  }

  /** A record the database refuses as data is kept aside, visibly, so it cannot block the ones behind it. */
  function setAside(record: PendingRecord, error: unknown): void {
    appendWholeLine(join(options.spoolDir, 'unstorable.jsonl'), `${JSON.stringify({ record, error: describeFailure(error) })}\n`);
    unstorable += 1;
    log?.error({ key: record.idempotency_key, reason: describeFailure(error) }, 'audit trail: PostgreSQL refused a record as data; kept in unstorable.jsonl');
  }

  async function replayBatch(batch: PendingRecord[]): Promise<void> {
    try {
      await withTimeout(store.append(batch, writeTimeoutMs), writeTimeoutMs);
    } catch (error) {
      if (!isDataError(error)) throw error;
      if (batch.length === 1) {
        setAside(batch[0]!, error);
        return;
      }
      for (const record of batch) await replayBatch([record]);
    }
  }

  /**
   * Brings the chain up to date: migrations if they have not run yet, then the spool, oldest
   * first, in batches; each batch is acknowledged only after its transaction committed.
   */
  function drain(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    draining ??= (async () => {
      const open = openedSpool();
      if (!initialized) {
        await withTimeout(store.initialize(), Math.max(writeTimeoutMs, 30_000));
        initialized = true;
      }
      let replayed = 0;
      while (open.size() > 0) {
        const batch = open.peek(batchSize);
        await replayBatch(batch);
        open.acknowledge(batch.length);
        replayed += batch.length;
        noteChained(batch.length);
        markUp();
      }
      if (database !== 'up') {
        await withTimeout(store.head(), writeTimeoutMs);
        markUp();
      }
      if (replayed > 0) log?.info({ replayed }, 'audit trail: spooled records replayed into the chain');
    })()
      .then(
        () => {
          backoffMs = 0;
          noteLosses();
        },
        (error: unknown) => {
          markDown(error);
          backoffMs = Math.min(retryMaxMs, backoffMs === 0 ? retryMinMs : backoffMs * 2);
          throw error;
        },
      )
      .finally(() => {
        draining = undefined;
        if (spoolFirst()) scheduleDrain(backoffMs);
      });
    return draining;
  }

  /** Appends waiting in memory or being written: later appends must queue behind them, not overtake them through the spool. */
  function pipelineBusy(): boolean {
    return pumping !== undefined || queue.length > 0;
  }

  /** Spools queued jobs in order; a job that needed the chain is refused instead. */
  function spoolJobs(jobs: Job[]): void {
    for (const job of jobs) {
      if (job.requireChain) {
        job.reject(unavailable());
        continue;
      }
      try {
        job.resolve(spoolNow(job.record));
      } catch (spoolError) {
        job.reject(spoolError);
      }
    }
  }

  /**
   * Writes queued records in batches, one transaction at a time, in the order they were appended.
   * Once anything is in the spool, the rest of the queue follows it there, so nothing overtakes.
   */
  function pump(): void {
    pumping ??= (async () => {
      while (queue.length > 0) {
        if (spoolFirst()) {
          spoolJobs(queue.splice(0));
          break;
        }
        const batch = queue.splice(0, batchSize);
        try {
          const receipts = await withTimeout(
            store.append(
              batch.map((job) => job.record),
              writeTimeoutMs,
            ),
            writeTimeoutMs,
          );
          markUp();
          batch.forEach((job, index) => job.resolve({ stored: 'chain', ...receipts[index]! }));
          noteChained(receipts.filter((receipt) => !receipt.duplicate).length);
        } catch (error) {
          markDown(error);
          spoolJobs([...batch, ...queue.splice(0)]);
        }
      }
    })().finally(() => {
      pumping = undefined;
      // Appended while the last batch settled: handled in order by another round.
      if (queue.length > 0) pump();
    });
  }

  function enqueue(record: PendingRecord, requireChain: boolean): Promise<AppendReceipt> {
    return new Promise((resolve, reject) => {
      queue.push({ record, requireChain, resolve, reject });
      pump();
    });
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
    openedSpool();
  }

  return {
    async start() {
      if (spool) return;
      releaseSpool = claimSpoolDirectory(options.spoolDir);
      try {
        spool = openJsonLineSpool({
          dir: options.spoolDir,
          name: 'trail',
          parse: (value) => PendingRecordSchema.parse(value),
          onUnreadable: (line) => {
            appendWholeLine(join(options.spoolDir, 'unreadable.jsonl'), line);
            log?.error({ bytes: line.length }, 'audit trail: a spool line could not be read back; kept in unreadable.jsonl');
          },
          syncEveryAppend: true,
        });
      } catch (error) {
        releaseSpool();
        throw error;
      }
      if (spool.size() > 0) log?.info({ waiting: spool.size() }, 'audit trail: replaying records spooled by an earlier run');
      await drain().catch(() => undefined);
      if (ledger) {
        // Records written by a run that stopped before its last checkpoint are signed now, in the
        // background: a first checkpoint of a long trail walks it, which must not hold the start.
        void checkpointNow();
        const checkpointEveryMs = checkpointSettings?.everyMs ?? 60_000;
        checkpointRounds = startPeriodicJob({
          firstRunAfterMs: checkpointEveryMs,
          intervalMs: checkpointEveryMs,
          run: () => (sinceCheckpoint > 0 ? checkpointNow() : undefined),
          // checkpointNow logs its own failures and never rejects.
          onError: (error) => log?.error({ reason: describeFailure(error) }, 'audit trail: could not sign a checkpoint'),
        });
        fullVerifyRounds = startFullVerifyRounds();
      }
    },

    async append(input) {
      assertOpen();
      const record = prepareRecord(input);
      const receipt = !pipelineBusy() && spoolFirst() ? spoolNow(record) : await enqueue(record, false);
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
      const receipt = await enqueue(record, true);
      forward(record);
      return receipt as { stored: 'chain' } & ChainReceipt;
    },

    async available() {
      if (closed || !spool) return { ok: false, reason: 'The audit trail is not running.', waiting: waiting() };
      try {
        if (spoolFirst()) await drain();
        else if (Date.now() - lastOkAt > freshForMs) {
          await withTimeout(store.head(), writeTimeoutMs);
          markUp();
        }
        return { ok: true };
      } catch (error) {
        markDown(error);
        scheduleDrain(backoffMs);
        return { ok: false, reason: unavailable().message, waiting: waiting() };
      }
    },

    status: () => ({
      database,
      initialized,
      waiting: waiting(),
      unstorable,
      ...(losses.total() ? { lost: losses.total()! } : {}),
      ...(lastError ? { lastError } : {}),
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
      const scope = verifyOptions.scope ?? 'full';
      const shared = () => sharedVerify(scope);
      try {
        // A run in flight is shared only if it covers the head as this caller finds it (its own
        // records included); one that began earlier is followed by a new run, shared in turn.
        const headNow = store.head();
        headNow.catch(() => undefined);
        let result = await shared();
        if (result.head.sequence < (await headNow).sequence) result = await shared();
        if (scope === 'checkpoint' && result.valid && lastFull && !lastFull.valid && lastFull.firstBad) {
          const note = `the full walk of ${lastFull.checkedAt} found this break before the checkpoint`;
          return { ...result, valid: false, firstBad: lastFull.firstBad, notes: [...(result.notes ?? []), note], waiting: waiting() };
        }
        return { ...result, waiting: waiting() };
      } catch (error) {
        throw new AuditTrailUnavailableError(`The bot's audit trail cannot be verified: ${describeFailure(error)}.`, { cause: error });
      }
    },

    async checkpoint() {
      // After one in flight (which may have started before the caller's records): then a new one.
      await checkpointing;
      return checkpointNow();
    },

    flush: () => drain(),

    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await pumping;
      // A last chance for the spool while PostgreSQL answers; what stays there is replayed at the next start.
      // Unnoted losses try PostgreSQL even when it was last seen down: the note must outlive this run.
      const unnotedLosses = (losses.total()?.unnoted ?? 0) > 0;
      if (spool && initialized && (database !== 'down' || unnotedLosses) && (spool.size() > 0 || unnotedLosses)) await drain().catch(() => undefined);
      await draining?.catch(() => undefined);
      noteLosses();
      await lossNote;
      await checkpointRounds?.stop();
      // A walk in progress (background or requested) finishes before the pool may close.
      await fullVerifyRounds?.stop();
      await verifying.get('full')?.catch(() => undefined);
      // The last records of this run are signed before it stops.
      await checkpointing;
      if (ledger && initialized && database !== 'down' && sinceCheckpoint > 0) await checkpointNow();
      spoolClosed = true;
      spool?.close();
      releaseSpool?.();
    },
  };
}
