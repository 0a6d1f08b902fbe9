/**
 * The commands' BackupCatalog port (`backups`, `backup verify`) over the backup runbooks' own
 * reading of the backup directory, so the list and the runbooks never disagree on what a backup is.
 */
import type { BackupCatalog } from '../../commands/ports.js';
import { backupsOverview } from '../../runbooks/backup/index.js';

export function createBackupCatalog(root: string): BackupCatalog {
  return { root, list: () => backupsOverview(root) };
}
