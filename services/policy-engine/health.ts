import type { FastifyInstance } from 'fastify';
import type { HealthReport } from '../kit/service.js';
import { redisStatus } from './plugins/redis.js';

/** Spooled audit events beyond which the engine reports itself degraded (the Audit Engine is not keeping up). */
export const OUTBOX_BACKLOG_DEGRADED = 1000;

/** `GET /health`: policy version, modes, cache, Redis and the audit outbox backlog. */
export function engineHealth(app: FastifyInstance): HealthReport {
  const redis = redisStatus(app.redis);
  const backlog = app.auditOutbox.pending();
  const problems: string[] = [];
  if (redis === 'unreachable') problems.push('Redis is unreachable: serving without the L2 cache and without shared modes');
  if (app.policy.lastReloadError) problems.push(`the last policy reload failed: ${app.policy.lastReloadError.message}`);
  if (!app.modes.inSync && redis === 'ready') problems.push('the modes are not yet shared through Redis');
  if (backlog >= OUTBOX_BACKLOG_DEGRADED) problems.push(`${backlog} audit events wait for the Audit Engine`);
  return {
    status: problems.length > 0 ? 'degraded' : 'healthy',
    problems,
    policy: {
      version: app.policy.version,
      loaded_at: app.policy.loadedAt.toISOString(),
      last_reload_error: app.policy.lastReloadError ?? null,
    },
    modes: app.modes.current,
    cache: app.decisionCache.stats(),
    redis,
    audit_outbox: { pending: backlog, rejected: app.auditOutbox.rejected() },
    safety_violations_per_minute: app.engineStats.safetyViolationsPerMinute,
  };
}
