/**
 * `cache-degradation` (Level 1): the runbook's "Cache Performance Degradation". It reads the
 * Policy Engine's caches (hit rate against 95 %, L1 fill, L2 errors and forged entries, p99 and
 * error rate) and the stack's Redis (memory against 85 %, eviction policy), warms the cache only
 * when it is cold or under 95 %, then measures the hit rate of the lookups made since the check.
 * Clearing the cache (Level 2) and flushing Redis (Level 3) are named, never run.
 */
import { z } from 'zod';
import { cacheClear } from '../../commands/cache-clear.js';
import { cacheFindings, cacheStats } from '../../commands/cache-stats.js';
import { formatBytes, formatCount, formatMs, formatPercent } from '../../commands/format.js';
import { describeRedisError, probeRedis, withDeadline } from '../../commands/health-probes.js';
import { EXPECTED_EVICTION_POLICY, redisMemoryLine } from '../../commands/redis-reading.js';
import { redisFlush } from '../../commands/redis-flush.js';
import { RUNBOOK_THRESHOLDS, markUpperBound } from '../../commands/thresholds.js';
import type { PolicyMetrics } from '../../services/policy-engine/contract.js';
import { defineRunbook, type StepContext } from '../engine/definition.js';
import { callService, commandLevel, commandPorts, evidenceOf, nextStep, nextStepsSentence, optionalEvidenceOf, skipped, type Finding, type NextStep } from './troubleshooting-support.js';

const Args = z.object({}).strict();
type Context = StepContext<z.output<typeof Args>>;

const HIT_TARGET = RUNBOOK_THRESHOLDS.cacheHitRate.target;
const target = formatPercent(HIT_TARGET, 0);
const alertMs = RUNBOOK_THRESHOLDS.policyP99Ms.alert;
const errorTarget = formatPercent(RUNBOOK_THRESHOLDS.errorRate.target);

interface CacheEvidence {
  problem: boolean;
  hitRate: number | null;
  lookups: number;
  /** Counters at the check, so the verify measures only what came after the warm. */
  counters: { hits: number; lookups: number };
  l1: { entries: number; max: number };
  l2: { enabled: boolean; errors: number; rejected: number };
  p99Ms: number;
  errorRate: number;
}

const hitsOf = (metrics: PolicyMetrics) => metrics.cache_stats.l1.hits + metrics.cache_stats.l2.hits;

async function readMetrics(context: Context): Promise<PolicyMetrics> {
  const commands = commandPorts(context.ports, ['policyEngine']);
  return callService('policy-engine', commands, () => commands.policyEngine.metrics());
}

function judgeCache(metrics: PolicyMetrics): Finding<CacheEvidence> {
  const { lookups, mark } = cacheFindings(metrics);
  const { l1, l2 } = metrics.cache_stats;
  const cold = l1.size === 0;
  const low = mark === 'warn' || mark === 'fail';
  const served = metrics.request_count > 0;
  const evidence = [
    `L1 holds ${formatCount(l1.size)} of ${formatCount(l1.max)} entries`,
    ...(l2.enabled ? [`L2 (Redis) ${formatCount(l2.errors)} errors${l2.rejected > 0 ? `, ${formatCount(l2.rejected)} forged entries refused` : ''}`] : ['L2 (Redis) off']),
    ...(served
      ? [
          `p99 ${formatMs(metrics.percentiles.p99)} (${metrics.percentiles.p99 > alertMs ? `over the ${alertMs} ms alert` : `alert over ${alertMs} ms`})`,
          `errors ${formatPercent(metrics.error_rate, 2)} (${markUpperBound(metrics.error_rate, RUNBOOK_THRESHOLDS.errorRate) === 'ok' ? `target under ${errorTarget}` : `over the ${errorTarget} target`})`,
        ]
      : []),
  ].join('; ');
  const rate = lookups > 0 ? `The hit rate is ${formatPercent(metrics.cache_hit_rate)} of ${formatCount(lookups)} lookups` : 'No decision was looked up yet';
  const verdict = cold
    ? `: the cache is cold (empty L1, as after a restart or a clear)`
    : low
      ? `, under the runbook's ${target}`
      : lookups > 0
        ? `, over the runbook's ${target}: the cache is not degraded`
        : ', and L1 is not empty: nothing to judge';
  return {
    summary: `${rate}${verdict}. ${evidence}.`,
    evidence: {
      problem: cold || low,
      hitRate: lookups > 0 ? metrics.cache_hit_rate : null,
      lookups,
      counters: { hits: hitsOf(metrics), lookups },
      l1: { entries: l1.size, max: l1.max },
      l2: { enabled: l2.enabled, errors: l2.errors, rejected: l2.rejected },
      p99Ms: metrics.percentiles.p99,
      errorRate: metrics.error_rate,
    },
  };
}

