import { hostname } from 'node:os';
import type { PolicyEngineConfig } from '../config.js';
import { DecisionCache } from '../decision-cache.js';
import { DecisionService } from '../decision-service.js';
import { EngineStats } from '../engine-stats.js';
import { deriveL2SigningKey } from '../l2-entry-signature.js';
import { createL2RejectionReporter } from '../l2-rejection-report.js';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    decisionCache: DecisionCache;
    engineStats: EngineStats;
    decisions: DecisionService;
  }
}

export const decisionsPlugin = fp<{ config: PolicyEngineConfig }>(async (app, { config }) => {
  let l2ErrorLogged = false;
  // L2 entries are signed with a key derived from the admin token: without the token this
  // replica could neither sign its entries nor tell a forged "allow" from a real one.
  const l2 = app.redis && config.adminToken ? { redis: app.redis, signingKey: deriveL2SigningKey(config.adminToken) } : undefined;
  if (app.redis && !l2) {
    app.log.warn({}, 'no ACGS_ADMIN_TOKEN: the L2 decision cache is off (its entries are signed with a key derived from the token)');
  }
  const cache = new DecisionCache({
    l1Max: config.l1CacheSize,
    ...(l2 ? { l2 } : {}),
    keyPrefix: config.redisKeyPrefix,
    l2TtlSeconds: config.l2TtlSeconds,
    onL2Error: (error, operation) => {
      // One line per outage is enough; the count is in /v1/metrics.
      if (l2ErrorLogged) return;
      l2ErrorLogged = true;
      app.log.warn({ err: error, operation }, 'L2 cache failed; evaluating instead (further failures are only counted)');
    },
    onL2Rejected: createL2RejectionReporter({
      log: app.log,
      audit: (event) => app.auditOutbox.record(event),
      replica: `${hostname()}:${config.port}`,
    }),
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
});
