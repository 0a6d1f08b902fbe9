import { describe, expect, it } from 'vitest';
import { parseRedisInfo, redisMemoryFigures } from './redis-info.js';

const MEMORY = ['# Memory', 'used_memory:1457664', 'used_memory_rss:9699328', 'used_memory_peak:2031616', 'maxmemory:0', 'maxmemory_policy:noeviction', 'mem_fragmentation_ratio:6.65'].join('\r\n');

describe('redis INFO text', () => {
  it('skips section headers and blank lines, and keeps values that contain colons', () => {
    const values = parseRedisInfo('# Server\r\nredis_version:7.2.4\r\n\r\nexecutable:/usr/bin/redis-server\r\nconfig_file:C:\\redis.conf\r\n');
    expect([...values]).toEqual([
      ['redis_version', '7.2.4'],
      ['executable', '/usr/bin/redis-server'],
      ['config_file', 'C:\\redis.conf'],
    ]);
  });

  it('reads INFO memory into figures', () => {
    expect(redisMemoryFigures(parseRedisInfo(MEMORY))).toEqual({
      used_memory: 1_457_664,
      used_memory_peak: 2_031_616,
      used_memory_rss: 9_699_328,
      mem_fragmentation_ratio: 6.65,
      maxmemory: 0,
      maxmemory_policy: 'noeviction',
    });
  });

  it('says "not reported" (null) for a missing fragmentation ratio and "unknown" for a missing policy, never 0', () => {
    const figures = redisMemoryFigures(parseRedisInfo('used_memory:100\r\n'));
    expect(figures.mem_fragmentation_ratio).toBeNull();
    expect(figures.maxmemory_policy).toBe('unknown');
    expect(figures.used_memory_peak).toBe(0);
  });
});
