import type pg from 'pg';
import { createPool, ensureDatabase, migrate, redactDatabaseUrl } from '../store/database.js';
import { createEvolutionStore, type EvolutionStore } from '../store/evolution-store.js';
import { sharedPlugin } from './shared-plugin.js';

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

/** The PostgreSQL pool and the evolution store; creates the database and applies migrations first. */
export const databasePlugin = sharedPlugin<DatabasePluginOptions>(async (app, options) => {
  const where = redactDatabaseUrl(options.databaseUrl);
  try {
    if (await ensureDatabase(options.databaseUrl)) app.log.info({ database: where }, 'created the evolution database');
  } catch (error) {
    throw new Error(`PostgreSQL at ${where} is not usable: ${(error as Error).message}`);
  }
  const pool = createPool(options.databaseUrl, options.poolMax);
  try {
    const applied = await migrate(pool);
    if (applied.length > 0) app.log.info({ migrations: applied }, 'applied database migrations');
  } catch (error) {
    await pool.end();
    throw error;
  }
  app.decorate('evolutionPool', pool);
  app.decorate('evolutionStore', createEvolutionStore(pool));
  app.addHook('onClose', async () => {
    await pool.end();
  });
});
