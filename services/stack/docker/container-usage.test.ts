import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { usageFromEngineStats, type EngineStatsSample } from './container-usage.js';

const fixture = (name: string) => JSON.parse(readFileSync(`test/fixtures/stack/${name}`, 'utf8')) as EngineStatsSample;

describe('usageFromEngineStats', () => {
  it('computes CPU, memory without inactive page cache, summed networks and block I/O as docker stats does (cgroup v2, bridge)', () => {
    expect(usageFromEngineStats(fixture('engine-stats-cgroup2-bridge.json'))).toEqual({
      // (1.4e9 - 1.0e9) / (12e9 - 10e9) * 2 CPUs * 100
      cpuPercent: 40,
      memory: { usedBytes: 100_000_000, limitBytes: 1_000_000_000, percent: 10 },
      network: { rxBytes: 1010, txBytes: 2020 },
      blockIo: { readBytes: 5120, writeBytes: 8192 },
      pids: 7,
    });
  });

  it('reads a real cgroup v1 sample of a host-networked container: no network counters, no block I/O yet', () => {
    const usage = usageFromEngineStats(fixture('engine-stats-cgroup1-host-network.json'));
    expect(usage.cpuPercent).toBe(0);
    // usage 499712 minus total_inactive_file 12288
    expect(usage.memory.usedBytes).toBe(487_424);
    expect(usage.memory.limitBytes).toBe(25_325_268_992);
    expect(usage.network).toBeNull();
    expect(usage.blockIo).toEqual({ readBytes: 0, writeBytes: 0 });
    expect(usage.pids).toBe(2);
  });

  it('counts CPU by the number of per-CPU entries when the engine omits online_cpus', () => {
    const usage = usageFromEngineStats({
      cpu_stats: { cpu_usage: { total_usage: 300, percpu_usage: [1, 1, 1, 1] }, system_cpu_usage: 2000 },
      precpu_stats: { cpu_usage: { total_usage: 100 }, system_cpu_usage: 1000 },
    });
    expect(usage.cpuPercent).toBe(80);
  });

  it('reports zeros rather than nonsense for a sample without a previous one or without a memory limit', () => {
    const usage = usageFromEngineStats({ cpu_stats: { cpu_usage: { total_usage: 5 }, system_cpu_usage: 10 }, memory_stats: { usage: 100 } });
    expect(usage.cpuPercent).toBe(0);
    expect(usage.memory).toEqual({ usedBytes: 100, limitBytes: 0, percent: 0 });
    expect(usage.blockIo).toBeNull();
    expect(usage.pids).toBeNull();
  });

  it('keeps the whole usage when the inactive cache figure is larger than the usage', () => {
    expect(usageFromEngineStats({ memory_stats: { usage: 100, limit: 1000, stats: { inactive_file: 500 } } }).memory.usedBytes).toBe(100);
  });
});
