/**
 * The StackRedis port on an ioredis client opened by openStackRedis (stack-connections.ts): every
 * Redis command the bot's commands need lives here.
 */
import type { Redis } from 'ioredis';
import { parseRedisInfo, redisFigures, redisMemoryFigures } from './redis-info.js';
import { ensureRedisConnected, redisConnectionProblem, redisLocation } from './stack-connections.js';
import type { StackRedis } from './stack-redis.js';

export function stackRedisOn(redis: Redis): StackRedis {
  const location = redisLocation(redis);
  return {
    location,
    database: `${location} db ${redis.options.db ?? 0}`,
    async serverVersion() {
      await ensureRedisConnected(redis);
      const problem = redisConnectionProblem(redis);
      if (problem) throw new Error(problem);
      const info = await redis.info('server');
      return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    },
    async status() {
      return redisFigures(parseRedisInfo(await redis.info()));
    },
    async memory() {
      // CONFIG may be renamed away on a managed Redis: the policy is then read from INFO alone.
      const [memory, config] = await Promise.all([redis.info('memory'), (redis.config('GET', 'maxmemory-policy') as Promise<unknown>).catch(() => undefined)]);
      const values = parseRedisInfo(memory);
      // INFO memory carries maxmemory_policy since Redis 4; CONFIG GET is the runbook's own check and covers older ones.
      if (!values.has('maxmemory_policy') && Array.isArray(config) && typeof config[1] === 'string') values.set('maxmemory_policy', config[1]);
      return redisMemoryFigures(values);
    },
    async footprint() {
      const [keys, memory] = await Promise.all([redis.dbsize(), redis.info('memory')]);
      return { keys, usedMemoryBytes: Number(/used_memory:(\d+)/.exec(memory)?.[1] ?? 0) };
    },
    async flushDatabase() {
      await redis.flushdb();
    },
    async close() {
      redis.disconnect();
    },
  };
}
