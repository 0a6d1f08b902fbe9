/**
 * `backup verify <id> [--dry-run]`: the short form of `run backup-verify id=<id>`, answered exactly
 * as `run` answers; an id that is malformed, unknown or not a finished backup is refused before any
 * run is recorded.
 */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { backupIdArgument, requireVerifiableBackup } from './backup-access.js';
import { requireRuns } from './runbook-access.js';
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
    requireRuns(context);
    await requireVerifiableBackup(context, id);
    return startRunbook(context, { runbook: 'backup-verify', args: { id }, dryRun });
  },
  plan: async (context, { id, 'dry-run': dryRun }) => {
    requireRuns(context);
    await requireVerifiableBackup(context, id);
    return runbookPlan(context, { runbook: 'backup-verify', args: { id }, dryRun });
  },
});
