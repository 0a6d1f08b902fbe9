/**
 * What the history keeps of one reading: health as up or down, the engine's rates between two
 * readings (not since its start), and per service the busiest replica's CPU and the fullest's memory.
 */
import { describe, expect, it } from 'vitest';
import { samplesFromReading, engineCounters } from './reading-samples.js';
import { engineMetrics, healthRow, replicaStats, stackReading } from './testing/readings.js';

const AT = new Date('2026-12-07T03:00:00.000Z');
const figures = (sample: { samples: { metric: string; service: string; value: number }[] }) => sample.samples.map((s) => `${s.metric} ${s.service} ${Number(s.value.toFixed(3))}`);

describe('samples from a reading', () => {
  it('counts an unreachable or unhealthy service as down and a degraded one as up, and skips rows that name no service', () => {
    const reading = { at: AT, health: [healthRow('policy-engine', 'healthy'), healthRow('audit-engine', 'unreachable'), healthRow('evolution-oversight', 'unhealthy'), healthRow('sandbox-controller', 'degraded'), healthRow('redis', 'unreachable')] };
    expect(figures(samplesFromReading(reading, undefined))).toEqual(['service_up policy-engine 1', 'service_up audit-engine 0', 'service_up evolution-oversight 0', 'service_up sandbox-controller 1']);
  });

  it('takes the error rate, cache hit rate, requests and violations between two readings, not since the engine started', () => {
    const before = engineCounters(engineMetrics({ p99: 1, requests: 1_000_000, errors: 0, l1Hits: 999_000, l1Misses: 1000, violations: 50 }));
    // In the minute: 1,000 requests with 10 errors, 1,000 lookups of which 800 hits (700 in L1, 100 in L2), 3 violations.
    const reading = { at: AT, health: [], metrics: engineMetrics({ p99: 2.5, requests: 1_001_000, errors: 10, l1Hits: 999_700, l1Misses: 1300, l2Hits: 100, violations: 53 }) };
    expect(figures(samplesFromReading(reading, before))).toEqual([
      'p50_latency_ms policy-engine 0.625',
      'p95_latency_ms policy-engine 1.25',
      'p99_latency_ms policy-engine 2.5',
      'requests policy-engine 1000',
      'safety_violations policy-engine 3',
      'error_rate_percent policy-engine 1',
      'cache_hit_rate_percent policy-engine 80',
    ]);
  });

  it('has only the latency percentiles on the first reading after a start, and none before the first request', () => {
    expect(figures(samplesFromReading({ at: AT, health: [], metrics: engineMetrics({ p99: 3, requests: 5, errors: 0, l1Hits: 0, l1Misses: 5, violations: 0 }) }, undefined))).toEqual([
      'p50_latency_ms policy-engine 0.75',
      'p95_latency_ms policy-engine 1.5',
      'p99_latency_ms policy-engine 3',
    ]);
    const idle = engineMetrics({ p99: 0, requests: 0, errors: 0, l1Hits: 0, l1Misses: 0, violations: 0 });
    // No traffic in the minute: counts of zero, and no rates (0 / 0 is not a rate of 0 %).
    expect(figures(samplesFromReading({ at: AT, health: [], metrics: idle }, engineCounters(idle)))).toEqual(['requests policy-engine 0', 'safety_violations policy-engine 0']);
  });

  it('counts from zero when the engine restarted and its counters went back', () => {
    const before = engineCounters(engineMetrics({ p99: 1, requests: 5000, errors: 5, l1Hits: 4000, l1Misses: 1000, violations: 9 }));
    const restarted = engineMetrics({ p99: 1, requests: 200, errors: 2, l1Hits: 150, l1Misses: 50, violations: 1 });
    expect(figures(samplesFromReading({ at: AT, health: [], metrics: restarted }, before))).toEqual([
      'p50_latency_ms policy-engine 0.25',
      'p95_latency_ms policy-engine 0.5',
      'p99_latency_ms policy-engine 1',
      'requests policy-engine 200',
      'safety_violations policy-engine 1',
      'error_rate_percent policy-engine 1',
      'cache_hit_rate_percent policy-engine 75',
    ]);
  });

  it('keeps the last counters when the engine did not answer, so the next rates span both minutes', () => {
    const before = engineCounters(engineMetrics({ p99: 1, requests: 100, errors: 0, l1Hits: 0, l1Misses: 0, violations: 0 }));
    const silent = samplesFromReading({ at: AT, health: [] }, before);
    expect(silent).toEqual({ samples: [], counters: before });
  });

  it('takes the busiest replica\'s CPU, the fullest replica\'s memory share and all replicas\' memory per service, ignoring unknown services', () => {
    const reading = {
      at: AT,
      health: [],
      stats: [replicaStats('policy-engine', 'policy-engine.1', 30, 40, 200), replicaStats('policy-engine', 'policy-engine.2', 70, 10, 300), replicaStats('redis', 'redis', 99, 99, 1)],
    };
    expect(figures(samplesFromReading(reading, undefined))).toEqual(['cpu_percent policy-engine 70', 'memory_percent policy-engine 40', 'memory_bytes policy-engine 500']);
  });

  it('has every series of a full reading of the four services', () => {
    const before = engineCounters(engineMetrics({ p99: 1, requests: 0, errors: 0, l1Hits: 0, l1Misses: 0, violations: 0 }));
    const all = samplesFromReading(stackReading(AT, { p99: 1, requests: 10, errors: 0, l1Hits: 9, l1Misses: 1, violations: 0 }), before);
    expect(all.samples).toHaveLength(4 + 7 + 12);
  });
});
