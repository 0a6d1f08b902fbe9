/**
 * `rollback`: put the stack back by hand (OPERATIONAL_RUNBOOK.md, "Rollback"). Every service goes
 * back to its previous version in the bot's records (or one service, or the version named with
 * `to`), in the reverse of the rollout order, each recorded as a rollback; then the whole stack
 * is verified, the stakeholders are told, and it is watched as after a hotfix. The deploy lock is
 * taken over, never waited for: a rollback is what ends a deployment gone wrong. Level 2; with a
 * backup to restore as well it is `rollback-restore` (Level 3).
 */
import { z } from 'zod';
import { defineRunbook } from '../engine/definition.js';
import { RollbackArgs, rollbackRefusal } from './rollback-plan.js';
import { rollbackOutcome, rollbackRunbookSteps } from './rollback-steps.js';

/** A rollback that restores databases is another runbook, at another level: said, not ignored. */
export const PlainRollbackArgs = RollbackArgs.extend({
  backup: z
    .unknown()
    .refine((value) => value === undefined, { message: 'restoring a backup with the rollback is `rollback-restore` (Level 3): `run rollback-restore backup=<id>`, or `rollback --backup <id>`' })
    .optional(),
}).strict();
type Args = z.output<typeof PlainRollbackArgs>;

export const rollbackRunbook = defineRunbook({
  source: import.meta.url,
  name: 'rollback',
  summary: 'Roll services back to their previous version (or one named): take the deploy lock over, redeploy in reverse order, record, verify, notify, watch',
  level: 2,
  args: PlainRollbackArgs,
  validate: (args, ports) => rollbackRefusal(ports, args),
  outcome: rollbackOutcome,
  steps: rollbackRunbookSteps<Args>(),
});
