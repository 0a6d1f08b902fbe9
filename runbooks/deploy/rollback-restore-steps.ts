/**
 * The restore runbook's steps inside `rollback-restore`: the same code (checked backup, safety
 * backup, writers stopped, dumps restored, rows and chain checked, writers started, audit chain
 * re-anchored), handed the backup the rollback names as the restore's own arguments. Their ids stay
 * the restore's, because each reads the earlier ones' outputs by id. Left out: its lock steps (the
 * rollback takes the lock over first) and its last health check (the rollback verifies the whole
 * stack once its services are back).
 */
import { restoreRunbook } from '../backup/restore.js';
import type { StepContext, StepDefinition } from '../engine/definition.js';

type RestoreArgs = { id: string; unverified?: 'allow' | undefined };

// Its own lock steps too: the rollback takes the lock over first and frees it at its end.
const LEFT_OUT = new Set(['check-health', 'lock', 'unlock']);

export interface BackupChoice {
  backup: string;
  unverified?: 'allow' | undefined;
}

export function restoreStepsFor<Args extends BackupChoice>(): StepDefinition<Args>[] {
  const steps = restoreRunbook.steps as ReadonlyArray<StepDefinition<RestoreArgs>>;
  const asRestore = (context: StepContext<Args>): StepContext<RestoreArgs> => ({
    ...context,
    args: { id: context.args.backup, ...(context.args.unverified ? { unverified: context.args.unverified } : {}) },
  });
  return steps
    .filter((step) => !LEFT_OUT.has(step.id))
    .map(({ run, dryRun, compensate, ...same }) => ({
      ...same,
      run: (context: StepContext<Args>) => run(asRestore(context)),
      dryRun: (context: StepContext<Args>) => dryRun(asRestore(context)),
      ...(compensate ? { compensate: (context: StepContext<Args>) => compensate(asRestore(context)) } : {}),
    }));
}
