import { once } from 'node:events';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EmbeddedPostgresMessage } from './embedded-postgres-worker.js';
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
 * One instance per database because PGlite holds exactly one, each in a worker thread of its own
 * (embedded-postgres-worker.ts says why).
 * PGlite writes its files 0666 whatever the umask, so the data directory and the folder holding
 * it are made private (0700) before it opens, and its files are set to 0600 once it has opened and
 * again when it stops: files it adds meanwhile sit inside directories no one else can enter.
 */
/**
 * The worker is TypeScript: it registers tsx itself before loading it, whatever loader this
 * process was started with (tsx's CLI, node --import tsx, vitest).
 */
const WORKER_BOOT = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(new URL('./embedded-postgres-worker.ts', import.meta.url).href)}); })`;

export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  ensurePrivateDirectory(dirname(dataDir));
  ensurePrivateDirectory(dataDir);
  const worker = new Worker(WORKER_BOOT, { eval: true, workerData: { dataDir } });
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
  return {
    url: `postgres://postgres@127.0.0.1:${message.port}/postgres?sslmode=disable`,
    async stop() {
      worker.postMessage('stop');
      await exited;
      restrictTreeToOwner(dataDir);
    },
  };
}
