/**
 * Verifying and signing the trail while it runs (README.md, "Signed checkpoints"): checkpoints
 * every `everyRecords` records, every `everyMs` while records arrive and at close; a full walk in
 * the background; verify runs shared by the callers that arrive while one is running.
 */
import type pg from 'pg';
import type { CheckpointLedger, SignedCheckpoint } from '../../services/audit-engine/checkpoint-ledger.js';
import type { AuditOutbox } from '../../services/kit/audit-outbox.js';
import { type PeriodicJob, startPeriodicJob } from '../../services/kit/periodic.js';
import { redactText } from './redaction.js';
import { createTrailCheckpoints, type TrailCheckpointSettings } from './trail-checkpoints.js';
import { describeFailure } from './trail-failures.js';
import { createSharedVerification } from '../../services/kit/hash-chain/shared-verification.js';
import type { TrailStore } from './trail-store.js';
import { type TrailBreak, type TrailVerification, type TrailVerifyScope, verifyTrail } from './trail-verifier.js';

export interface TrailIntegrityOptions {
  pool: pg.Pool;
  store: TrailStore;
  /** Without, no checkpoints are made or checked. */
  checkpoints?: TrailCheckpointSettings | undefined;
  outbox?: Pick<AuditOutbox, 'record'> | undefined;
  log?: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void } | undefined;
  /** Whether the trail can be signed now: migrated, and PostgreSQL not known to be down. */
  canSign(): { initialized: boolean; databaseDown: boolean };
  /** The trail was closed (no background walk starts then). */
  closed(): boolean;
}

export interface TrailIntegrity {
  /** Starts the checkpoint rounds and the background full walk. */
  start(): void;
  /** Counts records that joined the chain; signs once `everyRecords` did. */
  noteChained(count: number): void;
  /** Signs the head now (after a signing in flight, which may have begun before the caller's records). */
  checkpoint(): Promise<SignedCheckpoint[]>;
  /** Verifies the trail; see `AuditTrail.verify`. */
  verify(scope: TrailVerifyScope): Promise<TrailVerification>;
  /** Stops the rounds, lets a walk in progress finish, and signs the last records of this run. */
  close(): Promise<void>;
}

export function createTrailIntegrity(options: TrailIntegrityOptions): TrailIntegrity {
  const { store, log } = options;
  const settings = options.checkpoints;
  const ledger: CheckpointLedger | undefined = settings
    ? createTrailCheckpoints({
        pool: options.pool,
        store,
        key: settings.key,
        ...(settings.localFile ? { localFile: settings.localFile } : {}),
        ...(options.outbox ? { outbox: options.outbox } : {}),
        ...(settings.witness ? { witness: settings.witness } : {}),
      })
    : undefined;
  const checkpointEvery = settings?.everyRecords ?? 100;
  let sinceCheckpoint = 0;
  let checkpointing: Promise<SignedCheckpoint[]> | undefined;
  let checkpointRounds: PeriodicJob | undefined;
  let fullWalk: Promise<TrailVerification> | undefined;
  const runs = createSharedVerification<TrailVerification, TrailBreak>({
    verify(scope) {
      const run = verifyTrail(store, { scope, ...(ledger ? { checkpoints: () => ledger.check() } : {}) });
      if (scope === 'full') fullWalk = run;
      return run;
    },
    headSequence: async () => (await store.head()).sequence,
    headOf: (result) => result.head.sequence,
    breakOf: (result) => result.firstBad,
    checkedAt: (result) => result.checkedAt,
    withBreak: (result, broken, note) => ({ ...result, valid: false, firstBad: broken, notes: [...(result.notes ?? []), note] }),
  });
  let fullVerifyRounds: PeriodicJob | undefined;

  /** The background full walk: soon after the start, then `fullVerifyEveryMs` after each walk ends. */
  function startFullVerifyRounds(): PeriodicJob | undefined {
    const everyMs = settings?.fullVerifyEveryMs ?? 10 * 60_000;
    if (!ledger || everyMs === 0 || options.closed()) return undefined;
    return startPeriodicJob({
      firstRunAfterMs: 0,
      intervalMs: everyMs,
      run: async () => {
        const result = await runs.join('full');
        if (!result.valid) log?.error({ firstBad: result.firstBad }, 'audit trail: the background walk found the trail altered');
      },
      onError: (error) => log?.warn({ reason: describeFailure(error) }, 'audit trail: the background walk could not run'),
    });
  }

  /** One checkpoint at a time; a failure is logged (the next round tries again), never thrown at appends. */
  function checkpointNow(): Promise<SignedCheckpoint[]> {
    if (!ledger || !options.canSign().initialized) return Promise.resolve([]);
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

  return {
    start() {
      if (!ledger) return;
      // Records written by a run that stopped before its last checkpoint are signed now, in the
      // background: a first checkpoint of a long trail walks it, which must not hold the start.
      void checkpointNow();
      const checkpointEveryMs = settings?.everyMs ?? 60_000;
      checkpointRounds = startPeriodicJob({
        firstRunAfterMs: checkpointEveryMs,
        intervalMs: checkpointEveryMs,
        run: () => (sinceCheckpoint > 0 ? checkpointNow() : undefined),
        // checkpointNow logs its own failures and never rejects.
        onError: (error) => log?.error({ reason: describeFailure(error) }, 'audit trail: could not sign a checkpoint'),
      });
      fullVerifyRounds = startFullVerifyRounds();
    },

    noteChained(count) {
      sinceCheckpoint += count;
      if (sinceCheckpoint >= checkpointEvery) void checkpointNow();
    },

    async checkpoint() {
      await checkpointing;
      return checkpointNow();
    },

    verify: (scope) => runs.run(scope),

    async close() {
      await checkpointRounds?.stop();
      // A walk in progress (background or requested) finishes before the pool may close.
      await fullVerifyRounds?.stop();
      await fullWalk?.catch(() => undefined);
      // The last records of this run are signed before it stops.
      await checkpointing;
      const { initialized, databaseDown } = options.canSign();
      if (ledger && initialized && !databaseDown && sinceCheckpoint > 0) await checkpointNow();
    },
  };
}
