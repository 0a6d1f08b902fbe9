import type pg from 'pg';
import type { Service } from '../../kit/service.js';
import type { AuditEngineConfig } from '../config.js';
import { createPool, describeDatabaseError, migrate } from '../database.js';

declare module 'fastify' {
  interface FastifyInstance {
    auditDb: pg.Pool;
  }
}

/**
 * The PostgreSQL pool, migrated before the app is ready and closed with it. It decorates the
 * root instance directly (not through an encapsulated register) so that every route sees it.
 */
export function registerDatabase(app: Service, config: Pick<AuditEngineConfig, 'databaseUrl' | 'poolMax'>): void {
  const pool = createPool(config.databaseUrl, config.poolMax);
  app.decorate('auditDb', pool);
  app.addHook('onReady', async () => {
    try {
      const applied = await migrate(pool, (message) => app.log.debug(message));
      if (applied.length > 0) app.log.info({ migrations: applied }, 'applied database migrations');
    } catch (error) {
      throw new Error(describeDatabaseError(error, config.databaseUrl), { cause: error });
    }
  });
  app.addHook('onClose', async () => {
    await pool.end();
  });
}
