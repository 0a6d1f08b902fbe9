/**
 * `redis memory`: the runbook's `redis-cli info memory`: used and peak memory, fragmentation,
 * maxmemory and its eviction policy, marked against the runbook's 85 % memory threshold.
 */
import { z } from 'zod';
import type { RedisMemoryFigures } from '../services/stack/stack-redis.js';
import { defineCommand } from './command.js';
import { formatBytes } from './format.js';
import { evictionPolicyLine, readRedis, redisMemoryLine } from './redis-reading.js';
import { worstTone, type CheckLine, type ResultDocument, type Tone } from './result.js';

/** Fragmentation above this wastes memory; below 1 Redis is being swapped. Only meaningful with real data in it. */
export const FRAGMENTATION_WARN = 1.5;
const FRAGMENTATION_MIN_BYTES = 64 * 1024 * 1024;

export function redisMemoryDocument(figures: RedisMemoryFigures, location: string): ResultDocument {
  const { share, ...used } = redisMemoryLine('Used', figures.used_memory, figures.maxmemory);
  const ratio = figures.mem_fragmentation_ratio;
  const fragmentationTone: Tone = ratio !== null && figures.used_memory_rss >= FRAGMENTATION_MIN_BYTES && (ratio > FRAGMENTATION_WARN || ratio < 1) ? 'warn' : 'info';
  const items: CheckLine[] = [
    used,
    { name: 'Peak', tone: 'info', text: formatBytes(figures.used_memory_peak) },
    {
      name: 'Fragmentation',
      tone: fragmentationTone,
      text:
        ratio === null
          ? 'not reported'
          : `${ratio.toFixed(2)} (resident ${formatBytes(figures.used_memory_rss)})${fragmentationTone === 'warn' ? (ratio < 1 ? ': under 1, Redis is being swapped out' : `: over ${FRAGMENTATION_WARN}, memory is wasted (activedefrag or a restart returns it)`) : ''}`,
    },
    evictionPolicyLine(figures.maxmemory_policy, figures.maxmemory),
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

export const redisMemory = defineCommand({
  name: 'redis memory',
  summary: 'Redis memory: used, peak, fragmentation, maxmemory and eviction policy',
  examples: ['redis memory'],
  level: 'read',
  args: z.object({}),
  run: (context) =>
    readRedis(context, {
      title: 'Redis memory',
      what: 'its memory',
      request: 'INFO memory',
      read: (redis) => redis.memory(),
      document: (figures, location) => redisMemoryDocument(figures, location),
    }),
});
