import type { Service } from '../../kit/service.js';
import type { PolicyEngineConfig } from '../config.js';
import { DecisionCache } from '../decision-cache.js';
import { DecisionService } from '../decision-service.js';
import { EngineStats } from '../engine-stats.js';

declare module 'fastify' {
  interface FastifyInstance {
    decisionCache: DecisionCache;
    engineStats: EngineStats;
    decisions: DecisionService;
  }
}

export async function decisionsPlugin(app: Service, config: PolicyEngineConfig): Promise<void> {
  let l2ErrorLogged = false;
  const cache = new DecisionCache({
    l1Max: config.l1CacheSize,
    redis: app.redis,
    keyPrefix: config.redisKeyPrefix,
    l2TtlSeconds: config.l2TtlSeconds,
    onL2Error: (error, operation) => {
      // One line per outage is enough; the count is in /v1/metrics.
      if (l2ErrorLogged) return;
      l2ErrorLogged = true;
      app.log.warn({ err: error, operation }, 'L2 cache failed; evaluating instead (further failures are only counted)');
    },
  });
  app.redis?.on('ready', () => {
    l2ErrorLogged = false;
  });
  const stats = new EngineStats(app.metricsRegistry, {
    cache: () => cache.stats(),
    policyVersion: () => app.policy.version,
    modes: () => app.modes.current,
    startedAt: app.startedAt,
  });
  // Entries of the old version can never be hit again; free them at once.
  app.policy.onReload(() => cache.clearL1());
  app.decorate('decisionCache', cache);
  app.decorate('engineStats', stats);
  app.decorate(
    'decisions',
    new DecisionService({
      policy: app.policy,
      cache,
      stats,
      audit: app.auditOutbox,
      l2LookupMinEvalMs: config.l2LookupMinEvalMs,
    }),
  );
}
