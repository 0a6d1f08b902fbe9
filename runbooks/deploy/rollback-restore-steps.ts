/**
 * The restore runbook's steps inside `rollback-restore`: the same code (checked backup, safety
 * backup, writers stopped, dumps restored, rows and chain checked, writers started, audit chain
 * re-anchored), handed the backup the rollback names as the restore's own arguments. Their ids stay
 * the restore's, because each reads the earlier ones' outputs by id. Its last health check is left
 * out: the rollback verifies the whole stack once its services are back.
 */
import { restoreRunbook } from '../backup/restore.js';
import type { StepContext, StepDefinition } from '../engine/definition.js';

type RestoreArgs = { id: string; unverified?: 'allow' | undefined };

const LEFT_OUT = new Set(['check-health']);

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
