import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { createPool, describeDatabaseError, ensureDatabaseExists, migrate } from '../../kit/postgres.js';
import { createEvolutionStore, type EvolutionStore } from '../store/evolution-store.js';
import fp from 'fastify-plugin';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));
export const MIGRATIONS_TABLE = 'evolution_migrations';

declare module 'fastify' {
  interface FastifyInstance {
    evolutionStore: EvolutionStore;
    evolutionPool: pg.Pool;
  }
}

export interface DatabasePluginOptions extends Record<string, unknown> {
  databaseUrl: string;
  poolMax: number;
}

/** The PostgreSQL pool and the evolution store; creates the database if missing and migrates it first. */
export const databasePlugin = fp<DatabasePluginOptions>(async (app, options) => {
  const pool = createPool({ databaseUrl: options.databaseUrl, max: options.poolMax, applicationName: 'acgs-evolution-oversight' });
  try {
    if (await ensureDatabaseExists(options.databaseUrl)) app.log.info('created the evolution database');
    const applied = await migrate(pool, { directory: MIGRATIONS_DIR, table: MIGRATIONS_TABLE, log: (message) => app.log.debug(message) });
    if (applied.length > 0) app.log.info({ migrations: applied }, 'applied database migrations');
  } catch (error) {
    await pool.end();
    throw new Error(describeDatabaseError(error, options.databaseUrl), { cause: error });
  }
  app.decorate('evolutionPool', pool);
  app.decorate('evolutionStore', createEvolutionStore(pool));
  app.addHook('onClose', async () => {
    await pool.end();
  });
});
