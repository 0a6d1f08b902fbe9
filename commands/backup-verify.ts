/**
 * `backup verify <id> [--dry-run]`: the short form of `run backup-verify id=<id>`, answered exactly
 * as `run` answers. A malformed id is refused here; one that is unknown or not a finished backup
 * is refused by the runbook's own check (its validate), the same one `run` meets, before any run
 * is recorded.
 */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { backupIdArgument } from './backup-access.js';
import { runbookPlan, runbookSubject, startRunbook } from './runbook-start.js';

export const backupVerify = defineCommand({
  name: 'backup verify',
  summary: "Verify a backup (run backup-verify, at the runbook's level): checksums, tables of contents, a real restore",
  usage: '<id> [--dry-run]',
  examples: ['backup verify 20261206T152000Z-a1b2c3', 'backup verify 20261206T152000Z-a1b2c3 --dry-run'],
  level: 1,
  positionals: ['id'],
  flags: { 'dry-run': { type: 'boolean', description: "show the verification's plan; runs nothing" } },
  args: z.object({ id: backupIdArgument, 'dry-run': z.boolean().default(false) }).strict(),
  authorizationSubject: ({ 'dry-run': dryRun }, services) => runbookSubject(services, 'backup-verify', dryRun),
  async run(context, { id, 'dry-run': dryRun }) {
    return startRunbook(context, { runbook: 'backup-verify', args: { id }, dryRun });
  },
  // The runbook's validate hook refuses an unknown or incomplete backup before any plan is made.
  plan: async (context, { id, 'dry-run': dryRun }) => runbookPlan(context, { runbook: 'backup-verify', args: { id }, dryRun }),
});
