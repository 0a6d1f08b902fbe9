import { Counter, Gauge } from 'prom-client';
import fp from 'fastify-plugin';

export interface EvolutionMetrics {
  proposals: Counter<'outcome'>;
  transitions: Counter<'transition'>;
  policyFailures: Counter;
}

declare module 'fastify' {
  interface FastifyInstance {
    evolutionMetrics: EvolutionMetrics;
  }
}

/** Prometheus series of the service, on the kit's registry (needs the database plugin first). */
export const metricsPlugin = fp(async (app) => {
  const registers = [app.metricsRegistry];
  const store = app.evolutionStore;
  app.decorate('evolutionMetrics', {
    proposals: new Counter({
      name: 'evolution_proposals_total',
      help: 'Evolution proposals stored, by the outcome of the policy assessment (rejected = denied by policy)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    transitions: new Counter({
      name: 'evolution_transitions_total',
      help: 'Lifecycle transitions of evolutions (created, approved, rejected, rolled_back)',
      labelNames: ['transition'] as const,
      registers,
    }),
    policyFailures: new Counter({
      name: 'evolution_policy_engine_failures_total',
      help: 'Proposals refused with 503 because the Policy Engine gave no usable decision',
      registers,
    }),
  });
  new Gauge({
    name: 'evolution_pending_reviews',
    help: 'Evolutions waiting for a reviewer (human_review or fast_track)',
    registers,
    async collect() {
      // A scrape while the database is down keeps the last value rather than failing /metrics.
      try {
        this.set(await store.countPendingReviews());
      } catch {
        /* reported by /health */
      }
    },
  });
});