interface RedisEvidence {
  configured: boolean;
  reachable?: boolean;
  memoryShare?: number | null;
  evictionPolicy?: string;
  /** Over the runbook's 85 % of maxmemory, or not answering. */
  problem: boolean;
}

async function checkRedis(context: Context): Promise<Finding<RedisEvidence>> {
  const commands = commandPorts(context.ports, []);
  const redis = context.ports.commands?.redis;
  if (!redis) {
    return { summary: 'No Redis is configured for the bot (REDIS_URL is not set), so it was not checked; the Policy Engine says whether its L2 is on.', evidence: { configured: false, problem: false } };
  }
  const timeoutMs = commands.checkTimeoutMs ?? 2000;
  const probe = await probeRedis(redis, timeoutMs, context.signal);
  if (!probe.ok) return { summary: `Redis does not answer: ${probe.problem}.`, evidence: { configured: true, reachable: false, problem: true } };
  let figures;
  try {
    figures = await withDeadline(timeoutMs, context.signal, () => redis.memory());
  } catch (error) {
    return { summary: `Redis at ${redis.location} answers but INFO memory failed: ${describeRedisError(error)}.`, evidence: { configured: true, reachable: false, problem: true } };
  }
  const line = redisMemoryLine('Memory', figures.used_memory, figures.maxmemory);
  const over = line.share !== null && markUpperBound(line.share, RUNBOOK_THRESHOLDS.memoryUtilization) !== 'ok';
  const eviction = figures.maxmemory_policy === EXPECTED_EVICTION_POLICY ? `eviction ${figures.maxmemory_policy}` : `eviction ${figures.maxmemory_policy} (the stack expects ${EXPECTED_EVICTION_POLICY})`;
  const memory =
    line.share === null
      ? `${formatBytes(figures.used_memory)} used, no maxmemory limit`
      : `${formatBytes(figures.used_memory)} of ${formatBytes(figures.maxmemory)} (${formatPercent(line.share)})${over ? `, over the runbook's ${formatPercent(RUNBOOK_THRESHOLDS.memoryUtilization.target, 0)}` : ''}`;
  return {
    summary: `Redis at ${redis.location} answers in ${formatMs(probe.latencyMs)}: ${memory}; ${eviction}.`,
    evidence: { configured: true, reachable: true, memoryShare: line.share, evictionPolicy: figures.maxmemory_policy, problem: over },
  };
}

/** What a Level 1 runbook leaves to people: clearing (Level 2), flushing (Level 3), restarting Redis (by hand). */
function escalation(cache: CacheEvidence, redis: RedisEvidence | undefined, stillLow: boolean): NextStep[] {
  const steps: NextStep[] = [];
  if (cache.l2.rejected > 0 || stillLow) {
    steps.push(
      nextStep(
        cacheClear.name,
        commandLevel(cacheClear.level),
        cache.l2.rejected > 0 ? 'Redis holds cache entries the engine refused as forged; clear them, then warm again' : `if the hit rate stays under ${target}, the entries may be stale or corrupt`,
      ),
    );
  }
  if (redis?.reachable === false) steps.push(nextStep('docker-compose restart redis', 'manual', 'Redis does not answer; the engine answers from L1 meanwhile'));
  if (redis?.reachable && redis.problem) steps.push(nextStep(redisFlush.name, commandLevel(redisFlush.level), `Redis is over ${formatPercent(RUNBOOK_THRESHOLDS.memoryUtilization.target, 0)} of its maxmemory`));
  return steps;
}

