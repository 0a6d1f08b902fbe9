/**
 * Logical backups of one PostgreSQL database with pg_dump's custom format, their table of
 * contents (pg_restore --list) and a restore that stops at the first error. The dump is hashed
 * while it is written, in one pass, so a large database is read once.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CappedOutput } from '../../kit/capped-output.js';
import { PgToolError, libpqEnvironment, startPgTool } from './pg-tools.js';

const APPLICATION = 'acgs-backup';

export interface DumpWritten {
  file: string;
  bytes: number;
  sha256: string;
  durationMs: number;
}

/** Why a dump could not be written: the tool's failure, or the disk's (full, not writable). */
export class DumpWriteError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DumpWriteError';
  }
}

/**
 * Dumps the database into `file` (custom format, which pg_restore can list and restore
 * selectively). The file must not exist yet. On any failure the partial file is removed and the
 * error says whether the database or the disk failed.
 */
export async function dumpDatabase(options: { databaseUrl: string; file: string; signal?: AbortSignal; snapshot?: string }): Promise<DumpWritten> {
  const started = performance.now();
  // A snapshot exported by another session (consistent-dump.ts) makes the dump see exactly what
  // that session counted.
  const snapshot = options.snapshot ? [`--snapshot=${options.snapshot}`] : [];
  const run = startPgTool('pg_dump', ['--no-password', '--format=custom', ...snapshot], {
    env: libpqEnvironment(options.databaseUrl, APPLICATION),
    signal: options.signal,
  });
  const hash = createHash('sha256');
  let bytes = 0;
  const hashing = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.length;
      callback(null, chunk);
    },
  });
  try {
    const written = pipeline(run.stdout, hashing, createWriteStream(options.file, { flags: 'wx' })).catch((error: NodeJS.ErrnoException) => {
      run.kill();
      throw new DumpWriteError(`could not write the dump to ${options.file}: ${diskProblem(error)}`, { cause: error });
    });
    const [tool, disk] = await Promise.allSettled([run.done, written]);
    // A disk failure stops the tool, so its own failure is only the consequence.
    if (disk.status === 'rejected') throw disk.reason;
    if (tool.status === 'rejected') throw tool.reason;
  } catch (error) {
    // A file we did not create (it existed) is not ours to remove.
    if (!(error instanceof DumpWriteError && isExistingFile(error))) await rm(options.file, { force: true });
    throw error;
  }
  return { file: options.file, bytes, sha256: hash.digest('hex'), durationMs: Math.round(performance.now() - started) };
}

function isExistingFile(error: DumpWriteError): boolean {
  return (error.cause as NodeJS.ErrnoException | undefined)?.code === 'EEXIST';
}

function diskProblem(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOSPC':
      return 'the disk is full';
    case 'EDQUOT':
      return 'the disk quota is used up';
    case 'EEXIST':
      return 'a file of that name exists already (backups are never overwritten)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOENT':
      return 'the directory does not exist';
    default:
      return error.message;
  }
}

/** One line of a dump's table of contents: `TABLE DATA public events postgres` and the like. */
export interface DumpEntry {
  /** TABLE, TABLE DATA, INDEX, SEQUENCE, SEQUENCE SET, FUNCTION, TRIGGER, ... */
  type: string;
  schema: string | null;
  name: string;
}

export interface DumpContents {
  entries: DumpEntry[];
  /** `schema.table` of every table whose rows the dump holds. */
  tablesWithData: string[];
}

/** TOC line: `<id>; <oid> <oid> <TYPE WORDS> <schema|-> <name> <owner|->`. */
const TOC_LINE = /^\d+; \d+ \d+ (.+)$/;
/** The TOC's types, longest first so `TABLE DATA` is not read as `TABLE`. */
const TOC_TYPES = [
  'SEQUENCE OWNED BY', 'DEFAULT ACL', 'FK CONSTRAINT', 'MATERIALIZED VIEW DATA', 'MATERIALIZED VIEW', 'SEQUENCE SET',
  'TABLE DATA', 'TABLE ATTACH', 'INDEX ATTACH', 'ACL', 'COMMENT', 'CONSTRAINT', 'DEFAULT', 'EXTENSION', 'FUNCTION',
  'INDEX', 'PROCEDURE', 'SCHEMA', 'SEQUENCE', 'TABLE', 'TRIGGER', 'TYPE', 'VIEW', 'DATABASE', 'ENCODING',
  'STDSTRINGS', 'SEARCHPATH', 'RULE', 'POLICY', 'PUBLICATION', 'AGGREGATE', 'DOMAIN',
];

/** Reads a dump's table of contents; a corrupt or truncated file fails with pg_restore's words. */
export async function listDump(file: string): Promise<DumpContents> {
  const run = startPgTool('pg_restore', ['--list', file]);
  const out = new CappedOutput(64 * 1024 * 1024);
  run.stdout.pipe(out);
  await run.done;
  const entries: DumpEntry[] = [];
  for (const line of out.text().split('\n')) {
    const match = TOC_LINE.exec(line);
    if (!match) continue;
    const rest = match[1]!;
    const type = TOC_TYPES.find((candidate) => rest.startsWith(`${candidate} `));
    if (!type) continue;
    const words = rest.slice(type.length + 1).split(' ');
    // The owner is the last word; schema first (`-` when none); the name may contain spaces.
    const schema = words[0] === '-' ? null : (words[0] ?? null);
    const name = words.slice(1, -1).join(' ') || (words[1] ?? '');
    entries.push({ type, schema, name });
  }
  const tablesWithData = entries.filter((entry) => entry.type === 'TABLE DATA').map((entry) => `${entry.schema}.${entry.name}`);
  return { entries, tablesWithData };
}

/**
 * Restores a custom-format dump into the (empty) database of `databaseUrl`, stopping at the first
 * error, in one transaction, so a failed restore leaves nothing half-applied. Ownership and grants
 * are not restored: the target's connecting role owns what it creates.
 */
export async function restoreDump(options: { file: string; databaseUrl: string; signal?: AbortSignal }): Promise<{ durationMs: number }> {
  const started = performance.now();
  const run = startPgTool('pg_restore', ['--no-password', '--exit-on-error', '--single-transaction', '--no-owner', '--no-privileges', '--dbname', libpqEnvironment(options.databaseUrl, APPLICATION).PGDATABASE!, options.file], {
    env: libpqEnvironment(options.databaseUrl, APPLICATION),
    signal: options.signal,
  });
  run.stdout.resume();
  await run.done;
  return { durationMs: Math.round(performance.now() - started) };
}

/**
 * Replaces the contents of the live database of `databaseUrl` with the dump's: every object the
 * dump holds is dropped (if it exists) and made again with its rows, owners and grants, all in one
 * transaction that stops at the first error. A failure (a bad dump, the server gone, the tool
 * killed) rolls back to exactly what was there; objects the dump does not know are left as they are.
 */
export async function restoreDumpReplacing(options: { file: string; databaseUrl: string; signal?: AbortSignal }): Promise<{ durationMs: number }> {
  const started = performance.now();
  const env = libpqEnvironment(options.databaseUrl, RESTORE_APPLICATION);
  const run = startPgTool('pg_restore', ['--no-password', '--clean', '--if-exists', '--exit-on-error', '--single-transaction', '--dbname', env.PGDATABASE!, options.file], {
    env,
    signal: options.signal,
  });
  run.stdout.resume();
  await run.done;
  return { durationMs: Math.round(performance.now() - started) };
}

/** The application name of a restore's session, so that an operator (and a test) can find it in pg_stat_activity. */
export const RESTORE_APPLICATION = 'acgs-restore';

export { PgToolError };
