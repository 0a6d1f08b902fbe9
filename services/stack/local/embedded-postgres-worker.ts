/**
 * One embedded PostgreSQL (PGlite) served on a loopback socket, inside a worker thread of its own
 * (services/stack/local/embedded-postgres.ts starts it). PGlite runs its queries synchronously in wasm; on the
 * main thread of npm start it would share one event loop with the bot, the console, the
 * supervisor and the other embedded databases, so that under load a service's statement waited
 * behind all of them and its pool gave up ("timeout exceeded when trying to connect").
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export type EmbeddedPostgresMessage = { type: 'listening'; port: number } | { type: 'failed'; error: string };

const { dataDir } = workerData as { dataDir: string };
const port = parentPort!;

try {
  const db = await PGlite.create({ dataDir });
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
  await server.start();
  const address = (server as unknown as { server?: { address(): { port: number } } }).server?.address();
  if (!address?.port) throw new Error('embedded PostgreSQL did not report its port');
  port.once('message', async () => {
    await server.stop();
    await db.close();
    port.close();
  });
  port.postMessage({ type: 'listening', port: address.port } satisfies EmbeddedPostgresMessage);
} catch (error) {
  port.postMessage({ type: 'failed', error: (error as Error).message } satisfies EmbeddedPostgresMessage);
  port.close();
}
