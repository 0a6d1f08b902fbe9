/**
 * One embedded PostgreSQL (PGlite) served on a loopback socket, inside a worker thread of its own
 * (services/stack/local/embedded-postgres.ts starts it). PGlite runs its queries synchronously in wasm; on the
 * main thread of npm start it would share one event loop with the bot, the console, the
 * supervisor and the other embedded databases, so that under load a service's statement waited
 * behind all of them and its pool gave up ("timeout exceeded when trying to connect").
 * Backups ask it for a logical dump: only this thread holds the instance (pglite-session-dump.ts).
 * `restore` asks it to swap its data directory for a restored one (embedded-postgres-swap.ts).
 */
import { setTimeout as delay } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { PGlite, protocol } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { dumpSession, sessionRowCounts, sessionSizes, watchSession, type SessionDump } from '../backup/pglite-session-dump.js';
import { swapDataDirectories, SwapUndone } from './embedded-postgres-swap.js';

export type EmbeddedPostgresMessage = { type: 'listening'; port: number } | { type: 'failed'; error: string };

/** What the main thread asks once the database listens. */
export type EmbeddedPostgresRequest =
  | { type: 'stop' }
  | { type: 'dump'; id: number; waitMs?: number }
  | { type: 'size'; id: number }
  | { type: 'count'; id: number }
  | { type: 'quiet'; id: number; waitMs: number }
  | { type: 'swap'; id: number; restoredDir: string; previousDir: string };
export type EmbeddedPostgresReply =
  | { type: 'dumped'; id: number; dump: SessionDump }
  | { type: 'sized'; id: number; databaseBytes: number; tableBytes: number }
  | { type: 'counted'; id: number; rowCounts: Record<string, number> }
  | { type: 'swapped'; id: number }
  | { type: 'quiet'; id: number }
  | { type: 'refused'; id: number; error: string };

const { dataDir } = workerData as { dataDir: string };
const port = parentPort!;

interface Served {
  db: PGlite;
  watch: ReturnType<typeof watchSession>;
  server: PGLiteSocketServer;
  port: number;
}

/**
 * PGlite is one backend session, which the socket lends to each client in turn; on a real server
 * every connection is a session of its own. Without this the next client (a service restarted,
 * or started again by its supervisor) inherits what the one before it left: its prepared
 * statements (the Audit Engine's named append then fails with "prepared statement ... already
 * exists"), its settings (search_path, TimeZone), temporary tables and advisory locks.
 * It runs when the server dispatches `connection`: right after it attached the new client's
 * socket and before any of that client's messages can be read (they arrive by later I/O
 * callbacks), and it takes the same query lock as those messages, so it cannot come between them.
 * The client before has been let go by then (maxConnections 1) and its queued messages dropped,
 * but the socket hands PGlite one message at a time, so a client that died between Execute and
 * Sync left its exchange open: ROLLBACK aborts what it executed (PostgreSQL skips it after an
 * error), Sync ends the exchange (and that skipping), and a transaction block still open is rolled
 * back, since DISCARD ALL cannot run inside one.
 */
async function resetSession(db: PGlite): Promise<void> {
  const { query, sync } = protocol.serialize;
  await db.runExclusive(async () => {
    await db.execProtocol(query('ROLLBACK'), { throwOnError: false });
    await db.execProtocol(sync(), { throwOnError: false });
    if (db.isInTransaction()) await db.execProtocol(query('ROLLBACK'));
    await db.execProtocol(query('DISCARD ALL'));
  });
}

/** Opens the database in `dir` and serves it on `onPort` (0: any free port). */
async function serve(dir: string, onPort: number): Promise<Served> {
  const db = await PGlite.create({ dataDir: dir });
  try {
    const connected = { count: () => 0 };
    const watch = watchSession(db, () => connected.count());
    const server = new PGLiteSocketServer({ db: watch.db, host: '127.0.0.1', port: onPort });
    connected.count = () => server.getStats().activeConnections;
    server.addEventListener('connection', () => {
      resetSession(db).catch((error: Error) => console.error(`embedded PostgreSQL in ${dir}: the session was not reset for a new client: ${error.message}`));
    });
    await server.start();
    const address = (server as unknown as { server?: { address(): { port: number } } }).server?.address();
    if (!address?.port) throw new Error('embedded PostgreSQL did not report its port');
    return { db, watch, server, port: address.port };
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Waits until no client is connected. A client that ended (a stopped service) is let go by the
 * socket server only once it has seen the close: until then it counts, and a new client is refused
 * ("Too many connections", one session). The server has no event for it, so this looks again.
 */
async function untilNoClients(served: Served, waitMs: number): Promise<void> {
  const started = performance.now();
  while (served.server.getStats().activeConnections > 0) {
    if (performance.now() - started > waitMs) throw new Error(`${served.server.getStats().activeConnections} client(s) stayed connected to it for ${Math.round(waitMs / 1000)} s (its writers are not all stopped); nothing was replaced`);
    await delay(10);
  }
}

async function unserve(served: Served): Promise<void> {
  await served.server.stop();
  await served.db.close();
}

try {
  let live = await serve(dataDir, 0);
  // Requests run one at a time: a swap must not meet a dump of the instance it closes.
  let queue: Promise<unknown> = Promise.resolve();
  const handle = async (request: Exclude<EmbeddedPostgresRequest, { type: 'stop' }>): Promise<EmbeddedPostgresReply> => {
    switch (request.type) {
      case 'dump':
        return { type: 'dumped', id: request.id, dump: await dumpSession(live.db, live.watch, { waitMs: request.waitMs }) };
      case 'size':
        return { type: 'sized', id: request.id, ...(await sessionSizes(live.db, live.watch)) };
      case 'count':
        return { type: 'counted', id: request.id, rowCounts: await sessionRowCounts(live.db, live.watch) };
      case 'quiet':
        await untilNoClients(live, request.waitMs);
        return { type: 'quiet', id: request.id };
      case 'swap': {
        // The stopped writers' connections end a moment after their processes.
        await untilNoClients(live, 10_000);
        const onPort = live.port;
        try {
          live = await swapDataDirectories({ live, dataDir, restoredDir: request.restoredDir, previousDir: request.previousDir, open: (dir) => serve(dir, onPort), close: unserve });
        } catch (error) {
          if (error instanceof SwapUndone) live = error.live as Served;
          throw error;
        }
        return { type: 'swapped', id: request.id };
      }
    }
  };
  port.on('message', (request: EmbeddedPostgresRequest) => {
    if (request.type === 'stop') {
      port.removeAllListeners('message');
      queue = queue.then(async () => {
        await unserve(live);
        port.close();
      });
      return;
    }
    queue = queue.then(async () => {
      try {
        port.postMessage(await handle(request));
      } catch (error) {
        port.postMessage({ type: 'refused', id: request.id, error: (error as Error).message } satisfies EmbeddedPostgresReply);
      }
    });
  });
  port.postMessage({ type: 'listening', port: live.port } satisfies EmbeddedPostgresMessage);
} catch (error) {
  port.postMessage({ type: 'failed', error: (error as Error).message } satisfies EmbeddedPostgresMessage);
  port.close();
}
