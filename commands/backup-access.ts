/**
 * What the backup commands share: the catalog's port (or why there is none) and a backup id as an
 * argument. Whether a backup to verify is there is the backup-verify runbook's own check.
 */
import { z } from 'zod';
import { CommandError, type CommandContext } from './command.js';
import { clip } from './format.js';
import type { BackupCatalog } from './ports.js';

export function requireBackups(context: CommandContext): BackupCatalog {
  const backups = context.services.backups;
  if (!backups && context.services.runsProblem) throw new CommandError('The backups cannot be reached from here.', context.services.runsProblem, 'unavailable');
  if (!backups) {
    throw new CommandError(
      'Backups are not set up in this process.',
      'The bot keeps them (`npm start`, or the bot with DATABASE_URL), under ACGS_BACKUP_DIR; ask it from Slack, the console or `npx acgs`.',
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

