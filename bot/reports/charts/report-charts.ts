/**
 * The charts the reports show, with the runbook's thresholds ("Key Performance Indicators"):
 * P99 latency under 5 ms, cache hit rate over 95 %, CPU under 80 %, memory under 85 %.
 */
import type { ChartDefinition, ChartPoint, ChartSeries } from './chart-model.js';

export const LATENCY_TARGET_MS = 5;
export const CACHE_HIT_RATE_TARGET_PERCENT = 95;
export const CPU_LIMIT_PERCENT = 80;
export const MEMORY_LIMIT_PERCENT = 85;

export interface LatencyPercentiles {
  p50: readonly ChartPoint[];
  p95: readonly ChartPoint[];
  p99: readonly ChartPoint[];
}

/** Policy Engine latency percentiles in ms; the 5 ms target is about p99. */
export function latencyChart(percentiles: LatencyPercentiles): ChartDefinition {
  return {
    id: 'latency',
    title: 'Policy Engine latency',
    unit: 'ms',
    mark: 'line',
    series: [
      { name: 'p50', points: percentiles.p50 },
      { name: 'p95', points: percentiles.p95 },
      { name: 'p99', points: percentiles.p99 },
    ],
    thresholds: [{ value: LATENCY_TARGET_MS, label: `p99 target ${LATENCY_TARGET_MS} ms`, breachedWhen: 'above', series: ['p99'] }],
  };
}

/** Cache hit rate in percent (0 to 100, not a 0 to 1 ratio). */
export function cacheHitRateChart(hitRatePercent: readonly ChartPoint[]): ChartDefinition {
  return {
    id: 'cache-hit-rate',
    title: 'Cache hit rate',
    unit: '%',
    mark: 'line',
    series: [{ name: 'hit rate', points: hitRatePercent }],
    thresholds: [{ value: CACHE_HIT_RATE_TARGET_PERCENT, label: `target ${CACHE_HIT_RATE_TARGET_PERCENT} %`, breachedWhen: 'below' }],
    valueDomain: [0, 100],
  };
}

/** Safety violations per day: one point per day, its time the day's start. */
export function violationsPerDayChart(perDay: readonly ChartPoint[]): ChartDefinition {
  return { id: 'violations-per-day', title: 'Safety violations per day', unit: 'violations', mark: 'bar', series: [{ name: 'violations', points: perDay }], thresholds: [] };
}

export type ResourceKind = 'cpu' | 'memory';

/** CPU or memory use in percent, one line per service, with the runbook's limit. */
export function resourceUseChart(kind: ResourceKind, perService: Readonly<Record<string, readonly ChartPoint[]>>): ChartDefinition {
  const limit = kind === 'cpu' ? CPU_LIMIT_PERCENT : MEMORY_LIMIT_PERCENT;
  const series: ChartSeries[] = Object.entries(perService).map(([name, points]) => ({ name, points }));
  return {
    id: kind === 'cpu' ? 'cpu-use' : 'memory-use',
    title: kind === 'cpu' ? 'CPU use per service' : 'Memory use per service',
    unit: '%',
    mark: 'line',
    series,
    thresholds: [{ value: limit, label: `limit ${limit} %`, breachedWhen: 'above' }],
    valueDomain: [0, 100],
  };
}
