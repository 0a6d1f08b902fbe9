/**
 * What the backup commands share: the catalog's port (or why there is none), a backup id as an
 * argument, and the check that a backup to verify is there before a run is started for it.
 */
import { z } from 'zod';
import { CommandError, type CommandContext } from './command.js';
import { clip } from './format.js';
import type { BackupCatalog } from './ports.js';

export function requireBackups(context: CommandContext): BackupCatalog {
  const backups = context.services.backups;
  if (!backups) {
    throw new CommandError(
      'Backups are not set up in this process.',
      'The bot keeps them (`npm start`, or the bot with DATABASE_URL), under ACGS_BACKUP_DIR; ask it from Slack or the console.',
      'unavailable',
    );
  }
  return backups;
}

/** The shape runbooks/backup/backup-manifest.ts gives ids: the start time, then hex from the run id. */
const BACKUP_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

function backupIdArgumentTo(verb: string) {
  return z
    .string({ error: `name the backup to ${verb}: its id, as \`backups\` lists it` })
    .transform((value, context) => {
      const id = value.trim();
      if (BACKUP_ID.test(id)) return id;
      context.addIssue({ code: 'custom', input: value, message: `\`${clip(value, 40)}\` is not a backup id; a backup id looks like 20261206T152000Z-a1b2c3 (\`backups\` lists them)` });
      return z.NEVER;
    });
}

export const backupIdArgument = backupIdArgumentTo('verify');
export const restoreIdArgument = backupIdArgumentTo('restore');

/**
 * A backup that is not there, or not finished, is refused before any run is recorded. Without the
 * catalog in this process the runbook's first step finds out instead.
 */
export async function requireVerifiableBackup(context: CommandContext, id: string, done = 'verified'): Promise<void> {
  const catalog = context.services.backups;
  if (!catalog) return;
  const backup = (await catalog.list()).find((candidate) => candidate.id === id);
  if (!backup) throw new CommandError(`There is no backup "${id}" in ${catalog.root}.`, '`backups` lists the backups there.');
  if (backup.state !== 'complete') {
    throw new CommandError(`Backup ${id} is ${backup.state}${backup.problem ? `: ${clip(backup.problem, 200)}` : ''}; only a complete backup can be ${done}.`, '`backups` lists the complete ones.');
  }
}