export const cacheDegradation = defineRunbook({
  source: import.meta.url,
  name: 'cache-degradation',
  summary: `Cache degradation: check the hit rate (${target}) and Redis, warm the cache if it is cold or low, then measure again`,
  level: 1,
  args: Args,
  steps: [
    {
      id: 'check-cache',
      kind: 'check',
      title: `Read the Policy Engine's caches against the runbook's ${target} hit rate`,
      timeoutMs: 15_000,
      idempotent: true,
      run: async (context) => judgeCache(await readMetrics(context)),
      dryRun: async (context) => ({ mode: 'read-only-check', text: judgeCache(await readMetrics(context)).summary }),
    },
    {
      id: 'check-redis',
      kind: 'check',
      title: "Check the stack's Redis: reachable, memory against maxmemory, eviction policy",
      timeoutMs: 10_000,
      idempotent: true,
      run: (context) => checkRedis(context),
      dryRun: async (context) => ({ mode: 'read-only-check', text: (await checkRedis(context)).summary }),
    },
    {
      id: 'warm-cache',
      kind: 'act',
      title: 'Warm the cache (Level 1), only if it is cold or under the hit rate target',
      timeoutMs: 60_000,
      // Warming twice only finds the decisions cached already.
      idempotent: true,
      async run(context) {
        const check = evidenceOf<CacheEvidence>(context.outputs, 'check-cache');
        if (!check.problem) return skipped(`the check found the cache healthy (${check.hitRate === null ? 'no lookups yet' : `${formatPercent(check.hitRate)} hit rate`}, ${formatCount(check.l1.entries)} L1 entries), so nothing was warmed.`);
        const commands = commandPorts(context.ports, ['policyEngine']);
        const result = await callService('policy-engine', commands, () => commands.policyEngine.warmCache());
        return {
          summary: `Warmed the cache: ${formatCount(result.warmed)} common decisions evaluated and cached, ${formatCount(result.already_cached)} of the ${formatCount(result.total)} were cached already.`,
          evidence: { remedyRan: true, warmed: result.warmed, alreadyCached: result.already_cached, total: result.total },
        };
      },
      async dryRun(context) {
        const check = judgeCache(await readMetrics(context));
        return { mode: 'read-only-check', text: check.evidence.problem ? `Would warm the cache (POST /v1/cache/warm): ${check.summary}` : `Would skip: ${check.summary}` };
      },
    },
    {
      id: 'verify-cache',
      kind: 'verify',
      title: 'Measure again: L1 filled, and the hit rate of the lookups since the check',
      timeoutMs: 15_000,
      idempotent: true,
      async run(context) {
        const before = evidenceOf<CacheEvidence>(context.outputs, 'check-cache');
        const redis = optionalEvidenceOf<RedisEvidence>(context.outputs, 'check-redis');
        const now = judgeCache(await readMetrics(context)).evidence;
        const lookups = now.counters.lookups - before.counters.lookups;
        const recent = lookups > 0 ? (now.counters.hits - before.counters.hits) / lookups : null;
        const stillCold = now.l1.entries === 0;
        const stillLow = recent !== null && recent <= HIT_TARGET;
        const since =
          recent === null
            ? 'no decision was looked up since the check, so the hit rate since then cannot be measured yet'
            : `${formatPercent(recent)} of the ${formatCount(lookups)} lookups since the check hit (target over ${target})`;
        const filled = `L1 holds ${formatCount(now.l1.entries)} entries (was ${formatCount(before.l1.entries)})`;
        const next = escalation(now, redis, stillLow);
        if (stillCold || stillLow) {
          throw new Error(`Not resolved: ${filled}; ${since}.${nextStepsSentence(next) || ` Next: \`/acgs ${cacheStats.name}\` (read-only) shows the caches.`}`);
        }
        const verdict = before.problem ? 'The warm helped' : 'The cache was healthy and still is';
        return { summary: `${verdict}: ${filled}; ${since}.${nextStepsSentence(next)}`, evidence: { resolved: true, l1Entries: now.l1.entries, hitRateSinceCheck: recent, nextSteps: next } };
      },
      dryRun: async () => ({ mode: 'description', text: `Would read the caches again and require a non-empty L1 and, when decisions were asked for meanwhile, a hit rate over ${target} since the check` }),
    },
  ],
});
