/**
 * The backups on disk under the backup directory (`ACGS_BACKUP_DIR`): one directory per backup,
 * named by its id, holding its files, `manifest.json` once it finished, and `verification.json`
 * once `backup verify` ran. Listing, reading, checking files against the manifest, and retention.
 */
import { randomBytes, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { z } from 'zod';
import { BACKUP_ID, BackupManifestSchema, newBackupId, totalBytes, type BackupFile, type BackupManifest } from './backup-manifest.js';

export const MANIFEST_FILE = 'manifest.json';
export const VERIFICATION_FILE = 'verification.json';
/** Written by the `backup` run that made the directory, first: which run it is (backup.ts). */
export const RUN_FILE = '.run.json';

/** A backup id that names nothing on disk, or is not an id at all. */
export class BackupNotFoundError extends Error {
  constructor(readonly id: string) {
    super(
      BACKUP_ID.test(id)
        ? `there is no backup ${id}; \`/acgs backups\` lists them`
        : `"${id.slice(0, 80)}" is not a backup id (they look like 20261206T152000Z-a1b2c3); \`/acgs backups\` lists them`,
    );
    this.name = 'BackupNotFoundError';
  }
}

/** A backup whose manifest is missing (never finished) or unreadable. */
export class BackupUnusableError extends Error {
  constructor(
    readonly id: string,
    reason: string,
  ) {
    super(`backup ${id} cannot be used: ${reason}`);
    this.name = 'BackupUnusableError';
  }
}

export const VerificationSchema = z.object({
  verified_at: z.iso.datetime(),
  ok: z.boolean(),
  /** What failed, in words, when not ok. */
  problem: z.string().optional(),
  verified_by: z.string(),
});
export type Verification = z.infer<typeof VerificationSchema>;

export type BackupState = 'complete' | 'incomplete' | 'unreadable';

export interface BackupListing {
  id: string;
  state: BackupState;
  /** From the manifest when complete; else from the id. */
  startedAt: Date;
  bytes: number;
  verification?: Verification;
  /** Why the backup is incomplete or unreadable. */
  problem?: string;
  /** For an incomplete backup: the run that was making it, when its run file says. */
  runId?: string;
}

/** Creates the directory of a new backup; its id is returned. */
export async function createBackupDirectory(root: string, now = new Date()): Promise<{ id: string; dir: string }> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const id = newBackupId(now, () => randomBytes(3).toString('hex'));
  const dir = join(root, id);
  await mkdir(dir, { mode: 0o700 });
  return { id, dir };
}

