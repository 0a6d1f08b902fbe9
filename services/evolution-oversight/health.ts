import type { FastifyInstance } from 'fastify';
import type { HealthReport } from '../kit/service.js';
import type { EvolutionHealth } from './contract.js';

const CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

async function attempt<T>(work: () => Promise<T>, what: string): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await withTimeout(work(), what) };
  } catch (error) {
    return { ok: false, error: (error as Error).message };
  }
}

/**
 * Health of the service: unhealthy without its database (it can do nothing), degraded without
 * the Policy Engine (reads and reviews work, new proposals get 503).
 */
export async function reportHealth(app: FastifyInstance): Promise<HealthReport & EvolutionHealth> {
  const [pending, policy] = await Promise.all([
    attempt(() => app.evolutionStore.countPendingReviews(), 'PostgreSQL'),
    attempt(() => app.policyEngine.ping(CHECK_TIMEOUT_MS), 'The Policy Engine'),
  ]);
  const status = !pending.ok ? 'unhealthy' : !policy.ok ? 'degraded' : 'healthy';
  return {
    status,
    pending_reviews: pending.ok ? pending.value : null,
    database: pending.ok ? { reachable: true } : { reachable: false, error: 'the database did not answer' },
    policy_engine: policy.ok
      ? { reachable: true, url: app.policyEngine.url }
      : { reachable: false, url: app.policyEngine.url, error: policy.error },
    audit_outbox: { pending: app.transitionAudit.outbox.pending(), rejected: app.transitionAudit.outbox.rejected() },
  };
}
