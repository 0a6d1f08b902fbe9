/** The backup runbooks and what the bot needs to host them; the registry (runbooks/index.ts) takes them from here. */
export { backupRunbook } from './backup.js';
export { backupVerifyRunbook } from './backup-verify.js';
export { restoreRunbook } from './restore.js';
export { backupsOverview, type BackupOverview } from './backups-overview.js';
export { backupDatabasesFromEnv, createBackupPorts, DEFAULT_RETENTION, type BackupEnv, type EmbeddedDatabases } from './backup-ports.js';

import { backupRunbook } from './backup.js';
import { backupVerifyRunbook } from './backup-verify.js';
import { restoreRunbook } from './restore.js';

export const backupRunbooks = [backupRunbook, backupVerifyRunbook, restoreRunbook] as const;
