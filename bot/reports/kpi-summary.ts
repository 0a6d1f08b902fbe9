/**
 * The runbook's KPIs ("Key Performance Indicators") over a day of minute samples: the day's
 * average against the threshold, and the worst hour (by its average; for CPU and memory the worst
 * service's). A day over its threshold fails; a day within it whose worst hour was not warns.
 */
import type { MetricName, MetricSeries } from '../metrics-history/index.js';
import type { Tone } from '../../commands/result.js';

export interface KpiDefinition {
  metric: MetricName;
  label: string;
  unit: 'ms' | '%';
  threshold: number;
  breachedWhen: 'above' | 'below';
}

/** The runbook's thresholds: p99 5 ms, error rate 0.1 %, cache hit rate 95 %, CPU 80 %, memory 85 %. */
export const DAILY_KPIS: readonly KpiDefinition[] = [
  { metric: 'p99_latency_ms', label: 'P99 latency', unit: 'ms', threshold: 5, breachedWhen: 'above' },
  { metric: 'error_rate_percent', label: 'Error rate', unit: '%', threshold: 0.1, breachedWhen: 'above' },
  { metric: 'cache_hit_rate_percent', label: 'Cache hit rate', unit: '%', threshold: 95, breachedWhen: 'below' },
  { metric: 'cpu_percent', label: 'CPU', unit: '%', threshold: 80, breachedWhen: 'above' },
  { metric: 'memory_percent', label: 'Memory', unit: '%', threshold: 85, breachedWhen: 'above' },
];

export interface KpiFinding {
  metric: MetricName;
  label: string;
  unit: 'ms' | '%';
  threshold: number;
  breached_when: 'above' | 'below';
  /** The day's average (of the worst service for CPU and memory); null without samples. */
  value: number | null;
  /** The service the value is of. */
  service: string | null;
  worst_hour: { start: string; value: number; service: string } | null;
  tone: Tone;
}

const HOUR_MS = 3600_000;

export function summariseKpi(kpi: KpiDefinition, series: readonly MetricSeries[]): KpiFinding {
  const worse = (a: number, b: number) => (kpi.breachedWhen === 'above' ? a > b : a < b);
  const breached = (value: number) => worse(value, kpi.threshold);
  let day: { value: number; service: string } | null = null;
  let worstHour: KpiFinding['worst_hour'] = null;
  for (const one of series) {
    if (one.points.length === 0) continue;
    const average = mean(one.points.map((point) => point.value));
    if (!day || worse(average, day.value)) day = { value: average, service: one.service };
    for (const [start, values] of hourBuckets(one.points)) {
      const value = mean(values);
      if (!worstHour || worse(value, worstHour.value)) worstHour = { start: new Date(start).toISOString(), value, service: one.service };
    }
  }
  const tone: Tone = !day ? 'info' : breached(day.value) ? 'fail' : worstHour && breached(worstHour.value) ? 'warn' : 'ok';
  return { metric: kpi.metric, label: kpi.label, unit: kpi.unit, threshold: kpi.threshold, breached_when: kpi.breachedWhen, value: day?.value ?? null, service: day?.service ?? null, worst_hour: worstHour, tone };
}

function hourBuckets(points: MetricSeries['points']): Map<number, number[]> {
  const buckets = new Map<number, number[]>();
  for (const point of points) {
    const start = Math.floor(point.time.getTime() / HOUR_MS) * HOUR_MS;
    const bucket = buckets.get(start) ?? [];
    bucket.push(point.value);
    buckets.set(start, bucket);
  }
  return buckets;
}

const mean = (values: readonly number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
