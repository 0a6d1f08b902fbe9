/**
 * The runbook's "Post-deployment Checklist". Most of it the bot measures: health, the Policy
 * Engine's KPIs against the runbook's thresholds, both audit trails. Whether monitoring works and
 * whether the documentation was updated are ticked by a person.
 */
import { auditTrailsIntact, cacheHitRateNormal, errorRateNormal, latencyWithinSlo, servicesHealthy } from './checks.js';
import { defineChecklist } from './definition.js';

export const postDeployment = defineChecklist({
  name: 'post-deployment',
  title: 'Post-deployment checklist',
  summary: 'After a deployment: health, SLOs, error and cache rates, audit trails, monitoring, documentation',
  items: [
    { id: 'services-healthy', mode: 'auto', text: 'All services healthy', note: "Each service's /health and the policy's health document (and PostgreSQL and Redis where configured).", check: servicesHealthy },
    { id: 'performance-slos', mode: 'auto', text: 'Performance within SLOs', note: 'Policy Engine P99 under 1 ms (GET /v1/metrics).', check: latencyWithinSlo },
    { id: 'no-error-spikes', mode: 'auto', text: 'No error rate spikes', note: 'Policy Engine error rate under 0.1 % since it started (GET /v1/metrics).', check: errorRateNormal },
    { id: 'cache-hit-rates', mode: 'auto', text: 'Cache hit rates normal', note: 'Policy Engine cache hit rate over 95 % (GET /v1/metrics).', check: cacheHitRateNormal },
    { id: 'audit-trails-intact', mode: 'auto', text: 'Audit trails intact', note: "The Audit Engine's chain and the bot's own trail, each verified from its last signed checkpoint.", check: auditTrailsIntact },
    {
      id: 'monitoring-functioning',
      mode: 'manual',
      text: 'Monitoring functioning',
      note: 'The bot does not read Prometheus or the dashboards: tick once they show the new release.',
    },
    { id: 'documentation-updated', mode: 'manual', text: 'Documentation updated', note: 'Release notes and the runbook are documents the bot does not read: tick once they are current.' },
  ],
});
