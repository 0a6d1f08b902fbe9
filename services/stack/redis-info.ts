/** Redis `INFO` text read into figures (pure; the stack's Redis port returns these). */
import type { RedisFigures, RedisMemoryFigures } from './stack-redis.js';

/** `INFO` text as key/value pairs. */
export function parseRedisInfo(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const separator = line.indexOf(':');
    if (separator > 0 && !line.startsWith('#')) values.set(line.slice(0, separator), line.slice(separator + 1).trim());
  }
  return values;
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
