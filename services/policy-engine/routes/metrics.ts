import type { Service } from '../../kit/service.js';
import { NoQuery, PolicyMetrics } from '../contract.js';

/** The runbook's JSON metrics; Prometheus text stays at the kit's `GET /metrics`. */
export async function metricsRoutes(app: Service): Promise<void> {
  app.get('/v1/metrics', { schema: { querystring: NoQuery, response: { 200: PolicyMetrics } } }, async () =>
    app.engineStats.metrics(),
  );
}
