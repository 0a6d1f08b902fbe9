/**
 * Each metric of the catalogue as PromQL over the series the services expose, the same ones
 * prometheus/alert-rules.yml judges: each expression is the metric's value at one instant, by
 * `service`, rates over the last minute (the sampler's minute). A step longer than a minute
 * combines those minute values with <stat>_over_time, as the sampler combines its minute rows.
 */
import type { MetricName, MetricStat } from './metric-catalogue.js';

const SERVICES_JOB = 'job="acgs-services"';

/** A percentile of the engine's decision latency over the last minute, in ms. */
const latencyQuantile = (quantile: number) => `histogram_quantile(${quantile}, sum by (service, le) (rate(policy_decision_duration_seconds_bucket[1m]))) * 1000`;

export const PROMQL: Readonly<Record<MetricName, string>> = {
  p50_latency_ms: latencyQuantile(0.5),
  p95_latency_ms: latencyQuantile(0.95),
  p99_latency_ms: latencyQuantile(0.99),
  error_rate_percent: '100 * sum by (service) (rate(policy_requests_total{outcome="error"}[1m])) / sum by (service) (rate(policy_requests_total[1m]))',
  cache_hit_rate_percent:
    '100 * sum by (service) (rate(policy_cache_hits_total[1m])) / (sum by (service) (rate(policy_cache_hits_total[1m])) + sum by (service) (rate(policy_evaluations_total[1m])))',
  safety_violations: 'sum by (service) (increase(policy_safety_violations_total[1m]))',
  requests: 'sum by (service) (increase(policy_requests_total[1m]))',
  cpu_percent: `100 * max by (service) (rate(process_cpu_seconds_total{${SERVICES_JOB}}[1m]))`,
  memory_percent: `100 * max by (service) (process_resident_memory_bytes{${SERVICES_JOB}} / service_memory_limit_bytes{${SERVICES_JOB}})`,
  memory_bytes: `sum by (service) (process_resident_memory_bytes{${SERVICES_JOB}})`,
  // Down when the scrape fails or the service says it is unhealthy, as the ServiceDown rule.
  service_up: `min by (service) ((up{${SERVICES_JOB}} == 0) or service_healthy{${SERVICES_JOB}})`,
};

/**
 * The expression for one query, per step of `stepMs`; the history keeps the services asked for.
 * A step is combined from values a minute apart (the sampler's minute), or from ten values when
 * the step is shorter than ten minutes, so that even a short range (an uptime of the last seconds)
 * is an average over it rather than its last value.
 */
export function promqlFor(metric: MetricName, stat: MetricStat, stepMs: number): string {
  const instant = PROMQL[metric];
  const resolutionSeconds = Math.min(60, Math.max(1, Math.round(stepMs / 10_000)));
  if (stepMs <= 1000) return instant;
  const combined = `${stat}_over_time((${instant})[${Math.round(stepMs / 1000)}s:${resolutionSeconds}s])`;
  // Each value counts a whole minute: values closer than a minute would count some twice.
  return stat === 'sum' && resolutionSeconds < 60 ? `${combined} * ${resolutionSeconds / 60}` : combined;
}
