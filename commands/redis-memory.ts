/**
 * `redis memory`: the runbook's `redis-cli info memory`: used and peak memory, fragmentation,
 * maxmemory and its eviction policy, marked against the runbook's 85 % memory threshold.
 */
import { z } from 'zod';
import { defineCommand, type CommandContext } from './command.js';
import { formatBytes, formatPercent } from './format.js';
import { DeadlineError, describeRedisError, probeRedis, withDeadline } from './health-probes.js';
import { EXPECTED_EVICTION_POLICY, parseRedisInfo } from './redis-status.js';
import { worstTone, type CheckLine, type ResultDocument, type Tone } from './result.js';
import { redisLocation } from './stack-connections.js';
import { RUNBOOK_THRESHOLDS, markUpperBound } from './thresholds.js';

/** Fragmentation above this wastes memory; below 1 Redis is being swapped. Only meaningful with real data in it. */
export const FRAGMENTATION_WARN = 1.5;
const FRAGMENTATION_MIN_BYTES = 64 * 1024 * 1024;

export interface RedisMemoryFigures {
  used_memory: number;
  used_memory_peak: number;
  used_memory_rss: number;
  mem_fragmentation_ratio: number | null;
  maxmemory: number;
  maxmemory_policy: string;
}

export function redisMemoryFigures(info: Map<string, string>): RedisMemoryFigures {
  const number = (key: string) => Number(info.get(key) ?? 0) || 0;
  const ratio = Number(info.get('mem_fragmentation_ratio'));
  return {
    used_memory: number('used_memory'),
    used_memory_peak: number('used_memory_peak'),
    used_memory_rss: number('used_memory_rss'),
    mem_fragmentation_ratio: Number.isFinite(ratio) && info.has('mem_fragmentation_ratio') ? ratio : null,
    maxmemory: number('maxmemory'),
    maxmemory_policy: info.get('maxmemory_policy') ?? 'unknown',
  };
}

export function redisMemoryDocument(figures: RedisMemoryFigures, location: string): ResultDocument {
  const share = figures.maxmemory > 0 ? figures.used_memory / figures.maxmemory : null;
  const memoryTone: Tone = share === null ? 'info' : markUpperBound(share, RUNBOOK_THRESHOLDS.memoryUtilization);
  const ratio = figures.mem_fragmentation_ratio;
  const fragmentationTone: Tone = ratio !== null && figures.used_memory_rss >= FRAGMENTATION_MIN_BYTES && (ratio > FRAGMENTATION_WARN || ratio < 1) ? 'warn' : 'info';
  const policyTone: Tone = figures.maxmemory_policy === EXPECTED_EVICTION_POLICY ? 'ok' : figures.maxmemory > 0 && figures.maxmemory_policy === 'noeviction' ? 'warn' : 'info';
  const items: CheckLine[] = [
    {
      name: 'Used',
      tone: memoryTone,
      text:
        share === null
          ? `${formatBytes(figures.used_memory)}; no maxmemory limit (production sets one)`
          : `${formatBytes(figures.used_memory)} of ${formatBytes(figures.maxmemory)} (${formatPercent(share)}) · target under ${formatPercent(RUNBOOK_THRESHOLDS.memoryUtilization.target, 0)}`,
    },
    { name: 'Peak', tone: 'info', text: formatBytes(figures.used_memory_peak) },
    {
      name: 'Fragmentation',
      tone: fragmentationTone,
      text:
        ratio === null
          ? 'not reported'
          : `${ratio.toFixed(2)} (resident ${formatBytes(figures.used_memory_rss)})${fragmentationTone === 'warn' ? (ratio < 1 ? ': under 1, Redis is being swapped out' : `: over ${FRAGMENTATION_WARN}, memory is wasted (activedefrag or a restart returns it)`) : ''}`,
    },
    {
      name: 'Eviction policy',
      tone: policyTone,
      text:
        policyTone === 'warn'
          ? `${figures.maxmemory_policy}: writes fail once maxmemory is reached; the stack expects ${EXPECTED_EVICTION_POLICY}`
          : `${figures.maxmemory_policy}${policyTone === 'ok' ? '' : ` (the stack's compose file uses ${EXPECTED_EVICTION_POLICY})`}`,
    },
  ];
  const tone = worstTone(items.map((item) => item.tone));
  const attention = items.filter((item) => item.tone === 'warn' || item.tone === 'fail').map((item) => item.name.toLowerCase());
  return {
    title: 'Redis memory',
    tone,
    summary: attention.length === 0 ? `Redis at ${location}: ${formatBytes(figures.used_memory)} used; nothing needs attention.` : `Redis at ${location}: look at ${attention.join(', ')}.`,
    blocks: [{ type: 'checks', items }],
    footer: `INFO memory at ${location}`,
    data: { configured: true, reachable: true, location, memory_utilization: share, ...figures },
  };
}

async function redisMemory(context: CommandContext): Promise<ResultDocument> {
  const { redis, checkTimeoutMs } = context.services;
  if (!redis) {
    return {
      title: 'Redis memory',
      tone: 'info',
      summary: 'No Redis is configured for the bot: REDIS_URL is not set.',
      blocks: [{ type: 'text', text: "The local stack runs without Redis (the Policy Engine uses its in-process cache). Set REDIS_URL to the stack's Redis to see its memory here." }],
      data: { configured: false },
    };
  }
  const location = redisLocation(redis);
  const down = (problem: string): ResultDocument => ({
    title: 'Redis memory',
    tone: 'fail',
    summary: `Redis at ${location} is not reachable.`,
    blocks: [{ type: 'checks', items: [{ name: 'Redis', tone: 'fail', text: problem }] }],
    footer: "The runbook's diagnosis: `docker-compose ps redis`, `docker-compose logs redis`; restart with `docker-compose restart redis`.",
    data: { configured: true, reachable: false, location, problem },
  });
  const probe = await probeRedis(redis, checkTimeoutMs, context.signal);
  if (!probe.ok) return down(probe.problem);
  try {
    const info = await withDeadline(checkTimeoutMs, context.signal, async () => {
      // CONFIG may be renamed away on a managed Redis: the policy is then read from INFO alone.
      const [memory, config] = await Promise.all([redis.info('memory'), (redis.config('GET', 'maxmemory-policy') as Promise<unknown>).catch(() => undefined)]);
      return { memory, policy: Array.isArray(config) && typeof config[1] === 'string' ? config[1] : undefined };
    });
    const values = parseRedisInfo(info.memory);
    // INFO memory carries maxmemory_policy since Redis 4; CONFIG GET is the runbook's own check and covers older ones.
    if (!values.has('maxmemory_policy') && info.policy) values.set('maxmemory_policy', info.policy);
    return redisMemoryDocument(redisMemoryFigures(values), location);
  } catch (error) {
    return down(error instanceof DeadlineError ? `INFO memory got ${error.message}` : describeRedisError(error));
  }
}

export const redisMemoryCommand = defineCommand({
  name: 'redis memory',
  summary: 'Redis memory: used, peak, fragmentation, maxmemory and eviction policy',
  examples: ['redis memory'],
  level: 'read',
  args: z.object({}),
  run: (context) => redisMemory(context),
});
