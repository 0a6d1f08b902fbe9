/**
 * What differs between the kinds of database a backup holds: a PostgreSQL server's (pg_dump's
 * custom format, pg_restore) and an embedded PGlite one of `npm start` (PGlite's own pg_dump, plain
 * SQL, restored into a fresh in-memory PGlite). The backup runbooks call these and stay the same
 * for both.
 */
import { databaseSize, dumpWithRowCounts } from '../../services/stack/backup/consistent-dump.js';
import { dumpEmbeddedDatabase, listSqlDump } from '../../services/stack/backup/pglite-dump.js';
import { packageVersion } from '../../services/stack/backup/pglite-session-dump.js';
import { pgToolVersion } from '../../services/stack/backup/pg-tools.js';
import { listDump, type DumpContents } from '../../services/stack/backup/postgres-dump.js';
import type { BackupDatabase } from '../engine/ports.js';
import type { BackupFile } from './backup-manifest.js';
import { describeDatabase } from './backup-steps-support.js';

export type DumpKind = 'postgres-dump' | 'pglite-dump';
export const DUMP_KINDS: ReadonlyArray<BackupFile['kind']> = ['postgres-dump', 'pglite-dump'];

export function dumpKindOf(database: BackupDatabase): DumpKind {
  return database.kind === 'pglite' ? 'pglite-dump' : 'postgres-dump';
}

/** `bot.dump` (custom format) or `bot.sql` (plain SQL). */
export function dumpFileOf(database: BackupDatabase): string {
  return database.kind === 'pglite' ? `${database.name}.sql` : `${database.name}.dump`;
}

/** Where a person finds the database, never with a password. */
export function whereIs(database: BackupDatabase): string {
  return database.kind === 'pglite' ? `${database.name} (embedded PGlite in ${database.source.dataDir})` : describeDatabase(database.name, database.url);
}

export async function sizeOf(database: BackupDatabase): Promise<{ databaseBytes: number; tableBytes: number }> {
  return database.kind === 'pglite' ? database.source.size() : databaseSize(database.url);
}

/** The tools the databases need, with their versions: a missing one fails here, before anything is written. */
export async function toolVersions(databases: ReadonlyArray<BackupDatabase>): Promise<Record<string, string>> {
  const tools: Record<string, string> = {};
  if (databases.some((database) => database.kind !== 'pglite')) {
    tools.pg_dump = await pgToolVersion('pg_dump');
    tools.pg_restore = await pgToolVersion('pg_restore');
  }
  if (databases.some((database) => database.kind === 'pglite')) {
    tools['pglite-tools'] = `@electric-sql/pglite-tools ${packageVersion('@electric-sql/pglite-tools/pg_dump')} (pg_dump built to wasm)`;
    tools.pglite = `@electric-sql/pglite ${packageVersion('@electric-sql/pglite')}`;
  }
  return tools;
}

export interface DumpResult {
  bytes: number;
  sha256: string;
  rowCounts: Record<string, number>;
  durationMs: number;
  /** What the dump itself says it was made with (the embedded kind: pg_dump's and the server's versions). */
  tools?: Record<string, string>;
}

/** Dumps `database` into `path` (which must not exist), with the row counts of the same state. */
export async function dumpOf(database: BackupDatabase, path: string, signal: AbortSignal): Promise<DumpResult> {
  if (database.kind === 'pglite') {
    const dump = await dumpEmbeddedDatabase({ source: database.source, file: path, signal });
    return { bytes: dump.bytes, sha256: dump.sha256, rowCounts: dump.rowCounts, durationMs: dump.durationMs, tools: dump.tools };
  }
  const dump = await dumpWithRowCounts({ databaseUrl: database.url, file: path, signal });
  return { bytes: dump.bytes, sha256: dump.sha256, rowCounts: dump.rowCounts, durationMs: dump.durationMs };
}

/** A dump's table of contents; a corrupt, cut short or foreign file fails with the reader's words. */
export async function contentsOf(kind: BackupFile['kind'], path: string): Promise<DumpContents> {
  return kind === 'pglite-dump' ? listSqlDump(path) : listDump(path);
}
