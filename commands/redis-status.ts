/**
 * `redis status`: the runbook's cache diagnosis (`redis-cli info memory`, `info stats`) against
 * the stack's Redis (REDIS_URL): memory against maxmemory, the eviction policy, keyspace hit rate.
 */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { formatCount, formatDuration, formatMs, formatPercent } from './format.js';
import { evictionPolicyLine, readRedis, redisMemoryLine } from './redis-reading.js';
import { worstTone, type CheckLine, type ResultDocument, type Tone } from './result.js';
import { RUNBOOK_THRESHOLDS, markLowerBound } from './thresholds.js';

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
  const { share: memoryShare, ...memory } = redisMemoryLine('Memory', figures.used_memory, figures.maxmemory);
  // Other clients share the keyspace (dedupe keys miss by design), so a low rate is worth a look, never a failure.
  const hitTone: Tone = hitRate === null ? 'info' : markLowerBound(hitRate, RUNBOOK_THRESHOLDS.cacheHitRate) === 'ok' ? 'ok' : 'warn';
  const totalKeys = Object.values(figures.keys).reduce((sum, count) => sum + count, 0);
  const items: CheckLine[] = [
    { name: 'Redis', tone: 'ok', text: `reachable · ${formatMs(latencyMs)} · ${figures.version} · up ${formatDuration(figures.uptime_seconds)}` },
    memory,
    evictionPolicyLine(figures.maxmemory_policy, figures.maxmemory),
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

export const redisStatusCommand = defineCommand({
  name: 'redis status',
  summary: 'Redis: memory, maxmemory policy, keyspace hit rate',
  examples: ['redis status'],
  level: 'read',
  args: z.object({}),
  run: (context) =>
    readRedis(context, {
      title: 'Redis status',
      what: 'its status',
      request: 'INFO',
      read: (redis) => redis.info(),
      document: (info, location, latencyMs) => redisStatusDocument(redisFigures(parseRedisInfo(info)), location, latencyMs),
    }),
});
