/**
 * `redis flush` (Level 3): the runbook's Redis flush, FLUSHDB on the configured database only,
 * followed by the Policy Engine's cache warm so the next decisions do not all start cold.
 */
import { z } from 'zod';
import type { CacheWarmResponse } from '../services/policy-engine/contract.js';
import type { RedisFootprint, StackRedis } from '../services/stack/stack-redis.js';
import { CommandError, defineCommand, type CommandContext } from './command.js';
import { formatBytes, formatCount } from './format.js';
import { probeRedis } from './health-probes.js';
import type { ResultDocument } from './result.js';
import { callServiceClient } from './service-errors.js';

async function requireRedis(context: CommandContext): Promise<StackRedis> {
  const { redis, checkTimeoutMs } = context.services;
  if (!redis) {
    throw new CommandError(
      '`redis flush` needs the stack\'s Redis, and REDIS_URL is not set for the bot; nothing was flushed.',
      "Set REDIS_URL to the stack's Redis (the local stack runs without one).",
      'unavailable',
    );
  }
  const probe = await probeRedis(redis, checkTimeoutMs, context.signal);
  if (!probe.ok) throw new CommandError(`Redis is not reachable: ${probe.problem}; nothing was flushed.`, undefined, 'unavailable');
  return redis;
}

export function redisFlushDocument(database: string, before: RedisFootprint, warm: z.infer<typeof CacheWarmResponse> | { problem: string }): ResultDocument {
  const warmed = 'warmed' in warm;
  return {
    title: warmed ? 'Redis flushed, Policy Engine cache warmed' : 'Redis flushed; the cache warm failed',
    tone: warmed ? 'ok' : 'warn',
    summary: `${formatCount(before.keys)} key${before.keys === 1 ? ' was' : 's were'} flushed from ${database} (${formatBytes(before.usedMemoryBytes)} in use before). ${
      warmed ? `The Policy Engine then cached ${formatCount(warm.warmed)} common decisions.` : `The cache warm failed: ${warm.problem.replace(/\.$/, '')}. Run \`cache warm\` once the Policy Engine answers.`
    }`,
    blocks: [
      {
        type: 'fields',
        fields: [
          { label: 'Keys flushed', value: formatCount(before.keys) },
          { label: 'Memory before', value: formatBytes(before.usedMemoryBytes) },
          ...(warmed ? [{ label: 'Decisions warmed', value: formatCount(warm.warmed) }, { label: 'Warm set', value: formatCount(warm.total) }] : []),
        ],
      },
    ],
    actions: [{ label: 'Redis memory', command: 'redis memory' }, { label: 'Cache stats', command: 'cache stats' }],
    footer: 'Level 3 (runbook: Redis flush) · FLUSHDB, then POST /v1/cache/warm',
    data: { database, keys_flushed: before.keys, used_memory_before: before.usedMemoryBytes, warm },
  };
}

export const redisFlush = defineCommand({
  name: 'redis flush',
  summary: "Flush the stack's Redis database, then warm the Policy Engine's cache (Level 3: two approvals)",
  examples: ['redis flush'],
  level: 3,
  args: z.object({}),
  // Bound to the database, not to its key count: that changes with every cached decision.
  async plan(context) {
    const redis = await requireRedis(context);
    const footprint = await redis.footprint();
    return {
      summary: `Flush ${redis.database} (${formatCount(footprint.keys)} keys, ${formatBytes(footprint.usedMemoryBytes)} in use), then warm the Policy Engine's cache`,
      target: redis.database,
      fingerprint: redis.database,
    };
  },
  async run(context) {
    const redis = await requireRedis(context);
    const before = await redis.footprint();
    await redis.flushDatabase();
    await context.progress({ text: `Flushed ${formatCount(before.keys)} key${before.keys === 1 ? '' : 's'} from ${redis.database}; warming the Policy Engine's cache next.` });
    // The flush has happened: a failed warm is reported with it, not thrown over it.
    const warm = await callServiceClient('policy-engine', context.services, () => context.services.policyEngine.warmCache()).catch((error: unknown) => ({
      problem: error instanceof Error ? error.message : String(error),
    }));
    return redisFlushDocument(redis.database, before, warm);
  },
});
