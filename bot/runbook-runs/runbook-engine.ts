/**
 * One runbook engine per bot process: the run store's tables in the bot's database, one
 * RunExecutor (leases, takeover) started with the bot and stopped with it, steps recorded in the
 * bot's audit trail, and the commands' port over it. On the embedded PGlite database the pool has
 * one connection: the engine's transactions only ever query their own client, and the lease
 * renewals and the trail's appends queue for the connection between them, never inside one.
 */
import type pg from 'pg';
import type { RunbookRuns } from '../../commands/ports.js';
import type { AnyRunbook } from '../../runbooks/engine/definition.js';
import type { RunAuditSink, StepPorts } from '../../runbooks/engine/ports.js';
import { createRunbookRegistry, type RunbookRegistry } from '../../runbooks/engine/registry.js';
import { createRunExecutor, type RunExecutor, type RunExecutorOptions } from '../../runbooks/engine/run-executor.js';
import { createRunStore, migrateRunStore, type RunStore } from '../../runbooks/engine/run-store.js';
import { createGateStore } from '../../runbooks/engine/gate-store.js';
import { createGateApprovals, type GateApprovalsOptions } from './gate-approvals.js';
import type { AuditTrail } from '../audit-trail/index.js';
import { createRunbookRuns } from './runbook-runs.js';
import { trailAuditSink } from './trail-audit-sink.js';

export interface RunbookEngineOptions {
  /** The bot's database (the trail's pool). */
  pool: pg.Pool;
  trail: Pick<AuditTrail, 'append' | 'appendToChain'>;
  runbooks: readonly AnyRunbook[];
  /** What steps may call: the commands' dependencies. */
  ports: StepPorts;
  /** Migrate the engine's tables (the bot does; a process whose owner role migrated may skip). */
  migrate?: boolean;
  owner?: string;
  executor?: Pick<RunExecutorOptions, 'leaseMs' | 'renewEveryMs' | 'scanEveryMs' | 'maxConcurrentRuns' | 'shutdownGraceMs' | 'onDriveEnd'>;
  log?(message: string, error?: unknown): void;
  /** See RunbookRunsOptions: where the bot shows a run started from a channel. */
  onStartedInChannel?(runId: string, channel: string): Promise<boolean | undefined>;
  /**
   * Told after each step's start and end is in the trail (the incident timeline: bot/incidents/run-timeline.ts).
   * Not awaited by the step, and its failure is logged: a step never waits on it nor fails by it.
   */
  onStepRecorded?(runId: string): Promise<void>;
  /** The bot's approvals, for gate steps (gate-approvals.ts); without them a gate step fails saying so. */
  gateApprovals?: Omit<GateApprovalsOptions, 'runs' | 'gates'>;
}

export interface RunbookEngine {
  runs: RunbookRuns;
  executor: RunExecutor;
  store: RunStore;
  registry: RunbookRegistry;
  /** Each run in hand is handed back (RunExecutor.stop: idempotent steps stopped at once, others after a grace). */
  stop(): Promise<void>;
}

function withStepHook(sink: RunAuditSink, hook: RunbookEngineOptions['onStepRecorded'], log: RunbookEngineOptions['log']): RunAuditSink {
  if (!hook) return sink;
  const tell = (runId: string) => void hook(runId).catch((error: unknown) => log?.(`run ${runId}: the step's incident timeline entry failed`, error));
  return {
    ...sink,
    async stepStarted(event) {
      await sink.stepStarted(event);
      tell(event.runId);
    },
    async stepFinished(event) {
      await sink.stepFinished(event);
      tell(event.runId);
    },
  };
}

export async function startRunbookEngine(options: RunbookEngineOptions): Promise<RunbookEngine> {
  if (options.migrate !== false) await migrateRunStore(options.pool, options.log ? (line) => options.log!(line) : undefined);
  const store = createRunStore(options.pool);
  const registry = createRunbookRegistry(options.runbooks);
  const gates = createGateStore(options.pool);
  const gateApprovals = options.gateApprovals ? createGateApprovals({ runs: store, gates, ...options.gateApprovals }) : undefined;
  const executor = createRunExecutor({
    store,
    registry,
    audit: withStepHook(trailAuditSink(options.trail), options.onStepRecorded, options.log),
    ports: gateApprovals ? { ...options.ports, gates: gateApprovals } : options.ports,
    ...(options.owner ? { owner: options.owner } : {}),
    ...options.executor,
    ...(options.log ? { log: options.log } : {}),
  });
  executor.start();
  return {
    runs: createRunbookRuns({ registry, executor, store, gates, ...(gateApprovals ? { gateApprovals, approvals: options.gateApprovals!.approvals } : {}), ...(options.onStartedInChannel ? { onStartedInChannel: options.onStartedInChannel } : {}) }),
    executor,
    store,
    registry,
    stop: () => executor.stop(),
  };
}
