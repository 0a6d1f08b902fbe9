/**
 * `backup verify` of an embedded database's dump: a fresh in-memory PGlite in a thread of its own
 * (PGlite runs synchronously; the bot's event loop must not wait behind a restore), the dump
 * applied as one query string, which PostgreSQL runs as one implicit transaction that stops at the
 * first error and keeps nothing of it, then every table counted. The thread ends after one answer
 * and takes the instance with it. `restore` of an embedded database builds its replacement the
 * same way, in a data directory (`dataDir`) instead of memory, closed before the answer.
 *
 * With `serve`, the restored copy stays open after the answer and the thread answers queries on
 * it (ScratchCopyRequest) until it is terminated: `backup verify` walks the audit chains in it.
 * They run through node-postgres over the instance (PGlite's own adapter), so the rows are parsed
 * exactly as pg parses a PostgreSQL server's, and the verifiers read both kinds of copy alike.
 */
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import pg from 'pg';
import { countRows } from './pglite-session-dump.js';

export type ScratchRestoreReply = { type: 'restored'; rowCounts: Record<string, number>; durationMs: number } | { type: 'refused'; error: string } | { type: 'failed'; error: string };
/** A query on a served copy; `id` pairs it with its answer. */
export interface ScratchCopyQuery {
  type: 'query';
  id: number;
  text: string;
  values: unknown[];
}
export type ScratchCopyAnswer = { type: 'rows'; id: number; rows: unknown[] } | { type: 'error'; id: number; error: string };

const { file, dataDir, serve } = workerData as { file: string; dataDir?: string; serve?: boolean };
const port = parentPort!;

let reply: ScratchRestoreReply | undefined;
let db: PGlite | undefined;
try {
  const sql = await readFile(file, 'utf8');
  db = await PGlite.create(dataDir ? { dataDir } : {});
  const started = performance.now();
  try {
    await db.exec(sql);
    const rowCounts = await countRows(async (query) => (await db!.query<Array<string | null>>(query, [], { rowMode: 'array' })).rows);
    reply = { type: 'restored', rowCounts, durationMs: Math.round(performance.now() - started) };
  } catch (error) {
    reply = { type: 'refused', error: (error as Error).message };
  }
} catch (error) {
  reply = { type: 'failed', error: (error as Error).message };
} finally {
  // Closed before the answer: a data directory is complete on disk when the caller hears of it.
  if (!(serve && reply?.type === 'restored')) {
    await db?.close().catch((error: Error) => {
      if (reply?.type === 'restored' && dataDir) reply = { type: 'failed', error: `the restored database could not be closed: ${error.message}` };
    });
  }
}

// One client: PGlite has one session, and the caller's walks ask one query at a time.
let client: pg.Client | undefined;
if (serve && reply.type === 'restored') {
  try {
    // As a new session would find it: the dump emptied search_path (and set more), which PGlite's one session keeps.
    await db!.exec('RESET ALL');
    client = new pg.Client(createPgConfig(db!));
    await client.connect();
  } catch (error) {
    client = undefined;
    reply = { type: 'failed', error: `the restored copy could not be queried: ${(error as Error).message}` };
  }
}
if (client) {
  const copy = client;
  port.on('message', (request: ScratchCopyQuery) => {
    copy.query(request.text, request.values).then(
      (result) => port.postMessage({ type: 'rows', id: request.id, rows: result.rows } satisfies ScratchCopyAnswer),
      (error: Error) => port.postMessage({ type: 'error', id: request.id, error: error.message } satisfies ScratchCopyAnswer),
    );
  });
  port.postMessage(reply);
} else {
  port.postMessage(reply);
  port.close();
}
