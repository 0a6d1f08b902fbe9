/** How a step becomes PromQL: the instant value at a second, an average of ten values under ten minutes, of minutes above. */
import { expect, it } from 'vitest';
import { PROMQL, promqlFor } from './prometheus-queries.js';
import { METRIC_NAMES } from './metric-catalogue.js';

it('has an expression for every metric of the catalogue, each by service', () => {
  for (const metric of METRIC_NAMES) expect(PROMQL[metric]).toMatch(/by \(service/);
});

it('asks for the instant value at a step of a second', () => {
  expect(promqlFor('memory_bytes', 'avg', 1000)).toBe(PROMQL.memory_bytes);
});

it('combines ten values of a step under ten minutes, and values a minute apart for longer steps, with the stat asked', () => {
  expect(promqlFor('service_up', 'avg', 30_000)).toBe(`avg_over_time((${PROMQL.service_up})[30s:3s])`);
  expect(promqlFor('p99_latency_ms', 'max', 3600_000)).toBe(`max_over_time((${PROMQL.p99_latency_ms})[3600s:60s])`);
  // A minute's count summed over values six seconds apart is scaled back to one count per minute.
  expect(promqlFor('requests', 'sum', 60_000)).toBe(`sum_over_time((${PROMQL.requests})[60s:6s]) * 0.1`);
  expect(promqlFor('safety_violations', 'sum', 86_400_000)).toBe(`sum_over_time((${PROMQL.safety_violations})[86400s:60s])`);
});

it('asks the decision histogram for the p50, p95 and p99 in milliseconds', () => {
  expect(PROMQL.p50_latency_ms).toBe('histogram_quantile(0.5, sum by (service, le) (rate(policy_decision_duration_seconds_bucket[1m]))) * 1000');
  expect(PROMQL.p95_latency_ms).toBe('histogram_quantile(0.95, sum by (service, le) (rate(policy_decision_duration_seconds_bucket[1m]))) * 1000');
  expect(PROMQL.p99_latency_ms).toBe('histogram_quantile(0.99, sum by (service, le) (rate(policy_decision_duration_seconds_bucket[1m]))) * 1000');
});
