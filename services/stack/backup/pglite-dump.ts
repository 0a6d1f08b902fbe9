/**
 * Backups of the embedded PGlite databases of `npm start`: a logical dump (plain SQL from
 * PGlite's own pg_dump, the wasm build in @electric-sql/pglite-tools) taken by the thread that
 * holds the database (pglite-session-dump.ts), its table of contents read from the SQL, and a
 * real restore into a fresh in-memory PGlite that stops at the first error, kept open for
 * `backup verify` to walk the audit chains in it (withSqlDumpCopy). Debian's pg_dump
 * cannot be used: it refuses a server newer than itself, and PGlite serves one session, which the
 * service's connection holds.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFile, rm, writeFile } from 'node:fs/promises';
import type { Worker } from 'node:worker_threads';
import type { QueryResultRow } from 'pg';
import type { ChainQuery } from '../../kit/hash-chain/chain-query.js';
import { startTypeScriptWorker } from '../../kit/typescript-worker.js';
import type { SessionDump } from './pglite-session-dump.js';
import type { ScratchCopyAnswer, ScratchCopyQuery, ScratchRestoreReply } from './pglite-scratch-worker.js';
import { DumpWriteError, type DumpContents, type DumpEntry } from './postgres-dump.js';

/** What a backup needs of an embedded database: services/stack/local/embedded-postgres.ts gives it. */
export interface EmbeddedDumpSource {
  dataDir: string;
  /** Its loopback socket (one session: free only while its writers are stopped). */
  url: string;
  dump(options?: { waitMs?: number }): Promise<SessionDump>;
  size(): Promise<{ databaseBytes: number; tableBytes: number }>;
  /** Each table's rows now, counted in its thread (the socket's one session may be a service's). */
  rowCounts(): Promise<Record<string, number>>;
  /**
   * `restore`: replaces the database with the SQL dump `file`, on the same port; the previous data
   * directory is kept (`previousDir`) until `discardPrevious`. Throws, with the live database as it
   * was, when anything before the swap's end fails.
   */
  replaceWith(options: { file: string; signal?: AbortSignal }): Promise<{ previousDir: string; rowCounts: Record<string, number>; durationMs: number }>;
  /** Removes a data directory `replaceWith` kept, once the restored one was verified. */
  discardPrevious(previousDir: string): Promise<void>;
}

export interface EmbeddedDumpWritten {
  file: string;
  bytes: number;
  sha256: string;
  durationMs: number;
  rowCounts: Record<string, number>;
  tools: Record<string, string>;
}

/** Dumps `source` into `file` (which must not exist); a failed write leaves no file behind. */
export async function dumpEmbeddedDatabase(options: { source: EmbeddedDumpSource; file: string; signal?: AbortSignal }): Promise<EmbeddedDumpWritten> {
  const started = performance.now();
  options.signal?.throwIfAborted();
  const dump = await options.source.dump();
  // A step stopped meanwhile (abort, timeout) writes nothing into a directory that may be gone.
  options.signal?.throwIfAborted();
  const data = Buffer.from(dump.sql, 'utf8');
  try {
    await writeFile(options.file, data, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST') await rm(options.file, { force: true });
    const why = code === 'ENOSPC' || code === 'EDQUOT' ? 'the disk is full' : code === 'EEXIST' ? 'a file of that name exists already (backups are never overwritten)' : (error as Error).message;
    throw new DumpWriteError(`could not write the dump to ${options.file}: ${why}`, { cause: error });
  }
  return {
    file: options.file,
    bytes: data.length,
    sha256: createHash('sha256').update(data).digest('hex'),
    durationMs: Math.round(performance.now() - started),
    rowCounts: dump.rowCounts,
    tools: dump.tools,
  };
}

/** The dump is not what pg_dump writes, or it does not restore: the backup is bad. */
export class SqlDumpRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SqlDumpRefused';
  }
}

