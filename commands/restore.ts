/**
 * `restore <id> [--dry-run] [--unverified]`: the short form of `run restore id=<id>` (Level 3, two
 * approvers), answered exactly as `run` answers. An id that is malformed, unknown or not a
 * finished backup is refused before any run is recorded or any approval asked for (the runbook's
 * validate, which `run restore id=…` meets too).
 */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { restoreIdArgument } from './backup-access.js';
import { runbookPlan, runbookSubject, startRunbook } from './runbook-start.js';

function restoreArgs(id: string, unverified: boolean): Record<string, string> {
  return unverified ? { id, unverified: 'allow' } : { id };
}

export const restore = defineCommand({
  name: 'restore',
  summary: "Restore a backup (run restore, at the runbook's level): back up today's data, stop the writers, replace the databases, check, start",
  usage: '<id> [--dry-run] [--unverified]',
  examples: ['restore 20261206T152000Z-a1b2c3 --dry-run', 'restore 20261206T152000Z-a1b2c3'],
  level: 3,
  positionals: ['id'],
  flags: {
    'dry-run': { type: 'boolean', description: "show the restore's plan (what replaces what, row counts now); runs nothing" },
    unverified: { type: 'boolean', description: 'allow a backup `backup verify` never verified (never one that failed it)' },
  },
  args: z.object({ id: restoreIdArgument, 'dry-run': z.boolean().default(false), unverified: z.boolean().default(false) }).strict(),
  authorizationSubject: ({ 'dry-run': dryRun }, services) => runbookSubject(services, 'restore', dryRun),
  async run(context, { id, 'dry-run': dryRun, unverified }) {
    return startRunbook(context, { runbook: 'restore', args: restoreArgs(id, unverified), dryRun });
  },
  // Made before any approver is asked, and again at the last approval: the runbook's validate
  // refuses an unknown or unfinished backup, and its check step a bad or unverified one.
  plan: (context, { id, 'dry-run': dryRun, unverified }) => runbookPlan(context, { runbook: 'restore', args: restoreArgs(id, unverified), dryRun }),
});
