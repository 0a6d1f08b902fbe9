/**
 * `redis status`: the runbook's cache diagnosis (`redis-cli info memory`, `info stats`) against
 * the stack's Redis (REDIS_URL): memory against maxmemory, the eviction policy, keyspace hit rate.
 */
import { z } from 'zod';
import { defineCommand, type CommandContext } from './command.js';
import { formatBytes, formatCount, formatDuration, formatMs, formatPercent } from './format.js';
import { describeRedisError, probeRedis, withDeadline, DeadlineError } from './health-probes.js';
import { worstTone, type CheckLine, type ResultDocument, type Tone } from './result.js';
import { redisLocation } from './stack-connections.js';
import { RUNBOOK_THRESHOLDS, markLowerBound, markUpperBound } from './thresholds.js';

/** The eviction policy the stack's compose file gives Redis (docker-compose.yml). */
export const EXPECTED_EVICTION_POLICY = 'allkeys-lru';

const WHAT_TO_TRY = 'The runbook\'s diagnosis: `docker-compose ps redis`, `docker-compose logs redis`; restart with `docker-compose restart redis`. The Policy Engine keeps answering from its L1 cache meanwhile.';

/** `INFO` text as key/value pairs. */
export function parseRedisInfo(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const separator = line.indexOf(':');
    if (separator > 0 && !line.startsWith('#')) values.set(line.slice(0, separator), line.slice(separator + 1).trim());
  }
  return values;
}

export interface RedisFigures {
  version: string;
  used_memory: number;
  maxmemory: number;
  maxmemory_policy: string;
  keyspace_hits: number;
  keyspace_misses: number;
  connected_clients: number;
  uptime_seconds: number;
  /** Keys per database, e.g. `{db0: 12}`. */
  keys: Record<string, number>;
}

export function redisFigures(info: Map<string, string>): RedisFigures {
  const number = (key: string) => Number(info.get(key) ?? 0) || 0;
  const keys: Record<string, number> = {};
  for (const [key, value] of info) {
    if (/^db\d+$/.test(key)) keys[key] = Number(/keys=(\d+)/.exec(value)?.[1] ?? 0);
  }
  return {
    version: info.get('redis_version') ?? 'unknown',
    used_memory: number('used_memory'),
    maxmemory: number('maxmemory'),
    maxmemory_policy: info.get('maxmemory_policy') ?? 'unknown',
    keyspace_hits: number('keyspace_hits'),
    keyspace_misses: number('keyspace_misses'),
    connected_clients: number('connected_clients'),
    uptime_seconds: number('uptime_in_seconds'),
    keys,
  };
}

