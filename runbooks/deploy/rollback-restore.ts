/**
 * `rollback-restore`: the rollback with the databases restored from a backup (the runbook's "restore
 * from backup if needed"). The restore runbook's steps run between the plan and the redeploy: a
 * safety backup of today's data, the writers stopped, the dumps restored and checked, the writers
 * started, the audit chain re-anchored; then the services go back, are verified, announced and watched.
 * Level 3, as `restore` is: it replaces data.
 */
import { z } from 'zod';
import { BackupIdSchema } from '../backup/backup-manifest.js';
import { completeBackupRefusal } from '../backup/backup-steps-support.js';
import { defineRunbook } from '../engine/definition.js';
import { RollbackArgs, rollbackRefusal } from './rollback-plan.js';
import { restoreStepsFor } from './rollback-restore-steps.js';
import { rollbackOutcome, rollbackRunbookSteps } from './rollback-steps.js';

export const RollbackRestoreArgs = RollbackArgs.extend({
  backup: BackupIdSchema,
  /** `allow`: restore a backup never verified (a deploy's rollback point is one); never one that failed. */
  unverified: z.enum(['allow']).optional(),
}).strict();
type Args = z.output<typeof RollbackRestoreArgs>;

export const rollbackRestoreRunbook = defineRunbook({
  source: import.meta.url,
  name: 'rollback-restore',
  summary: "Roll services back and restore the databases from a backup: take the deploy lock over, restore as `restore` does, redeploy in reverse order, verify, notify, watch",
  level: 3,
  args: RollbackRestoreArgs,
  validate: async (args, ports) => (await completeBackupRefusal(ports, args.backup, 'restored')) ?? rollbackRefusal(ports, args),
  outcome: (outputs) => {
    const rolledBack = rollbackOutcome(outputs);
    const restored = outputs['check-backup'] as { id?: string } | undefined;
    return rolledBack && restored?.id ? `${rolledBack} The databases were restored from backup ${restored.id}.` : rolledBack;
  },
  steps: rollbackRunbookSteps<Args>(restoreStepsFor<Args>()),
});
