import { dirname } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { ensurePrivateDirectory, restrictTreeToOwner } from './local-state.js';

export interface EmbeddedPostgres {
  /** A `postgres://` URL the ordinary `pg` driver connects to. */
  url: string;
  stop(): Promise<void>;
}

/**
 * PostgreSQL for `npm start` on a machine with nothing installed: PGlite (Postgres compiled to
 * wasm) served on a loopback socket, so the services run the same `pg` code as in production.
 * PGlite is single-session, so clients must use one connection (`DATABASE_POOL_MAX=1`).
 * One instance per database because PGlite holds exactly one.
 * PGlite writes its files 0666 whatever the umask, so the data directory and the folder holding
 * it are made private (0700) before it opens, and its files are set to 0600 once it has opened and
 * again when it stops: files it adds meanwhile sit inside directories no one else can enter.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  ensurePrivateDirectory(dirname(dataDir));
  ensurePrivateDirectory(dataDir);
  const db = await PGlite.create({ dataDir });
  restrictTreeToOwner(dataDir);
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
  await server.start();
  const address = (server as unknown as { server?: { address(): { port: number } } }).server?.address();
  const port = address?.port;
  if (!port) throw new Error('embedded PostgreSQL did not report its port');
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
    async stop() {
      await server.stop();
      await db.close();
      restrictTreeToOwner(dataDir);
    },
  };
}