export function redisStatusDocument(figures: RedisFigures, location: string, latencyMs: number): ResultDocument {
  const lookups = figures.keyspace_hits + figures.keyspace_misses;
  const hitRate = lookups > 0 ? figures.keyspace_hits / lookups : null;
  const memoryShare = figures.maxmemory > 0 ? figures.used_memory / figures.maxmemory : null;
  const memoryTone: Tone = memoryShare === null ? 'info' : markUpperBound(memoryShare, RUNBOOK_THRESHOLDS.memoryUtilization);
  const policyTone: Tone =
    figures.maxmemory_policy === EXPECTED_EVICTION_POLICY ? 'ok' : figures.maxmemory > 0 && figures.maxmemory_policy === 'noeviction' ? 'warn' : 'info';
  // Other clients share the keyspace (dedupe keys miss by design), so a low rate is worth a look, never a failure.
  const hitTone: Tone = hitRate === null ? 'info' : markLowerBound(hitRate, RUNBOOK_THRESHOLDS.cacheHitRate) === 'ok' ? 'ok' : 'warn';
  const totalKeys = Object.values(figures.keys).reduce((sum, count) => sum + count, 0);
  const items: CheckLine[] = [
    { name: 'Redis', tone: 'ok', text: `reachable · ${formatMs(latencyMs)} · ${figures.version} · up ${formatDuration(figures.uptime_seconds)}` },
    {
      name: 'Memory',
      tone: memoryTone,
      text:
        memoryShare === null
          ? `${formatBytes(figures.used_memory)} used; no maxmemory limit (production sets one)`
          : `${formatBytes(figures.used_memory)} of ${formatBytes(figures.maxmemory)} (${formatPercent(memoryShare)}) · target under ${formatPercent(RUNBOOK_THRESHOLDS.memoryUtilization.target, 0)}`,
    },
    {
      name: 'Eviction policy',
      tone: policyTone,
      text:
        policyTone === 'warn'
          ? `${figures.maxmemory_policy}: writes fail once maxmemory is reached; the stack expects ${EXPECTED_EVICTION_POLICY}`
          : `${figures.maxmemory_policy}${policyTone === 'ok' ? '' : ` (the stack's compose file uses ${EXPECTED_EVICTION_POLICY})`}`,
    },
    {
      name: 'Keyspace hit rate',
      tone: hitTone,
      text:
        hitRate === null
          ? 'no lookups yet'
          : `${formatPercent(hitRate)} (${formatCount(figures.keyspace_hits)} hits, ${formatCount(figures.keyspace_misses)} misses) · target over ${formatPercent(RUNBOOK_THRESHOLDS.cacheHitRate.target, 0)}`,
    },
  ];
  const tone = worstTone(items.map((item) => item.tone));
  const attention = items.filter((item) => item.tone === 'warn' || item.tone === 'fail').map((item) => item.name.toLowerCase());
  return {
    title: 'Redis status',
    tone,
    summary: attention.length === 0 ? `Redis at ${location} answers; nothing needs attention.` : `Redis at ${location} answers; look at: ${attention.join(', ')}.`,
    blocks: [
      { type: 'checks', items },
      {
        type: 'fields',
        fields: [
          { label: 'Keys', value: formatCount(totalKeys) },
          { label: 'Clients', value: formatCount(figures.connected_clients) },
        ],
      },
    ],
    data: { configured: true, reachable: true, location, latency_ms: Math.round(latencyMs * 10) / 10, keyspace_hit_rate: hitRate, memory_utilization: memoryShare, ...figures },
  };
}

async function redisStatus(context: CommandContext): Promise<ResultDocument> {
  const { redis, checkTimeoutMs } = context.services;
  if (!redis) {
    return {
      title: 'Redis status',
      tone: 'info',
      summary: 'No Redis is configured for the bot: REDIS_URL is not set.',
      blocks: [{ type: 'text', text: 'The local stack runs without Redis: the Policy Engine uses its in-process cache only. Set REDIS_URL to the stack\'s Redis to see its status here.' }],
      data: { configured: false },
    };
  }
  const location = redisLocation(redis);
  const down = (problem: string): ResultDocument => ({
    title: 'Redis status',
    tone: 'fail',
    summary: `Redis at ${location} is not reachable.`,
    blocks: [{ type: 'checks', items: [{ name: 'Redis', tone: 'fail', text: problem }] }],
    footer: WHAT_TO_TRY,
    data: { configured: true, reachable: false, location, problem },
  });
  const probe = await probeRedis(redis, checkTimeoutMs, context.signal);
  if (!probe.ok) return down(probe.problem);
  try {
    const info = await withDeadline(checkTimeoutMs, context.signal, () => redis.info());
    return redisStatusDocument(redisFigures(parseRedisInfo(info)), location, probe.latencyMs);
  } catch (error) {
    return down(error instanceof DeadlineError ? `INFO got ${error.message}` : describeRedisError(error));
  }
}

export const redisStatusCommand = defineCommand({
  name: 'redis status',
  summary: 'Redis: memory, maxmemory policy, keyspace hit rate',
  examples: ['redis status'],
  level: 'read',
  args: z.object({}),
  run: (context) => redisStatus(context),
});
