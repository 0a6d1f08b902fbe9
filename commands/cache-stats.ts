/**
 * `cache stats`: the Policy Engine's decision caches (in-process L1, Redis L2), the runbook's
 * "Check cache size" step with the hit rate marked against its threshold.
 */
import { z } from 'zod';
import type { PolicyMetrics } from '../services/policy-engine/contract.js';
import { defineCommand } from './command.js';
import { formatCount, formatPercent } from './format.js';
import { worstTone, type CheckLine, type ResultDocument, type Tone } from './result.js';
import { callServiceClient } from './service-errors.js';
import { RUNBOOK_THRESHOLDS, markLowerBound } from './thresholds.js';

/** The cache's figures judged against the runbook: `cache stats` shows them, the cache-degradation runbook acts on them. */
export interface CacheFindings {
  /** L1 lookups since the engine started (every decision looks there first). */
  lookups: number;
  /** The overall hit rate's mark against the runbook's 95 %; `info` before any lookup. */
  mark: Tone;
  /** L1 entries against its maximum. */
  fill: number;
  l2Lookups: number;
}

export function cacheFindings(metrics: PolicyMetrics): CacheFindings {
  const { l1, l2 } = metrics.cache_stats;
  const lookups = l1.hits + l1.misses;
  return {
    lookups,
    mark: lookups > 0 ? markLowerBound(metrics.cache_hit_rate, RUNBOOK_THRESHOLDS.cacheHitRate) : 'info',
    fill: l1.max > 0 ? l1.size / l1.max : 0,
    l2Lookups: l2.hits + l2.misses + l2.errors,
  };
}

export function cacheStatsDocument(metrics: PolicyMetrics): ResultDocument {
  const { l1, l2 } = metrics.cache_stats;
  const { lookups, l2Lookups, mark: overall, fill } = cacheFindings(metrics);
  const items: CheckLine[] = [
    {
      name: 'Hit rate',
      tone: overall,
      text: lookups > 0 ? `${formatPercent(metrics.cache_hit_rate)} of ${formatCount(lookups)} lookups · target over ${formatPercent(RUNBOOK_THRESHOLDS.cacheHitRate.target, 0)}` : 'no lookups yet',
    },
    {
      name: 'L1 (in process)',
      tone: 'info',
      text: `${formatCount(l1.size)} of ${formatCount(l1.max)} entries (${formatPercent(fill)}) · ${formatCount(l1.hits)} hits, ${formatCount(l1.misses)} misses`,
    },
    l2.enabled
      ? {
          name: 'L2 (Redis)',
          // Errors are lookups Redis failed; the engine then evaluates, slower but still correct.
          // Rejected entries had no valid MAC: someone without the admin token wrote to Redis.
          tone: l2.rejected > 0 ? 'fail' : l2.errors > 0 ? 'warn' : 'ok',
          text:
            `${l2Lookups > 0 ? `${formatPercent(l2.hits / l2Lookups)} hit` : 'no lookups yet'} · ${formatCount(l2.hits)} hits, ${formatCount(l2.misses)} misses, ${formatCount(l2.errors)} errors, ${formatCount(l2.bypassed)} skipped (evaluated at once)` +
            (l2.rejected > 0 ? ` · ${formatCount(l2.rejected)} forged entries refused (missing or wrong MAC; see the engine's log and audit events)` : ''),
        }
      : { name: 'L2 (Redis)', tone: 'info', text: 'off: the Policy Engine has no REDIS_URL, or no ACGS_ADMIN_TOKEN to sign its entries with' },
  ];
  const tone = worstTone(items.map((item) => item.tone));
  return {
    title: 'Policy Engine caches',
    tone,
    summary:
      overall === 'info'
        ? 'No decisions were looked up yet.'
        : overall === 'ok'
          ? 'The caches answer enough lookups.'
          : `The hit rate is under the runbook's ${formatPercent(RUNBOOK_THRESHOLDS.cacheHitRate.target, 0)}; the runbook warms the cache (POST /v1/cache/warm) under ${formatPercent(RUNBOOK_THRESHOLDS.cacheHitRate.alert, 0)}.`,
    blocks: [{ type: 'checks', items }],
    footer: `Policy version ${metrics.policy_version} · from GET /v1/metrics`,
    data: {
      cache_hit_rate: metrics.cache_hit_rate,
      l1_hit_rate: metrics.l1_hit_rate,
      l2_hit_rate: metrics.l2_hit_rate,
      cache_stats: metrics.cache_stats,
      mark: overall,
    },
  };
}

export const cacheStats = defineCommand({
  name: 'cache stats',
  summary: "The Policy Engine's decision caches: size, hits, misses",
  examples: ['cache stats'],
  level: 'read',
  args: z.object({}),
  async run(context) {
    return cacheStatsDocument(await callServiceClient('policy-engine', context.services, () => context.services.policyEngine.metrics()));
  },
});
