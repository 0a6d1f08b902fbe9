import { Counter, Histogram } from 'prom-client';
import { type PeriodicJob, startPeriodicJob } from '../../kit/periodic.js';
import { describeDatabaseError } from '../../kit/postgres.js';
import { AUDIT_CHECKPOINT_KEY_ENV, createAuditCheckpoints } from '../chain-checkpoints.js';
import { type ChainVerifier, createChainVerifier } from '../chain-verifier.js';
import type { CheckpointLedger, SignedCheckpoint } from '../checkpoint-ledger.js';
import { loadCheckpointKey } from '../checkpoint-signing.js';
import type { AuditEngineConfig } from '../config.js';
import { type AuditEventStore, createAuditEventStore } from '../event-store.js';
import { reanchorChain } from '../chain-reanchor.js';
import type { ReanchorRequest, ReanchorResponse } from '../contract.js';
import { type VerificationSchedule, scheduleVerification } from '../verification-schedule.js';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    auditStore: AuditEventStore;
    chainVerifier: ChainVerifier;
    /** Accepts a chain rolled back by a restore (chain-reanchor.ts); one at a time. */
    reanchorChain(request: ReanchorRequest): Promise<ReanchorResponse>;
  }
}

export interface EventStorePluginOptions extends Record<string, unknown> {
  config: Pick<
    AuditEngineConfig,
    'databaseUrl' | 'maxGroupEvents' | 'verifyBatchSize' | 'verifyIntervalMs' | 'checkpointKey' | 'checkpointFile' | 'checkpointEveryEvents' | 'checkpointIntervalMs'
  >;
}

/**
 * The event store and the chain verifier (run on request and in the background), with their
 * Prometheus metrics. Needs databasePlugin first.
 */
export const eventStorePlugin = fp<EventStorePluginOptions>(async (app, { config }) => {
  const registers = [app.metricsRegistry];
  const appended = new Counter({ name: 'audit_events_appended_total', help: 'Events appended to the chain', registers });
  const replayed = new Counter({
    name: 'audit_events_replayed_total',
    help: 'Events re-posted with a known idempotency_key, answered with the stored event',
    registers,
  });
  const batchSize = new Histogram({
    name: 'audit_append_batch_size',
    help: 'Events appended per group-commit transaction',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096],
    registers,
  });
  const batchDuration = new Histogram({
    name: 'audit_append_duration_seconds',
    help: 'Duration of one group-commit append transaction, lock wait included',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  const verifyRuns = new Counter({
    name: 'audit_verify_runs_total',
    help: 'Chain verifications by result (valid, broken, error)',
    labelNames: ['result'] as const,
    registers,
  });

  // Signed checkpoints (checkpoint-ledger.ts): made once the key is loaded at start-up.
  let ledger: CheckpointLedger | undefined;
  let sinceCheckpoint = 0;
  let checkpointing: Promise<SignedCheckpoint[]> | undefined;
  let checkpointRounds: PeriodicJob | undefined;
  function checkpointNow(): Promise<SignedCheckpoint[]> {
    if (!ledger) return Promise.resolve([]);
    const current = ledger;
    checkpointing ??= (async () => {
      const counted = sinceCheckpoint;
      try {
        const made = await current.checkpoint();
        sinceCheckpoint = Math.max(0, sinceCheckpoint - counted);
        return made;
      } catch (error) {
        app.log.error({ err: error }, 'could not sign a chain checkpoint');
        return [];
      }
    })().finally(() => {
      checkpointing = undefined;
    });
    return checkpointing;
  }

  const store = createAuditEventStore({
    pool: app.auditDb,
    maxGroupEvents: config.maxGroupEvents,
    onCommit(stats) {
      sinceCheckpoint += stats.appended;
      if (sinceCheckpoint >= config.checkpointEveryEvents) void checkpointNow();
      appended.inc(stats.appended);
      replayed.inc(stats.replayed);
      batchSize.observe(stats.appended);
      batchDuration.observe(stats.seconds);
    },
  });
  const verifier = createChainVerifier(app.auditDb, {
    batchSize: config.verifyBatchSize,
    checkpoints: () => (ledger ? ledger.check() : Promise.resolve({ notes: [] })),
    onResult(result) {
      if (result instanceof Error) {
        verifyRuns.inc({ result: 'error' });
        return;
      }
      verifyRuns.inc({ result: result.valid ? 'valid' : 'broken' });
      if (!result.valid) app.log.error({ first_broken: result.first_broken }, 'audit chain verification found a break');
    },
  });
  app.decorate('auditStore', store);
  // The engine's own refused tokens stay on /metrics and in its log, never in its chain: the chain
  // must not move on a stranger's request, or one arriving while a restored chain waits for its
  // re-anchor would move the head the operator names, and the re-anchor would be refused.
  app.decorate('chainVerifier', verifier);
  // One at a time: a second request must see what the first one did (then: nothing to re-anchor).
  let reanchoring: Promise<unknown> = Promise.resolve();
  app.decorate('reanchorChain', (request: ReanchorRequest): Promise<ReanchorResponse> => {
    const attempt = reanchoring.catch(() => undefined).then(() => {
      if (!ledger) throw new Error('the chain checkpoints are not set up yet (the engine is starting)');
      return reanchorChain({ pool: app.auditDb, ledger, store, verifier, batchSize: config.verifyBatchSize }, request);
    });
    reanchoring = attempt;
    return attempt;
  });

  let schedule: VerificationSchedule | undefined;
  app.addHook('onReady', async () => {
    try {
      await store.initialize();
    } catch (error) {
      throw new Error(describeDatabaseError(error, config.databaseUrl), { cause: error });
    }
    // A key that cannot be used stops the start with a message saying why (checkpoint-signing.ts).
    const key = loadCheckpointKey({ env: { name: AUDIT_CHECKPOINT_KEY_ENV, value: config.checkpointKey.value }, file: config.checkpointKey.file });
    ledger = createAuditCheckpoints({ pool: app.auditDb, key, localFile: config.checkpointFile, batchSize: config.verifyBatchSize });
    app.log.info({ key_id: key.keyId, key: key.source }, 'chain checkpoints signed with this key');
    // Events of a run that stopped before its last checkpoint are signed now, without holding the start.
    void checkpointNow();
    checkpointRounds = startPeriodicJob({
      firstRunAfterMs: config.checkpointIntervalMs,
      intervalMs: config.checkpointIntervalMs,
      run: () => (sinceCheckpoint > 0 ? checkpointNow() : undefined),
      // checkpointNow logs its own failures and never rejects.
      onError: (error) => app.log.error({ err: error }, 'could not sign a chain checkpoint'),
    });
    schedule = scheduleVerification(verifier, {
      intervalMs: config.verifyIntervalMs,
      // Counted by onResult; health keeps showing the last completed walk.
      onError: (error) => app.log.warn({ err: error }, 'background chain verification could not run'),
    });
  });
  // Runs before the pool closes (onClose hooks run in reverse order), so accepted appends and a
  // verification in progress finish.
  app.addHook('onClose', async () => {
    await app.authRefusals.flush();
    await schedule?.stop();
    await store.drained();
    await checkpointRounds?.stop();
    // The last events of this run are signed before the pool closes.
    await checkpointing;
    if (sinceCheckpoint > 0) await checkpointNow();
  });
});
