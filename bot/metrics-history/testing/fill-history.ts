/**
 * Months of minute samples written by PostgreSQL itself (generate_series, one statement), for the
 * reports' bench (90 days: 129,600 rows a series) and the store's tests: each series a daily wave
 * around its base with some noise, then rolled up to hours as the sampler would have.
 */
import type pg from 'pg';
import { METRICS, METRIC_NAMES, type MetricName } from '../metric-catalogue.js';
import type { SampleStore } from '../sample-store.js';

export interface FilledSeries {
  metric: MetricName;
  service: string;
  base: number;
  /** Half the daily swing. */
  wave: number;
  /** Up to this much added at random to each sample. */
  noise: number;
}

/** Every metric for every service that has it, at plausible levels. */
export function everySeries(): FilledSeries[] {
  const level: Record<MetricName, Omit<FilledSeries, 'metric' | 'service'>> = {
    p50_latency_ms: { base: 0.2, wave: 0.05, noise: 0.1 },
    p95_latency_ms: { base: 0.5, wave: 0.2, noise: 0.2 },
    p99_latency_ms: { base: 0.8, wave: 0.3, noise: 0.4 },
    error_rate_percent: { base: 0.02, wave: 0.01, noise: 0.05 },
    cache_hit_rate_percent: { base: 96, wave: 1, noise: 2 },
    safety_violations: { base: 1, wave: 1, noise: 3 },
    requests: { base: 60_000, wave: 30_000, noise: 5000 },
    cpu_percent: { base: 20, wave: 10, noise: 5 },
    memory_percent: { base: 40, wave: 5, noise: 2 },
    memory_bytes: { base: 200e6, wave: 20e6, noise: 5e6 },
    service_up: { base: 1, wave: 0, noise: 0 },
  };
  return METRIC_NAMES.flatMap((metric) => METRICS[metric].services.map((service) => ({ metric, service, ...level[metric] })));
}

/** Writes a sample for every minute of [from, to) of each series; returns the rows written. */
export async function fillMinuteSamples(pool: pg.Pool, range: { from: Date; to: Date }, series: readonly FilledSeries[] = everySeries()): Promise<number> {
  const result = await pool.query(
    `INSERT INTO metric_samples (metric, service, at, value)
     SELECT s.metric, s.service, t.at, s.base + s.wave * sin(2 * pi() * extract(epoch FROM t.at) / 86400) + s.noise * random()
       FROM unnest($3::text[], $4::text[], $5::float8[], $6::float8[], $7::float8[]) AS s(metric, service, base, wave, noise)
       CROSS JOIN generate_series(date_bin('1 minute', $1::timestamptz, '2000-01-01T00:00:00Z'), $2::timestamptz - interval '1 minute', interval '1 minute') AS t(at)
     ON CONFLICT DO NOTHING`,
    [range.from, range.to, series.map((s) => s.metric), series.map((s) => s.service), series.map((s) => s.base), series.map((s) => s.wave), series.map((s) => s.noise)],
  );
  return result.rowCount ?? 0;
}

/** fillMinuteSamples, then every hour of the range rolled up, as the sampler would have left them. */
export async function fillHistory(pool: pg.Pool, store: SampleStore, range: { from: Date; to: Date }, series?: readonly FilledSeries[]): Promise<{ minutes: number; hours: number }> {
  const minutes = await fillMinuteSamples(pool, range, series);
  const hours = await store.rollUp(range.from);
  return { minutes, hours };
}

export interface HourlyTrend {
  metric: MetricName;
  service: string;
  /** The value in the first hour of the range. */
  start: number;
  /** How much it grows each day (negative: falls). */
  perDay: number;
}

/**
 * Hourly roll-ups on a straight line, as if the sampler had left them, for the capacity report's
 * tests: each hour of [from, to) holds 60 minutes of the line's value there.
 */
export async function fillHourlyTrends(pool: pg.Pool, range: { from: Date; to: Date }, trends: readonly HourlyTrend[]): Promise<number> {
  const result = await pool.query(
    `INSERT INTO metric_hourly (metric, service, hour, min, max, sum, count)
     SELECT s.metric, s.service, t.hour, v.value, v.value, v.value * 60, 60
       FROM unnest($3::text[], $4::text[], $5::float8[], $6::float8[]) AS s(metric, service, start, per_day)
       CROSS JOIN generate_series(date_bin('1 hour', $1::timestamptz, '2000-01-01T00:00:00Z'), $2::timestamptz - interval '1 hour', interval '1 hour') AS t(hour)
       CROSS JOIN LATERAL (SELECT s.start + s.per_day * extract(epoch FROM t.hour - $1::timestamptz) / 86400 AS value) AS v
     ON CONFLICT DO NOTHING`,
    [range.from, range.to, trends.map((t) => t.metric), trends.map((t) => t.service), trends.map((t) => t.start), trends.map((t) => t.perDay)],
  );
  return result.rowCount ?? 0;
}
