/**
 * One embedded PostgreSQL (PGlite) served on a loopback socket, inside a worker thread of its own
 * (services/stack/local/embedded-postgres.ts starts it). PGlite runs its queries synchronously in wasm; on the
 * main thread of npm start it would share one event loop with the bot, the console, the
 * supervisor and the other embedded databases, so that under load a service's statement waited
 * behind all of them and its pool gave up ("timeout exceeded when trying to connect").
 * Backups ask it for a logical dump: only this thread holds the instance (pglite-session-dump.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { dumpSession, sessionSizes, watchSession, type SessionDump } from '../backup/pglite-session-dump.js';

export type EmbeddedPostgresMessage = { type: 'listening'; port: number } | { type: 'failed'; error: string };

/** What the main thread asks once the database listens. */
export type EmbeddedPostgresRequest = { type: 'stop' } | { type: 'dump'; id: number; waitMs?: number } | { type: 'size'; id: number };
export type EmbeddedPostgresReply =
  | { type: 'dumped'; id: number; dump: SessionDump }
  | { type: 'sized'; id: number; databaseBytes: number; tableBytes: number }
  | { type: 'refused'; id: number; error: string };

const { dataDir } = workerData as { dataDir: string };
const port = parentPort!;

try {
  const db = await PGlite.create({ dataDir });
  const connected = { count: () => 0 };
  const watch = watchSession(db, () => connected.count());
  const server = new PGLiteSocketServer({ db: watch.db, host: '127.0.0.1', port: 0 });
  connected.count = () => server.getStats().activeConnections;
  await server.start();
  const address = (server as unknown as { server?: { address(): { port: number } } }).server?.address();
  if (!address?.port) throw new Error('embedded PostgreSQL did not report its port');
  port.on('message', async (request: EmbeddedPostgresRequest) => {
    if (request.type === 'stop') {
      port.removeAllListeners('message');
      await server.stop();
      await db.close();
      port.close();
      return;
    }
    try {
      const reply: EmbeddedPostgresReply =
        request.type === 'dump'
          ? { type: 'dumped', id: request.id, dump: await dumpSession(db, watch, { waitMs: request.waitMs }) }
          : { type: 'sized', id: request.id, ...(await sessionSizes(db, watch)) };
      port.postMessage(reply);
    } catch (error) {
      port.postMessage({ type: 'refused', id: request.id, error: (error as Error).message } satisfies EmbeddedPostgresReply);
    }
  });
  port.postMessage({ type: 'listening', port: address.port } satisfies EmbeddedPostgresMessage);
} catch (error) {
  port.postMessage({ type: 'failed', error: (error as Error).message } satisfies EmbeddedPostgresMessage);
  port.close();
}
