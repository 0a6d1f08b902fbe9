import { once } from 'node:events';
import { existsSync, rmSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { startTypeScriptWorker } from '../../kit/typescript-worker.js';
import { restoreSqlDump, type EmbeddedDumpSource } from '../backup/pglite-dump.js';
import type { SessionDump } from '../backup/pglite-session-dump.js';
import { recoverInterruptedSwap, swapDirectoriesOf, swapMarkerOf } from './embedded-postgres-swap.js';
import type { EmbeddedPostgresMessage, EmbeddedPostgresReply, EmbeddedPostgresRequest } from './embedded-postgres-worker.js';
import { ensurePrivateDirectory, restrictTreeToOwner } from './local-state.js';

export interface EmbeddedPostgres extends EmbeddedDumpSource {
  /** A `postgres://` URL the ordinary `pg` driver connects to. */
  url: string;
  /** Where its files are. */
  dataDir: string;
  /** A logical dump (plain SQL) with the row counts of the same state, taken in its worker. */
  dump(options?: { waitMs?: number }): Promise<SessionDump>;
  /** Its size on disk and its tables' data; also the proof that it answers. */
  size(): Promise<{ databaseBytes: number; tableBytes: number }>;
  /** Resolves once no client is connected (the socket serves one at a time); refused after `waitMs`. */
  untilNoClients(waitMs?: number): Promise<void>;
  /** What the start did about a restore a crash interrupted (embedded-postgres-swap.ts), for the log. */
  recovered: string | null;
  stop(): Promise<void>;
}

/**
 * PostgreSQL for `npm start` on a machine with nothing installed: PGlite (Postgres compiled to
 * wasm) served on a loopback socket, so the services run the same `pg` code as in production.
 * PGlite is single-session, so clients must use one connection (`DATABASE_POOL_MAX=1`).
 * One instance per database because PGlite holds exactly one, each in a worker thread of its own
 * (embedded-postgres-worker.ts says why).
 * PGlite writes its files 0666 whatever the umask, so the data directory and the folder holding
 * it are made private (0700) before it opens, and its files are set to 0600 once it has opened and
 * again when it stops: files it adds meanwhile sit inside directories no one else can enter.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  // Never a shared folder such as /tmp (sticky bit): making that 0700 would lock every other user
  // (and the postgres user) out of it. The data directory itself is private either way.
  if (!isSharedDirectory(dirname(dataDir))) ensurePrivateDirectory(dirname(dataDir));
  // Before the directory is made: a swap interrupted between its renames left none there.
  const recovered = recoverInterruptedSwap(dataDir);
  ensurePrivateDirectory(dataDir);
  const worker = startTypeScriptWorker(new URL('./embedded-postgres-worker.ts', import.meta.url), { dataDir });
  const exited = once(worker, 'exit');
  const [message] = (await Promise.race([
    once(worker, 'message'),
    exited.then(([code]) => [{ type: 'failed', error: `its worker exited with code ${code}` }]),
  ])) as [EmbeddedPostgresMessage];
  if (message.type === 'failed') {
    await worker.terminate();
    throw new Error(`embedded PostgreSQL in ${dataDir} did not start: ${message.error}`);
  }
  restrictTreeToOwner(dataDir);
  let nextId = 0;
  let stopping = false;
  const pending = new Map<number, { resolve: (reply: EmbeddedPostgresReply) => void; reject: (error: Error) => void }>();
  worker.on('message', (reply: EmbeddedPostgresReply) => {
    pending.get(reply.id)?.resolve(reply);
    pending.delete(reply.id);
  });
  void exited.then(([code]) => {
    for (const waiting of pending.values()) waiting.reject(new Error(`embedded PostgreSQL in ${dataDir} stopped (its worker exited with code ${code})`));
    pending.clear();
  });
  const ask = (request: EmbeddedPostgresRequest & { id: number }): Promise<EmbeddedPostgresReply> => {
    if (stopping) return Promise.reject(new Error(`embedded PostgreSQL in ${dataDir} is stopping`));
    return new Promise((resolve, reject) => {
      pending.set(request.id, { resolve, reject });
      worker.postMessage(request);
    });
  };
  const answer = <T extends EmbeddedPostgresReply['type']>(reply: EmbeddedPostgresReply, type: T): Extract<EmbeddedPostgresReply, { type: T }> => {
    if (reply.type === 'refused') throw new Error(reply.error);
    if (reply.type !== type) throw new Error(`embedded PostgreSQL answered ${reply.type} to a ${type} request`);
    return reply as Extract<EmbeddedPostgresReply, { type: T }>;
  };
  return {
    url: `postgres://postgres@127.0.0.1:${message.port}/postgres?sslmode=disable`,
    dataDir,
    recovered,
    async dump(options = {}) {
      return answer(await ask({ type: 'dump', id: nextId++, ...options }), 'dumped').dump;
    },
    async size() {
      const { databaseBytes, tableBytes } = answer(await ask({ type: 'size', id: nextId++ }), 'sized');
      return { databaseBytes, tableBytes };
    },
    async untilNoClients(waitMs = 10_000) {
      answer(await ask({ type: 'quiet', id: nextId++, waitMs }), 'quiet');
    },
    async rowCounts() {
      return answer(await ask({ type: 'count', id: nextId++ }), 'counted').rowCounts;
    },
    async replaceWith({ file, signal }) {
      const started = performance.now();
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.(\d{3})Z$/, '$1Z');
      const { restoredDir, previousDir } = swapDirectoriesOf(dataDir, stamp);
      ensurePrivateDirectory(restoredDir);
      let restored;
      try {
        restored = await restoreSqlDump({ file, signal, dataDir: restoredDir });
        signal?.throwIfAborted();
      } catch (error) {
        rmSync(restoredDir, { recursive: true, force: true });
        throw new Error(`${(error as Error).message}; the live database in ${dataDir} was not touched`, { cause: error });
      }
      restrictTreeToOwner(restoredDir);
      try {
        answer(await ask({ type: 'swap', id: nextId++, restoredDir, previousDir }), 'swapped');
      } catch (error) {
        // With the marker still there a crash-proof undo is pending (the next start does it): keep the copy it names.
        if (!existsSync(swapMarkerOf(dataDir))) rmSync(restoredDir, { recursive: true, force: true });
        throw error;
      }
      restrictTreeToOwner(dataDir);
      return { previousDir, rowCounts: restored.rowCounts, durationMs: Math.round(performance.now() - started) };
    },
    async discardPrevious(previousDir) {
      // Only a directory this database's restores made: never anything a caller names.
      if (!previousDir.startsWith(`${dataDir}.before-restore-`)) throw new Error(`${previousDir} is not a previous data directory of ${dataDir}`);
      rmSync(previousDir, { recursive: true, force: true });
    },
    async stop() {
      stopping = true;
      worker.postMessage({ type: 'stop' } satisfies EmbeddedPostgresRequest);
      await exited;
      restrictTreeToOwner(dataDir);
    },
  };
}

/** A directory others share by design: it exists with the sticky bit set (/tmp, /var/tmp). */
function isSharedDirectory(dir: string): boolean {
  try {
    return (statSync(dir).mode & 0o1000) !== 0;
  } catch {
    return false;
  }
}
