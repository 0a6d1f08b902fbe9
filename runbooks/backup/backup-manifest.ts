/**
 * What a backup holds, written last into its directory as `manifest.json`: a directory without
 * one is a backup that never finished. Every file is named with its size and SHA-256, so a copy
 * can be checked without trusting the disk it sat on.
 */
import { z } from 'zod';

/** `20261206T152000Z-a1b2c3`: sorts by time, unique across replicas, safe as a directory name. */
export const BACKUP_ID = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;
export const BackupIdSchema = z.string().regex(BACKUP_ID, 'a backup id looks like 20261206T152000Z-a1b2c3 (`/acgs backups` lists them)');

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
/** A plain file name inside the backup's directory: no path, nothing hidden. */
const FileName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/);

export const BackupFileSchema = z.object({
  name: FileName,
  /** postgres-dump: pg_dump's custom format; pglite-dump: plain SQL from PGlite's pg_dump (the embedded default). */
  kind: z.enum(['postgres-dump', 'pglite-dump', 'redis-modes', 'config', 'versions']),
  bytes: z.number().int().nonnegative(),
  sha256: Sha256,
  /** For a dump: the database it came from and its tables' exact row counts at dump time. */
  database: z.string().optional(),
  row_counts: z.record(z.string(), z.number().int().nonnegative()).optional(),
});

export const BackupManifestSchema = z.object({
  format: z.literal(1),
  id: BackupIdSchema,
  started_at: z.iso.datetime(),
  finished_at: z.iso.datetime(),
  requested_by: z.string().min(1),
  files: z.array(BackupFileSchema),
  /** Tool version lines, e.g. `pg_dump (PostgreSQL) 15.20`. */
  tools: z.record(z.string(), z.string()),
  /** The bot's audit chain's head when the backup started (null when the trail had no records). */
  audit_chain_head: z.object({ sequence: z.number().int().nonnegative(), hash: z.string() }).nullable(),
  /** Which version of each service ran. */
  service_versions: z.record(z.string(), z.string()),
});

export type BackupFile = z.infer<typeof BackupFileSchema>;
export type BackupManifest = z.infer<typeof BackupManifestSchema>;

export function newBackupId(now: Date, random: () => string): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return `${stamp}-${random()}`;
}

export function totalBytes(manifest: BackupManifest): number {
  return manifest.files.reduce((sum, file) => sum + file.bytes, 0);
}
