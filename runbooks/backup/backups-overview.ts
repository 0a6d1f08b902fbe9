/**
 * What `backups` shows: every backup under the backup directory, newest first, with its size, its
 * age and whether it was verified. A plain function over the catalog, for the command to call
 * through a port (commands/ never imports runbooks/).
 */
import { listBackups, type BackupState } from './backup-catalog.js';

export interface BackupOverview {
  id: string;
  state: BackupState;
  bytes: number;
  ageSeconds: number;
  /** `verified` (ok), `failed` (with the problem) or `never`. */
  verification: { state: 'verified' | 'failed' | 'never'; at?: string; problem?: string };
  /** Why the backup is incomplete or unreadable. */
  problem?: string;
}

export async function backupsOverview(root: string, now = new Date()): Promise<BackupOverview[]> {
  return (await listBackups(root)).map((backup) => ({
    id: backup.id,
    state: backup.state,
    bytes: backup.bytes,
    ageSeconds: Math.max(0, Math.round((now.getTime() - backup.startedAt.getTime()) / 1000)),
    verification: backup.verification
      ? { state: backup.verification.ok ? 'verified' : 'failed', at: backup.verification.verified_at, ...(backup.verification.problem ? { problem: backup.verification.problem } : {}) }
      : { state: 'never' },
    ...(backup.problem ? { problem: backup.problem } : {}),
  }));
}
