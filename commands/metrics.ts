/**
 * `metrics`: the runbook's KPIs from the Policy Engine's GET /v1/metrics, each marked against the
 * runbook's thresholds (thresholds.ts), like the runbook's `jq` one-liner but with a verdict.
 */
import { z } from 'zod';
import type { PolicyMetrics } from '../services/policy-engine/contract.js';
import { defineCommand } from './command.js';
import { formatCount, formatDuration, formatMs, formatPercent } from './format.js';
import { worstTone, type CheckLine, type ResultDocument, type Tone } from './result.js';
import { callServiceClient } from './service-errors.js';
import { RUNBOOK_THRESHOLDS, markLowerBound, markUpperBound } from './thresholds.js';

export interface MetricsData {
  p99_latency_ms: number;
  percentiles: PolicyMetrics['percentiles'];
  cache_hit_rate: number;
  error_rate: number;
  requests_per_second: number;
  request_count: number;
  safety_violations_total: number;
  safety_violations_per_minute: number;
  targets_met: PolicyMetrics['targets_met'];
  /** The verdict on each KPI; `info` where there is nothing to judge yet. */
  marks: Record<'p99_latency' | 'error_rate' | 'cache_hit_rate' | 'safety_violations' | 'targets_met', Tone>;
  thresholds: typeof RUNBOOK_THRESHOLDS;
}

export function metricsDocument(metrics: PolicyMetrics): ResultDocument {
  const t = RUNBOOK_THRESHOLDS;
  const served = metrics.request_count > 0;
  const lookups = metrics.cache_stats.l1.hits + metrics.cache_stats.l1.misses;
  const requestsPerSecond = metrics.uptime_seconds > 0 ? metrics.request_count / metrics.uptime_seconds : 0;

  const p99: Tone = served ? markUpperBound(metrics.percentiles.p99, t.policyP99Ms) : 'info';
  const errors: Tone = served ? markUpperBound(metrics.error_rate, t.errorRate) : 'info';
  const cache: Tone = lookups > 0 ? markLowerBound(metrics.cache_hit_rate, t.cacheHitRate) : 'info';
  const violations: Tone =
    metrics.safety_violations_per_minute > t.safetyViolationsPerMinute.alert ? 'fail' : metrics.safety_violations_total > 0 ? 'info' : 'ok';
  const missed = Object.entries(metrics.targets_met)
    .filter(([name, met]) => name !== 'all' && !met)
    .map(([name]) => name);
  const targets: Tone = !served ? 'info' : metrics.targets_met.all ? 'ok' : 'warn';

  const { p50, p95 } = metrics.percentiles;
  const items: CheckLine[] = [
    {
      name: 'P99 latency',
      tone: p99,
      text: served
        ? `${formatMs(metrics.percentiles.p99)} (p50 ${formatMs(p50)}, p95 ${formatMs(p95)}, last ${metrics.latency_window_seconds} s) · target under ${t.policyP99Ms.target} ms, alert over ${t.policyP99Ms.alert} ms`
        : 'no decisions yet',
    },
    {
      name: 'Error rate',
      tone: errors,
      text: served
        ? `${formatPercent(metrics.error_rate, 2)} (${formatCount(metrics.error_count)} of ${formatCount(metrics.request_count)} requests failed) · target under ${formatPercent(t.errorRate.target)}`
        : 'no requests yet',
    },
    {
      name: 'Cache hit rate',
      tone: cache,
      text:
        lookups > 0
          ? `${formatPercent(metrics.cache_hit_rate)} (L1 ${formatPercent(metrics.l1_hit_rate)}, L2 ${formatPercent(metrics.l2_hit_rate)}) · target over ${formatPercent(t.cacheHitRate.target, 0)}, warm the cache under ${formatPercent(t.cacheHitRate.alert, 0)}`
          : 'no lookups yet',
    },
    {
      name: 'Requests',
      tone: 'info',
      text: `${requestsPerSecond.toFixed(2)} req/s (${formatCount(metrics.request_count)} in ${formatDuration(metrics.uptime_seconds)})`,
    },
    {
      name: 'Safety violations',
      tone: violations,
      text: `${formatCount(metrics.safety_violations_per_minute)} in the last minute, ${formatCount(metrics.safety_violations_total)} since start · lockdown threshold ${t.safetyViolationsPerMinute.alert}/min`,
    },
    {
      name: 'Targets met',
      tone: targets,
      text: !served ? 'nothing to judge yet' : metrics.targets_met.all ? 'all (p99, cache hit rate, error rate)' : `missed: ${missed.join(', ')}`,
    },
  ];
  const tone = worstTone(items.map((item) => item.tone));
  const judged = items.filter((item) => item.tone !== 'info');
  const bad = judged.filter((item) => item.tone === 'warn' || item.tone === 'fail').map((item) => item.name);
  const summary = !served
    ? 'The Policy Engine has served no decisions yet; there is nothing to judge.'
    : bad.length === 0
      ? 'Every KPI is within the runbook\'s thresholds.'
      : `Outside the runbook's thresholds: ${bad.join(', ')}.`;
  const data: MetricsData = {
    p99_latency_ms: metrics.p99_latency_ms,
    percentiles: metrics.percentiles,
    cache_hit_rate: metrics.cache_hit_rate,
    error_rate: metrics.error_rate,
    requests_per_second: requestsPerSecond,
    request_count: metrics.request_count,
    safety_violations_total: metrics.safety_violations_total,
    safety_violations_per_minute: metrics.safety_violations_per_minute,
    targets_met: metrics.targets_met,
    marks: { p99_latency: p99, error_rate: errors, cache_hit_rate: cache, safety_violations: violations, targets_met: targets },
    thresholds: RUNBOOK_THRESHOLDS,
  };
  return {
    title: 'Policy Engine KPIs',
    tone,
    summary,
    blocks: [
      { type: 'checks', items },
      {
        type: 'fields',
        fields: [
          { label: 'Modes', value: metrics.mode.lockdown ? 'emergency lockdown' : metrics.mode.strict ? 'strict' : 'normal' },
          { label: 'Policy version', value: metrics.policy_version },
          { label: 'Uptime', value: formatDuration(metrics.uptime_seconds) },
          { label: 'Rejected requests', value: formatCount(metrics.rejected_count) },
        ],
      },
    ],
    footer: `From GET /v1/metrics · constitutional hash ${metrics.constitutional_hash}`,
    data,
  };
}

export const metrics = defineCommand({
  name: 'metrics',
  aliases: ['kpi', 'kpis'],
  summary: 'Policy Engine KPIs against the runbook thresholds',
  examples: ['metrics'],
  level: 'read',
  args: z.object({}),
  async run(context) {
    const figures = await callServiceClient('policy-engine', context.services, () => context.services.policyEngine.metrics());
    return metricsDocument(figures);
  },
});
