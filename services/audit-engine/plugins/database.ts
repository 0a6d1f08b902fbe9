import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { createPool, describeDatabaseError, ensureDatabaseExists, migrate } from '../../kit/postgres.js';
import type { Service } from '../../kit/service.js';
import type { AuditEngineConfig } from '../config.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));
export const MIGRATIONS_TABLE = 'audit_engine_migrations';

declare module 'fastify' {
  interface FastifyInstance {
    auditDb: pg.Pool;
  }
}

/**
 * The PostgreSQL pool; the database is created if missing and migrated before the app is ready,
 * and the pool closes with the app. It decorates the root instance directly (not through an
 * encapsulated register) so that every route sees it.
 */
export function registerDatabase(app: Service, config: Pick<AuditEngineConfig, 'databaseUrl' | 'poolMax'>): void {
  const pool = createPool({ databaseUrl: config.databaseUrl, max: config.poolMax, applicationName: 'acgs-audit-engine' });
  app.decorate('auditDb', pool);
  app.addHook('onReady', async () => {
    try {
      if (await ensureDatabaseExists(config.databaseUrl)) app.log.info('created the audit database');
      const applied = await migrate(pool, { directory: MIGRATIONS_DIR, table: MIGRATIONS_TABLE, log: (message) => app.log.debug(message) });
      if (applied.length > 0) app.log.info({ migrations: applied }, 'applied database migrations');
    } catch (error) {
      throw new Error(describeDatabaseError(error, config.databaseUrl), { cause: error });
    }
  });
  app.addHook('onClose', async () => {
    await pool.end();
  });
}
