import { createService, type Service } from '../kit/service.js';
import type { EvolutionOversightConfig } from './config.js';
import { reportHealth } from './health.js';
import { auditPlugin } from './plugins/audit.js';
import { databasePlugin } from './plugins/database.js';
import { metricsPlugin } from './plugins/metrics.js';
import { policyEnginePlugin } from './plugins/policy-engine.js';
import { evolutionRoutes } from './routes/evolutions.js';

export const SERVICE_NAME = 'evolution-oversight';

/** Proposals are text up to a few thousand characters; anything near this limit is not one. */
export const BODY_LIMIT_BYTES = 64 * 1024;

/** The Evolution Oversight app: plugins (database, policy engine, audit outbox, metrics), then routes. */
export function buildApp(config: EvolutionOversightConfig): Service {
  const app: Service = createService({
    name: SERVICE_NAME,
    bodyLimit: BODY_LIMIT_BYTES,
    health: () => reportHealth(app),
  });
  app.register(databasePlugin, { databaseUrl: config.databaseUrl, poolMax: config.databasePoolMax });
  app.register(policyEnginePlugin, { url: config.policyEngineUrl, timeoutMs: config.policyEngineTimeoutMs });
  app.register(auditPlugin, {
    auditEngineUrl: config.auditEngineUrl,
    spoolDir: config.auditSpoolDir,
    serviceToken: config.serviceToken,
    ...(config.auditFlushIntervalMs === undefined ? {} : { flushIntervalMs: config.auditFlushIntervalMs }),
  });
  app.register(metricsPlugin);
  app.register(evolutionRoutes, { serviceToken: config.serviceToken });
  return app;
}
