/**
 * `backup verify` of an embedded database's dump: a fresh in-memory PGlite in a thread of its own
 * (PGlite runs synchronously; the bot's event loop must not wait behind a restore), the dump
 * applied as one query string, which PostgreSQL runs as one implicit transaction that stops at the
 * first error and keeps nothing of it, then every table counted. The thread ends after one answer
 * and takes the instance with it. `restore` of an embedded database builds its replacement the
 * same way, in a data directory (`dataDir`) instead of memory, closed before the answer.
 */
import { readFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { countRows } from './pglite-session-dump.js';

export type ScratchRestoreReply = { type: 'restored'; rowCounts: Record<string, number>; durationMs: number } | { type: 'refused'; error: string } | { type: 'failed'; error: string };

const { file, dataDir } = workerData as { file: string; dataDir?: string };
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
  await db?.close().catch((error: Error) => {
    if (reply?.type === 'restored' && dataDir) reply = { type: 'failed', error: `the restored database could not be closed: ${error.message}` };
  });
}
port.postMessage(reply!);
port.close();
