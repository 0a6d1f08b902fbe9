import type { FastifyServerOptions } from 'fastify';
import { describeDatabaseError } from '../kit/postgres.js';
import type { HealthReport } from '../kit/service.js';
import { type Service, createService } from '../kit/service.js';
import type { AuditEngineConfig } from './config.js';
import { registerDatabase } from './plugins/database.js';
import { registerEventStore } from './plugins/event-store.js';
import { eventRoutes } from './routes/events.js';
import { verifyRoutes } from './routes/verify.js';

export interface BuildOptions {
  logger?: FastifyServerOptions['logger'];
}

async function auditHealth(app: Service, databaseUrl: string): Promise<HealthReport> {
  const lastVerification = app.chainVerifier.last();
  try {
    const head = await app.auditStore.head();
    return {
      // A chain that failed its last verification still takes appends, but someone must look.
      status: lastVerification && !lastVerification.valid ? 'degraded' : 'healthy',
      database: { reachable: true },
      chain_head: head,
      last_verification: lastVerification,
    };
  } catch (error) {
    return {
      status: 'unhealthy',
      database: { reachable: false, error: describeDatabaseError(error, databaseUrl) },
      chain_head: null,
      last_verification: lastVerification,
    };
  }
}

/** The Audit Engine: append-only, hash-chained audit events in PostgreSQL (see README.md). */
export function buildApp(config: AuditEngineConfig, options: BuildOptions = {}): Service {
  const app: Service = createService({
    name: 'audit-engine',
    bodyLimit: config.bodyLimitBytes,
    logger: options.logger,
    health: () => auditHealth(app, config.databaseUrl),
  });
  registerDatabase(app, config);
  registerEventStore(app, config);
  void app.register(eventRoutes);
  void app.register(verifyRoutes);
  return app;
}
