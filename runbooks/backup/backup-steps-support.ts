/**
 * What the backup runbooks' steps share: the port they cannot run without, how a database is
 * named in messages (never with its password), free space on the backup disk, and writing a small
 * file the way the catalog writes its own (temporary name, then rename).
 */
import { createHash } from 'node:crypto';
import { rename, rm, statfs, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sweepScratchDatabases } from '../../services/stack/backup/scratch-database.js';
import type { RunbookRefusal } from '../engine/definition.js';
import type { BackupPorts, StepPorts } from '../engine/ports.js';
import { findBackup } from './backup-catalog.js';

export function backupPorts(ports: StepPorts): BackupPorts {
  if (!ports.backup) throw new Error('backups are not set up in this process (no backup port: the bot builds it with createBackupPorts)');
  return ports.backup;
}

/**
 * A runbook's validate for a backup id: the backup is there and complete, before a run is recorded
 * (`done`: what only a complete backup can be, "verified" or "restored"). `run <runbook> id=…` and
 * the short forms answer with these sentences.
 */
export async function completeBackupRefusal(ports: StepPorts, id: string, done: string): Promise<RunbookRefusal | undefined> {
  if (!ports.backup) return { message: 'Backups are not set up in this process.', hint: 'The bot keeps them, under ACGS_BACKUP_DIR; ask it from Slack or the console.' };
  const { root } = ports.backup;
  const backup = await findBackup(root, id);
  if (!backup) return { message: `There is no backup "${id}" in ${root}.`, hint: '`backups` lists the backups there.' };
  if (backup.state !== 'complete') {
    return { message: `Backup ${id} is ${backup.state}${backup.problem ? `: ${backup.problem}` : ''}; only a complete backup can be ${done}.`, hint: '`backups` lists the complete ones.' };
  }
  return undefined;
}

/** `audit-engine (127.0.0.1:5432/acgs_audit)`: what a person needs to find the database, no secret. */
export function describeDatabase(name: string, url: string): string {
  try {
    const parsed = new URL(url);
    return `${name} (${parsed.hostname}:${parsed.port || '5432'}/${decodeURIComponent(parsed.pathname.slice(1)) || 'postgres'})`;
  } catch {
    return `${name} (a URL that does not parse)`;
  }
}

/** Free bytes for an unprivileged writer on the file system that holds `path` (or would: its nearest existing parent). */
export async function freeBytes(path: string): Promise<number> {
  let at = path;
  for (;;) {
    try {
      const fs = await statfs(at);
      return fs.bavail * fs.bsize;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(at) === at) throw error;
      at = dirname(at);
    }
  }
}

const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

/** Writes `content` as `name` in `dir` atomically; returns its size and SHA-256 for the manifest. */
export async function writeBackupFile(dir: string, name: string, content: string | Buffer): Promise<{ bytes: number; sha256: string }> {
  const data = typeof content === 'string' ? Buffer.from(content) : content;
  const temporary = join(dir, `.${name}.tmp`);
  try {
    await writeFile(temporary, data, { mode: 0o600 });
    await rename(temporary, join(dir, name));
  } catch (error) {
    await rm(temporary, { force: true });
    const full = ['ENOSPC', 'EDQUOT'].includes((error as NodeJS.ErrnoException).code ?? '');
    throw new Error(`could not write ${name} in ${dir}: ${full ? 'the disk is full' : errorText(error)}`, { cause: error });
  }
  return { bytes: data.length, sha256: createHash('sha256').update(data).digest('hex') };
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * How old a verify scratch database is at most while its run lives: backup-verify's restore step
 * times out after 6 hours, and a lost lease stops it sooner. Older ones are leftovers of a killed process.
 */
const SCRATCH_MAX_AGE_MS = 6 * 60 * 60_000 + 60_000;

/**
 * Drops the verify scratch databases a killed process left (older than any live run's), at the
 * start of `backup verify` and `restore`. Never fails the step: a server that does not answer is
 * found by the step's own work, which says so better.
 */
export async function sweepLeftoverScratch(ports: StepPorts, now = new Date()): Promise<string[]> {
  const backup = ports.backup;
  const server = backup?.scratchServerUrl ?? backup?.databases.find((database) => database.kind !== 'pglite')?.url;
  if (!server) return [];
  return sweepScratchDatabases(server, 'verify', new Date(now.getTime() - SCRATCH_MAX_AGE_MS)).catch(() => []);
}
