/**
 * A real RunExecutor hosting the backup runbooks on a test's run store and ports, with the two
 * calls every backup and restore test drives it by: submit a run and wait until it settles.
 */
import type { StepPorts } from '../../engine/ports.js';
import { createRunbookRegistry } from '../../engine/registry.js';
import { createRunExecutor, type RunExecutor } from '../../engine/run-executor.js';
import type { RunRecord, RunStore } from '../../engine/run-store.js';
import { backupRunbooks } from '../index.js';

export interface BackupRunExecutor {
  executor: RunExecutor;
  /** Submits `runbook` as the on-call and returns the run once the executor has nothing left to do. */
  run(runbook: string, args?: unknown): Promise<RunRecord>;
  /** The run once the executor has picked up and finished all it can. */
  settle(runId: string): Promise<RunRecord>;
}

export function backupRunExecutor(store: RunStore, ports: StepPorts): BackupRunExecutor {
  // A short lease keeps a test's takeover and shutdown quick; renewals at most half of it.
  const executor = createRunExecutor({ store, registry: createRunbookRegistry([...backupRunbooks]), ports, leaseMs: 10_000, renewEveryMs: 1000 });
  const settle = async (runId: string) => {
    await executor.scanNow();
    await executor.idle();
    return executor.get(runId);
  };
  const run = async (runbook: string, args: unknown = {}) => settle((await executor.submit({ runbook, args, requester: 'U0ONCALL', origin: 'test' })).id);
  return { executor, run, settle };
}
