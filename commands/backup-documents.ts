/**
 * What people read about backups: the list `backups` shows, newest first. Plain data in
 * (commands/ports.ts BackupListing), a document out; the catalog reaches commands only through
 * the BackupCatalog port.
 */
import { clip, formatBytes, formatDuration, formatTimestamp } from './format.js';
import type { BackupListing } from './ports.js';
import type { ResultDocument } from './result.js';

function stateText(backup: BackupListing): string {
  return backup.problem && backup.state !== 'complete' ? `${backup.state}: ${clip(backup.problem, 160)}` : backup.state;
}

function verificationText(verification: BackupListing['verification']): string {
  if (verification.state === 'verified') return `verified ${verification.at ? formatTimestamp(verification.at) : ''}`.trim();
  if (verification.state === 'failed') return `failed: ${clip(verification.problem ?? 'no reason recorded', 160)}`;
  return 'never';
}

export function backupsDocument(root: string, backups: readonly BackupListing[]): ResultDocument {
  const directory = { type: 'fields' as const, fields: [{ label: 'Backup directory', value: root }] };
  if (backups.length === 0) {
    return {
      title: 'Backups',
      tone: 'info',
      summary: 'No backups yet. `backup` makes one (`backup --dry-run` shows its plan first).',
      blocks: [directory],
      data: { root, backups: [] },
    };
  }
  const complete = backups.filter((backup) => backup.state === 'complete');
  const verified = complete.filter((backup) => backup.verification.state === 'verified').length;
  const failed = backups.filter((backup) => backup.verification.state === 'failed').length;
  const broken = backups.length - complete.length;
  const newest = backups[0]!;
  return {
    title: 'Backups',
    tone: failed > 0 || broken > 0 ? 'warn' : 'info',
    summary:
      `${backups.length} backup${backups.length === 1 ? '' : 's'}, newest ${formatDuration(newest.ageSeconds)} ago: ` +
      `${complete.length} complete (${verified} verified)` +
      (broken > 0 ? `, ${broken} incomplete or unreadable` : '') +
      (failed > 0 ? `, ${failed} failed verification` : '') +
      '. `backup verify <id>` checks one.',
    blocks: [
      directory,
      {
        type: 'table',
        columns: ['Backup', 'State', 'Size', 'Age', 'Verification'],
        rows: backups.map((backup) => [backup.id, stateText(backup), formatBytes(backup.bytes), `${formatDuration(backup.ageSeconds)} ago`, verificationText(backup.verification)]),
      },
    ],
    data: { root, backups },
  };
}
