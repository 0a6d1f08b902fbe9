/** `backups`: the backups under the backup directory, newest first, with size, age and verification. */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { requireBackups } from './backup-access.js';
import { backupsDocument } from './backup-documents.js';

export const backups = defineCommand({
  name: 'backups',
  summary: 'List the backups, newest first: state, size, age and verification',
  examples: ['backups'],
  level: 'read',
  args: z.object({}).strict(),
  async run(context) {
    const catalog = requireBackups(context);
    return backupsDocument(catalog.root, await catalog.list());
  },
});
