/**
 * `restore <id> [--dry-run] [--unverified]`: the short form of `run restore id=<id>` (Level 3, two
 * approvers), answered exactly as `run` answers. An id that is malformed, unknown or not a
 * finished backup is refused before any run is recorded or any approval asked for.
 */
import { z } from 'zod';
import { CommandError, defineCommand, type CommandContext } from './command.js';
import { requireVerifiableBackup, restoreIdArgument } from './backup-access.js';
import { levelWords } from './decision-documents.js';
import { requireRuns } from './runbook-access.js';
import { MAX_RUN_LEVEL, startRunbook } from './runbook-start.js';

/**
 * Asked when the restore is requested, before any approver is: a backup that cannot be restored,
 * or a runbook `run` would refuse after the approvals anyway, wastes nobody's approval.
 */
async function requireRestorable(context: CommandContext, id: string): Promise<void> {
  await requireVerifiableBackup(context, id, 'restored');
  const runbook = requireRuns(context).list().find((candidate) => candidate.name === 'restore');
  if (runbook && runbook.level > MAX_RUN_LEVEL) {
    throw new CommandError(
      `"restore" is a ${levelWords(runbook.level)} runbook; runbooks start up to Level ${MAX_RUN_LEVEL} for now, so no approval was asked for.`,
      "Its own level does not reach the authorization decision yet. Until it does, restore by hand as runbooks/backup/README.md says.",
      'refused',
    );
  }
}

export const restore = defineCommand({
  name: 'restore',
  summary: "Restore a backup (run restore): back up today's data, stop the writers, replace the databases, check, start",
  usage: '<id> [--dry-run] [--unverified]',
  examples: ['restore 20261206T152000Z-a1b2c3 --dry-run', 'restore 20261206T152000Z-a1b2c3'],
  level: 3,
  positionals: ['id'],
  flags: {
    'dry-run': { type: 'boolean', description: "show the restore's plan (what replaces what, row counts now); runs nothing" },
    unverified: { type: 'boolean', description: 'allow a backup `backup verify` never verified (never one that failed it)' },
  },
  args: z.object({ id: restoreIdArgument, 'dry-run': z.boolean().default(false), unverified: z.boolean().default(false) }).strict(),
  async plan(context, { id, unverified }) {
    await requireRestorable(context, id);
    // The approvers approve this backup, as it was verified when asked: a new verification asks again.
    const backup = (await context.services.backups?.list())?.find((candidate) => candidate.id === id);
    const verification = backup ? `${backup.verification.state}${backup.verification.at ? ` ${backup.verification.at}` : ''}` : 'unknown';
    return {
      summary: `restore backup ${id} (${verification}${unverified ? ', unverified allowed' : ''}) over the stack's databases, after a backup of today's data`,
      target: id,
      fingerprint: `${id} ${verification}`,
    };
  },
  async run(context, { id, 'dry-run': dryRun, unverified }) {
    await requireVerifiableBackup(context, id, 'restored');
    return startRunbook(context, { runbook: 'restore', args: unverified ? { id, unverified: 'allow' } : { id }, dryRun });
  },
});
