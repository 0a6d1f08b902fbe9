import type { FastifyServerOptions } from 'fastify';
import { describeDatabaseError } from '../kit/postgres.js';
import type { HealthReport } from '../kit/service.js';
import { type Service, createService } from '../kit/service.js';
import type { AuditEngineConfig } from './config.js';
import type { ChainIntegrity, VerifyResponse } from './contract.js';
import { databasePlugin } from './plugins/database.js';
import { eventStorePlugin } from './plugins/event-store.js';
import { adminRoutes } from './routes/admin.js';
import { eventRoutes } from './routes/events.js';
import { verifyRoutes } from './routes/verify.js';

export interface BuildOptions {
  logger?: FastifyServerOptions['logger'];
}

function integrityOf(verification: VerifyResponse | null): ChainIntegrity | null {
  if (!verification) return null;
  const { valid, checked_at, events_checked, first_broken } = verification;
  return { valid, checked_at, events_checked, ...(first_broken ? { first_broken } : {}) };
}

async function auditHealth(app: Service, databaseUrl: string): Promise<HealthReport> {
  const integrity = integrityOf(app.chainVerifier.last());
  try {
    const head = await app.auditStore.head();
    return {
      // A chain that failed its last verification still takes appends, but someone must look.
      status: integrity && !integrity.valid ? 'degraded' : 'healthy',
      database: { reachable: true },
      chain_head: head,
      integrity,
    };
  } catch (error) {
    return {
      status: 'unhealthy',
      database: { reachable: false, error: describeDatabaseError(error, databaseUrl) },
      chain_head: null,
      integrity,
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
  void app.register(databasePlugin, { config });
  void app.register(eventStorePlugin, { config });
  void app.register(eventRoutes, { serviceToken: config.serviceToken });
  void app.register(verifyRoutes);
  void app.register(adminRoutes, { adminToken: config.adminToken });
  return app;
}
