import { type FastifyServerOptions } from 'fastify';
import { createService, type Service } from '../kit/service.js';
import type { PolicyEngineConfig } from './config.js';
import { engineHealth } from './health.js';
import { auditPlugin } from './plugins/audit.js';
import { decisionsPlugin } from './plugins/decisions.js';
import { modesPlugin } from './plugins/modes.js';
import { policyPlugin } from './plugins/policy.js';
import { redisPlugin } from './plugins/redis.js';
import { adminRoutes } from './routes/admin.js';
import { cacheRoutes } from './routes/cache.js';
import { dataApiRoutes } from './routes/data-api.js';
import { metricsRoutes } from './routes/metrics.js';

export interface BuildOptions {
  logger?: FastifyServerOptions['logger'];
}

/**
 * The Policy Engine: plugins in dependency order (Redis, audit outbox, modes, policy,
 * decisions), then the routes. Resolves once the policy is loaded and the modes are known.
 */
export async function buildApp(config: PolicyEngineConfig, options: BuildOptions = {}): Promise<Service> {
  const app = createService({
    name: 'policy-engine',
    bodyLimit: config.bodyLimit,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    health: () => engineHealth(app),
  });
  try {
    await app.register(redisPlugin, { config });
    await app.register(auditPlugin, { config });
    await app.register(modesPlugin, { config });
    await app.register(policyPlugin, { config });
    await app.register(decisionsPlugin, { config });
    await app.register(dataApiRoutes);
    await app.register(metricsRoutes);
    await app.register(cacheRoutes, { adminToken: config.adminToken });
    await app.register(adminRoutes, { adminToken: config.adminToken });
    await app.ready();
  } catch (error) {
    // Release what the plugins already opened (Redis connection, outbox spool, watcher).
    await app.close().catch(() => undefined);
    throw error;
  }
  return app;
}