const HEADER = '--\n-- PostgreSQL database dump\n--\n';
/** pg_dump's last words: a dump cut short at a statement boundary still lacks them. */
const TRAILER = /\n--\n-- PostgreSQL database dump complete\n--\n*$/;
/** `-- Data for Name: events; Type: TABLE DATA; Schema: public; Owner: postgres` and the like. */
const ENTRY = /^-- (?:Data for )?Name: (.+); Type: ([A-Z ]+); Schema: ([^;]+); Owner: .*$/;

/**
 * The comment lines of a SQL script that are comments, not text inside a literal: a value may hold
 * a newline followed by what looks like one of pg_dump's entry lines. Follows PostgreSQL's lexer
 * as far as pg_dump's output needs: '...' (with '' inside, and backslashes in E'...'), "...",
 * $tag$...$tag$ and -- comments.
 */
export function commentLines(sql: string): string[] {
  const lines: string[] = [];
  let at = 0;
  while (at < sql.length) {
    const char = sql[at]!;
    if (char === '-' && sql[at + 1] === '-') {
      const end = sql.indexOf('\n', at);
      const stop = end === -1 ? sql.length : end;
      if (at === 0 || sql[at - 1] === '\n') lines.push(sql.slice(at, stop));
      at = stop;
    } else if (char === "'") {
      const escapes = /[eE]/.test(sql[at - 1] ?? '') && !/[\w$]/.test(sql[at - 2] ?? '');
      at += 1;
      while (at < sql.length) {
        if (escapes && sql[at] === '\\') at += 2;
        else if (sql[at] === "'" && sql[at + 1] === "'") at += 2;
        else if (sql[at] === "'") break;
        else at += 1;
      }
      at += 1;
    } else if (char === '"') {
      const end = sql.indexOf('"', at + 1);
      at = end === -1 ? sql.length : end + 1;
    } else if (char === '$' && !/[\w$]/.test(sql[at - 1] ?? '')) {
      const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(at, at + 64))?.[0];
      if (!tag) {
        at += 1;
        continue;
      }
      const end = sql.indexOf(tag, at + tag.length);
      at = end === -1 ? sql.length : end + tag.length;
    } else {
      at += 1;
    }
  }
  return lines;
}

/** A plain SQL dump's table of contents, from pg_dump's comments; a file cut short or foreign is refused. */
export async function listSqlDump(file: string): Promise<DumpContents> {
  const sql = await readFile(file, 'utf8');
  if (!sql.startsWith(HEADER)) throw new SqlDumpRefused('it does not begin as a pg_dump plain SQL dump does');
  if (!TRAILER.test(sql)) throw new SqlDumpRefused('it does not end with "PostgreSQL database dump complete": it was cut short');
  const entries: DumpEntry[] = commentLines(sql)
    .map((line) => ENTRY.exec(line))
    .filter((match) => match !== null)
    .map(([, name, type, schema]) => ({ type: type!, schema: schema === '-' ? null : schema!, name: name! }));
  const tablesWithData = entries.filter((entry) => entry.type === 'TABLE DATA').map((entry) => `${entry.schema}.${entry.name}`);
  return { entries, tablesWithData };
}

const SCRATCH_WORKER = new URL('./pglite-scratch-worker.ts', import.meta.url);

/** The scratch thread's answer to the restore; SqlDumpRefused when the SQL does not apply. */
async function restoredIn(worker: Worker, signal: AbortSignal | undefined): Promise<{ rowCounts: Record<string, number>; durationMs: number }> {
  const reply = (await Promise.race([
    once(worker, 'message').then(([message]) => message as ScratchRestoreReply),
    once(worker, 'exit').then(([code]) => ({ type: 'failed', error: signal?.aborted ? 'the step was stopped' : `the scratch database's thread exited with code ${code}` }) as const),
  ])) as ScratchRestoreReply;
  if (reply.type === 'refused') throw new SqlDumpRefused(reply.error);
  if (reply.type === 'failed') throw new Error(`the scratch PGlite database could not be used: ${reply.error}`);
  return { rowCounts: reply.rowCounts, durationMs: reply.durationMs };
}

