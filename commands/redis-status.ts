/**
 * `redis status`: the runbook's cache diagnosis (`redis-cli info memory`, `info stats`) against
 * the stack's Redis (REDIS_URL): memory against maxmemory, the eviction policy, keyspace hit rate.
 */
import { z } from 'zod';
import type { RedisFigures } from '../services/stack/stack-redis.js';
import { defineCommand } from './command.js';
import { formatCount, formatDuration, formatMs, formatPercent } from './format.js';
import { evictionPolicyLine, readRedis, redisMemoryLine } from './redis-reading.js';
import { worstTone, type CheckLine, type ResultDocument, type Tone } from './result.js';
import { RUNBOOK_THRESHOLDS, markLowerBound } from './thresholds.js';

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

export const redisStatus = defineCommand({
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
      read: (redis) => redis.status(),
      document: (figures, location, latencyMs) => redisStatusDocument(figures, location, latencyMs),
    }),
});