/** Writes the manifest last and atomically: a crash leaves no half manifest, only none. */
export async function writeManifest(dir: string, manifest: BackupManifest): Promise<void> {
  const valid = BackupManifestSchema.parse(manifest);
  const temporary = join(dir, `.${MANIFEST_FILE}.tmp`);
  await writeFile(temporary, `${JSON.stringify(valid, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, join(dir, MANIFEST_FILE));
}

function startedFromId(id: string): Date {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(id)!;
  return new Date(`${match[1]}-${match[2]}-${match[3]}T${match[4]}:${match[5]}:${match[6]}Z`);
}

async function readJson(file: string): Promise<unknown> {
  return JSON.parse(await readFile(file, 'utf8')) as unknown;
}

async function directoryBytes(dir: string): Promise<number> {
  let bytes = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) if (entry.isFile()) bytes += (await stat(join(dir, entry.name))).size;
  return bytes;
}

async function readVerification(dir: string): Promise<Verification | undefined> {
  try {
    return VerificationSchema.parse(await readJson(join(dir, VERIFICATION_FILE)));
  } catch {
    return undefined; // never verified (or a verification file we cannot trust: same thing)
  }
}

async function runIdOf(dir: string): Promise<string | undefined> {
  try {
    return z.object({ run_id: z.string() }).parse(await readJson(join(dir, RUN_FILE))).run_id;
  } catch {
    return undefined; // made before its run file was written (a crash), or not by a run
  }
}

async function listingOf(root: string, id: string): Promise<BackupListing> {
  const dir = join(root, id);
  let raw: unknown;
  try {
    raw = await readJson(join(dir, MANIFEST_FILE));
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    const runId = missing ? await runIdOf(dir) : undefined;
    return {
      id,
      state: missing ? 'incomplete' : 'unreadable',
      startedAt: startedFromId(id),
      bytes: await directoryBytes(dir),
      problem: missing ? 'no manifest: the backup never finished' : `the manifest is not JSON (${(error as Error).message})`,
      ...(runId ? { runId } : {}),
    };
  }
  const parsed = BackupManifestSchema.safeParse(raw);
  if (!parsed.success || parsed.data.id !== id) {
    return { id, state: 'unreadable', startedAt: startedFromId(id), bytes: await directoryBytes(dir), problem: parsed.success ? `the manifest names another backup (${parsed.data.id})` : `the manifest is not valid: ${parsed.error.issues[0]?.message}` };
  }
  const verification = await readVerification(dir);
  return { id, state: 'complete', startedAt: new Date(parsed.data.started_at), bytes: totalBytes(parsed.data), ...(verification ? { verification } : {}) };
}

/** Every backup under `root`, newest first. A missing root is no backups yet. */
export async function listBackups(root: string): Promise<BackupListing[]> {
  let names: string[];
  try {
    names = (await readdir(root, { withFileTypes: true })).filter((entry) => entry.isDirectory() && BACKUP_ID.test(entry.name)).map((entry) => entry.name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const listings = await Promise.all(names.map((id) => listingOf(root, id)));
  return listings.sort((a, b) => b.id.localeCompare(a.id));
}

/** One backup as `listBackups` shows it, or undefined when no backup has that id. */
export async function findBackup(root: string, id: string): Promise<BackupListing | undefined> {
  if (!BACKUP_ID.test(id)) return undefined;
  try {
    if (!(await stat(join(root, id))).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  return listingOf(root, id);
}

/** The manifest of a finished backup; a bad, unknown or unfinished id fails with what to do. */
export async function readBackup(root: string, id: string): Promise<{ dir: string; manifest: BackupManifest; verification?: Verification }> {
  if (!BACKUP_ID.test(id)) throw new BackupNotFoundError(id);
  const dir = join(root, id);
  try {
    await stat(dir);
  } catch {
    throw new BackupNotFoundError(id);
  }
  const listing = await listingOf(root, id);
  if (listing.state !== 'complete') throw new BackupUnusableError(id, listing.problem!);
  const manifest = BackupManifestSchema.parse(await readJson(join(dir, MANIFEST_FILE)));
  return { dir, manifest, ...(listing.verification ? { verification: listing.verification } : {}) };
}

export interface FileProblem {
  name: string;
  problem: 'missing' | 'size' | 'checksum';
  detail: string;
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  // Large reads: a dump of hundreds of megabytes is hashed at the disk's pace, not the chunks'.
  await pipeline(createReadStream(file, { highWaterMark: 1024 * 1024 }), hash);
  return hash.digest('hex');
}

/**
 * One file of the manifest against its entry: missing, of another size, or (unless `hash` is
 * false, for a caller that hashes it later) with another SHA-256.
 */
export async function checkFile(dir: string, file: BackupFile, options: { hash?: boolean } = {}): Promise<FileProblem | undefined> {
  const path = join(dir, file.name);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    return { name: file.name, problem: 'missing', detail: `${file.name} is missing` };
  }
  if (size !== file.bytes) return { name: file.name, problem: 'size', detail: `${file.name} has ${size} bytes, the manifest says ${file.bytes}` };
  if (options.hash === false) return undefined;
  const sha256 = await sha256Of(path);
  if (sha256 !== file.sha256) return { name: file.name, problem: 'checksum', detail: `${file.name} has SHA-256 ${sha256.slice(0, 12)}…, the manifest says ${file.sha256.slice(0, 12)}…` };
  return undefined;
}

/** Every file of the manifest read again: missing, of another size, or with another SHA-256. */
export async function checkFiles(dir: string, manifest: BackupManifest): Promise<FileProblem[]> {
  const problems: FileProblem[] = [];
  for (const file of manifest.files) {
    const problem = await checkFile(dir, file);
    if (problem) problems.push(problem);
  }
  return problems;
}

export async function recordVerification(dir: string, verification: Verification): Promise<void> {
  const temporary = join(dir, `.${VERIFICATION_FILE}.tmp`);
  await writeFile(temporary, `${JSON.stringify(VerificationSchema.parse(verification), null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, join(dir, VERIFICATION_FILE));
}

export interface RetentionPolicy {
  /** Keep at least this many complete backups, whatever their age. */
  keepCount: number;
  /** Complete backups older than this many days go, beyond the count kept. */
  keepDays: number;
}

/**
 * Which backups retention removes: complete ones beyond the newest `keepCount` that are older
 * than `keepDays`, and incomplete ones older than a day (a crashed run's leftovers; a younger one
 * may still be being written) unless their run has not ended (`unfinishedRuns`: it may still
 * wait for a decision to go on). The newest complete backup is never removed.
 */
export function retentionPlan(backups: BackupListing[], policy: RetentionPolicy, now = new Date(), unfinishedRuns: ReadonlySet<string> = new Set()): BackupListing[] {
  const dayMs = 24 * 60 * 60 * 1000;
  const complete = backups.filter((backup) => backup.state === 'complete').sort((a, b) => b.id.localeCompare(a.id));
  const kept = new Set(complete.slice(0, Math.max(1, policy.keepCount)).map((backup) => backup.id));
  return backups.filter((backup) => {
    const age = now.getTime() - backup.startedAt.getTime();
    if (backup.state === 'complete') return !kept.has(backup.id) && age > policy.keepDays * dayMs;
    if (backup.runId !== undefined && unfinishedRuns.has(backup.runId)) return false;
    return age > dayMs;
  });
}

export async function removeBackup(root: string, id: string): Promise<void> {
  if (!BACKUP_ID.test(id)) throw new BackupNotFoundError(id);
  await rm(join(root, id), { recursive: true, force: true });
}