/** Runs `work` with the scratch thread started on `data`, which a stopped step ends at once; always ended after. */
async function inScratchThread<T>(data: Record<string, unknown>, signal: AbortSignal | undefined, work: (worker: Worker) => Promise<T>): Promise<T> {
  signal?.throwIfAborted();
  const worker = startTypeScriptWorker(SCRATCH_WORKER, data);
  const stop = () => void worker.terminate();
  signal?.addEventListener('abort', stop, { once: true });
  try {
    return await work(worker);
  } finally {
    signal?.removeEventListener('abort', stop);
    await worker.terminate();
  }
}

/**
 * Restores the dump into a fresh PGlite, in memory or in `dataDir` (which must be new), in its own
 * thread (always ended), and returns its
 * tables' row counts. SqlDumpRefused when the SQL does not apply; any other error says nothing
 * about the backup (the thread could not start, the step was stopped).
 */
export async function restoreSqlDump(options: { file: string; signal?: AbortSignal; dataDir?: string }): Promise<{ rowCounts: Record<string, number>; durationMs: number }> {
  return inScratchThread({ file: options.file, ...(options.dataDir ? { dataDir: options.dataDir } : {}) }, options.signal, (worker) => restoredIn(worker, options.signal));
}

/** A dump restored into a fresh in-memory PGlite, open for queries until its thread ends. */
export interface SqlDumpCopy extends ChainQuery {
  rowCounts: Record<string, number>;
  durationMs: number;
}

/** Queries answered by a serving scratch thread; each fails once the thread has ended. */
function queriesOn(worker: Worker, signal: AbortSignal | undefined): ChainQuery['query'] {
  const pending = new Map<number, { resolve(rows: unknown[]): void; reject(error: Error): void }>();
  let ended: Error | undefined;
  let next = 0;
  const end = (error: Error) => {
    ended ??= error;
    for (const waiting of pending.values()) waiting.reject(ended);
    pending.clear();
  };
  worker.on('message', (answer: ScratchCopyAnswer) => {
    const waiting = pending.get(answer.id);
    pending.delete(answer.id);
    if (answer.type === 'rows') waiting?.resolve(answer.rows);
    else waiting?.reject(new Error(answer.error));
  });
  worker.on('error', (error) => end(new Error(`the scratch PGlite database failed: ${error.message}`)));
  worker.on('exit', (code) => end(new Error(signal?.aborted ? 'the step was stopped' : `the scratch database's thread exited with code ${code}`)));
  return <Row extends QueryResultRow>(text: string, values: unknown[] = []) =>
    new Promise<{ rows: Row[] }>((resolve, reject) => {
      if (ended) return reject(ended);
      const id = next++;
      pending.set(id, { resolve: (rows) => resolve({ rows: rows as Row[] }), reject });
      worker.postMessage({ type: 'query', id, text, values } satisfies ScratchCopyQuery);
    });
}

/**
 * Restores the dump into a fresh in-memory PGlite in its own thread, as restoreSqlDump does, and
 * lends the copy to `use`: its row counts, and queries on it answered by that thread (rows as pg
 * parses them, so a chain verifier reads it as it reads a PostgreSQL copy). The thread ends after
 * `use`, whatever happened, and at once when the step is stopped. SqlDumpRefused when the SQL does
 * not apply.
 */
export async function withSqlDumpCopy<T>(options: { file: string; signal?: AbortSignal }, use: (copy: SqlDumpCopy) => Promise<T>): Promise<T> {
  return inScratchThread({ file: options.file, serve: true }, options.signal, async (worker) => {
    const restored = await restoredIn(worker, options.signal);
    return use({ ...restored, query: queriesOn(worker, options.signal) });
  });
}
