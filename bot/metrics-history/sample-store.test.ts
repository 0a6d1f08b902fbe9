/**
 * The embedded history on the real PostgreSQL: one sample per metric, service and minute; hours
 * rolled up with min, max, sum and count; retention by age; and queries that read minutes while
 * they cover the range at a step under an hour, hours otherwise, with the same figures either way.
 */
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import type { MetricQuery } from './metrics-history.js';
import { createSampleStore, migrateMetricsHistory, type SampleStore } from './sample-store.js';
import { fillHistory } from './testing/fill-history.js';

const NOW = new Date('2026-12-07T12:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const ago = (ms: number) => new Date(NOW.getTime() - ms);

let db: TestDatabase;
let pool: pg.Pool;
let store: SampleStore;

beforeAll(async () => {
  db = await createTestDatabase('acgs_metrics');
  pool = createPool({ databaseUrl: db.url, max: 4, applicationName: 'acgs-metrics-test' });
  expect(await migrateMetricsHistory(pool)).toEqual(['1767400000000_metric-samples']);
  expect(await migrateMetricsHistory(pool)).toEqual([]);
  store = createSampleStore({ pool, now: () => NOW });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});
const p99 = (value: number) => [{ metric: 'p99_latency_ms' as const, service: 'policy-engine' as const, value }];
const values = (series: { points: { time: Date; value: number }[] }) => series.points.map((point) => [point.time.toISOString(), Number(point.value.toFixed(6))]);

describe('writing, rolling up and pruning', () => {
  beforeEach(async () => {
    await pool.query('TRUNCATE metric_samples, metric_hourly');
  });

  it('keeps one sample per metric, service and minute: a second write in the same minute is ignored', async () => {
    expect(await store.write(p99(1), new Date('2026-12-07T11:00:10Z'))).toBe(1);
    expect(await store.write(p99(9), new Date('2026-12-07T11:00:50Z'))).toBe(0);
    expect(await store.write(p99(2), new Date('2026-12-07T11:01:00Z'))).toBe(1);
    expect(await store.write([], NOW)).toBe(0);
    const { rows } = await pool.query<{ at: Date; value: number }>('SELECT at, value FROM metric_samples ORDER BY at');
    expect(rows.map((row) => [row.at.toISOString(), row.value])).toEqual([
      ['2026-12-07T11:00:00.000Z', 1],
      ['2026-12-07T11:01:00.000Z', 2],
    ]);
  });

  it('rolls each hour up to min, max, sum and count, and rolls an hour up again as it fills', async () => {
    for (const [minute, value] of [[0, 4], [30, 2], [59, 6]] as const) await store.write(p99(value), new Date(Date.parse('2026-12-07T10:00:00Z') + minute * MINUTE));
    await store.write(p99(1), new Date('2026-12-07T11:05:00Z'));
    expect(await store.rollUp(new Date('2026-12-07T10:30:00Z'))).toBe(2);
    await store.write(p99(3), new Date('2026-12-07T11:06:00Z'));
    await store.rollUp(new Date('2026-12-07T11:00:00Z'));
    const { rows } = await pool.query('SELECT hour, min, max, sum, count FROM metric_hourly ORDER BY hour');
    expect(rows.map((row) => [row.hour.toISOString(), row.min, row.max, row.sum, row.count])).toEqual([
      ['2026-12-07T10:00:00.000Z', 2, 6, 12, 3],
      ['2026-12-07T11:00:00.000Z', 1, 3, 4, 2],
    ]);
  });

  it('deletes minutes older than 7 days and hours older than 400 days, keeping the hours of pruned minutes', async () => {
    await store.write(p99(1), ago(7 * DAY + MINUTE));
    await store.write(p99(2), ago(7 * DAY - MINUTE));
    await store.write(p99(3), ago(401 * DAY));
    await store.write(p99(4), ago(399 * DAY));
    await store.rollUp(ago(402 * DAY));
    expect(await store.prune(NOW)).toEqual({ minutes: 3, hours: 1 });
    const minutes = await pool.query('SELECT value FROM metric_samples ORDER BY at');
    expect(minutes.rows.map((row) => row.value)).toEqual([2]);
    const hours = await pool.query('SELECT sum FROM metric_hourly ORDER BY hour');
    expect(hours.rows.map((row) => row.sum)).toEqual([4, 1, 2]);
  });

  it('prunes by the retention it was given', async () => {
    const short = createSampleStore({ pool, now: () => NOW, retention: { minuteMs: DAY, hourMs: 10 * DAY } });
    await short.write(p99(1), ago(2 * DAY));
    await short.write(p99(2), ago(HOUR));
    await short.rollUp(ago(3 * DAY));
    expect(await short.prune(NOW)).toEqual({ minutes: 1, hours: 0 });
    expect(await short.prune(new Date(NOW.getTime() + 11 * DAY))).toEqual({ minutes: 1, hours: 2 });
  });
});

describe('range queries', () => {
  beforeAll(async () => {
    await pool.query('TRUNCATE metric_samples, metric_hourly');
    // Eight days of every series, minute by minute, as if the sampler had run all along (read only,
    // but for the uptime test's outage of audit-engine, which no other test reads).
    await fillHistory(pool, store, { from: ago(8 * DAY), to: NOW });
  });

  it('reads minute rows for the last 24 hours at the default step of a minute', async () => {
    const [series] = await store.query({ metric: 'p99_latency_ms', from: ago(DAY), to: NOW });
    expect(series).toMatchObject({ metric: 'p99_latency_ms', service: 'policy-engine', resolution: 'minute', stepMs: MINUTE });
    expect(series!.points).toHaveLength(1440);
    expect(series!.points[0]!.time).toEqual(ago(DAY));
  });

  it('reads hourly rows for 7 days at the default step of an hour, with the same averages, minima, maxima and sums as the minutes', async () => {
    const range = { from: ago(7 * DAY), to: ago(6 * DAY) };
    for (const stat of ['avg', 'min', 'max', 'sum'] as const) {
      const query: MetricQuery = { metric: 'cpu_percent', service: 'audit-engine', stat, ...range };
      const [hourly] = await store.query({ ...query, stepMs: HOUR });
      expect(hourly!.resolution).toBe('hour');
      // A step of an hour built from minutes instead: only the minutes' own query can, at a step just under.
      const { rows } = await pool.query<{ hour: Date; value: number }>(
        `SELECT date_bin('1 hour', at, $1) AS hour, ${stat}(value) AS value FROM metric_samples WHERE metric = 'cpu_percent' AND service = 'audit-engine' AND at >= $1 AND at < $2 GROUP BY hour ORDER BY hour`,
        [range.from, range.to],
      );
      expect(values(hourly!)).toEqual(rows.map((row) => [row.hour.toISOString(), Number(row.value.toFixed(6))]));
      expect(hourly!.points).toHaveLength(24);
    }
    const [week] = await store.query({ metric: 'cpu_percent', service: 'audit-engine', from: ago(7 * DAY), to: NOW });
    expect(week).toMatchObject({ resolution: 'hour', stepMs: HOUR });
    expect(week!.points).toHaveLength(168);
  });

  it('reads hours when minutes no longer cover the range, growing a finer step to an hour', async () => {
    const [series] = await store.query({ metric: 'p99_latency_ms', from: ago(8 * DAY), to: ago(7 * DAY), stepMs: 5 * MINUTE });
    expect(series).toMatchObject({ resolution: 'hour', stepMs: HOUR });
    expect(series!.points).toHaveLength(24);
  });

  it('combines minutes into steps of several minutes, each point at the start of its step', async () => {
    const [series] = await store.query({ metric: 'requests', from: ago(HOUR), to: NOW, stepMs: 15 * MINUTE, stat: 'sum' });
    expect(series!.points.map((point) => point.time.toISOString())).toEqual(['2026-12-07T11:00:00.000Z', '2026-12-07T11:15:00.000Z', '2026-12-07T11:30:00.000Z', '2026-12-07T11:45:00.000Z']);
    const { rows } = await pool.query<{ total: number }>("SELECT sum(value) AS total FROM metric_samples WHERE metric = 'requests' AND at >= $1", [ago(HOUR)]);
    expect(series!.points.reduce((total, point) => total + point.value, 0)).toBeCloseTo(rows[0]!.total, 3);
  });

  it('gives violations per day as the sum of their minutes', async () => {
    const [series] = await store.query({ metric: 'safety_violations', from: ago(7 * DAY), to: NOW, stepMs: DAY });
    expect(series).toMatchObject({ resolution: 'hour', stepMs: DAY });
    expect(series!.points).toHaveLength(7);
    const { rows } = await pool.query<{ total: number }>("SELECT sum(value) AS total FROM metric_samples WHERE metric = 'safety_violations' AND at >= $1 AND at < $2", [ago(DAY), NOW]);
    expect(series!.points[6]!.value).toBeCloseTo(rows[0]!.total, 3);
  });

  it('answers a series per service that has the metric, and nothing for steps without samples', async () => {
    const all = await store.query({ metric: 'memory_percent', from: ago(HOUR), to: NOW });
    expect(all.map((series) => series.service)).toEqual(['sandbox-controller', 'evolution-oversight', 'audit-engine', 'policy-engine']);
    const future = await store.query({ metric: 'memory_percent', service: 'audit-engine', from: NOW, to: new Date(NOW.getTime() + HOUR) });
    expect(future).toEqual([{ metric: 'memory_percent', service: 'audit-engine', resolution: 'minute', stepMs: MINUTE, points: [] }]);
  });

  it('gives each service\'s uptime as the share of health samples that passed, null where nothing was measured', async () => {
    await pool.query("UPDATE metric_samples SET value = 0 WHERE metric = 'service_up' AND service = 'audit-engine' AND at >= $1", [ago(6 * MINUTE)]);
    await store.rollUp(ago(2 * HOUR));
    const lastHour = await store.uptime({ from: ago(HOUR), to: NOW });
    expect(lastHour).toEqual([
      { service: 'sandbox-controller', upFraction: 1 },
      { service: 'evolution-oversight', upFraction: 1 },
      { service: 'audit-engine', upFraction: 0.9 },
      { service: 'policy-engine', upFraction: 1 },
    ]);
    const [week] = await store.uptime({ from: ago(7 * DAY), to: NOW, service: 'audit-engine' });
    expect(week!.upFraction).toBeCloseTo(1 - 6 / (7 * 1440), 9);
    expect(await store.uptime({ from: ago(30 * DAY), to: ago(20 * DAY), service: 'audit-engine' })).toEqual([{ service: 'audit-engine', upFraction: null }]);
  });
});

describe('queries refused', () => {
  const range = { from: ago(HOUR), to: NOW };
  it.each([
    [{ metric: 'p42_latency', ...range }, /unknown metric "p42_latency"/],
    [{ metric: 'p99_latency_ms', from: NOW, to: NOW }, /must end after it starts/],
    [{ metric: 'p99_latency_ms', from: NOW, to: ago(HOUR) }, /must end after it starts/],
    [{ metric: 'p99_latency_ms', from: new Date('nonsense'), to: NOW }, /valid from and to/],
    [{ metric: 'p99_latency_ms', ...range, stepMs: 500 }, /at least 1000/],
    [{ metric: 'p99_latency_ms', ...range, stepMs: 1500.5 }, /whole number/],
    [{ metric: 'p99_latency_ms', from: ago(90 * DAY), to: NOW, stepMs: MINUTE }, /129600 points are too many \(at most 11000\): ask for a step of at least 707 s/],
    [{ metric: 'p99_latency_ms', ...range, stat: 'median' }, /unknown stat "median"/],
    [{ metric: 'cpu_percent', ...range, service: 'redis' }, /unknown service "redis"/],
    [{ metric: 'p99_latency_ms', ...range, service: 'audit-engine' }, /p99_latency_ms is measured only for policy-engine, not audit-engine/],
  ])('refuses %j', async (query, message) => {
    await expect(store.query(query as MetricQuery)).rejects.toThrow(message);
  });

  it('refuses an uptime over an empty range', async () => {
    await expect(store.uptime({ from: NOW, to: ago(MINUTE) })).rejects.toThrow(/must end after it starts/);
  });
});
