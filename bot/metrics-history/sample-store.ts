/**
 * The embedded history in PostgreSQL (migrations/): the sampler's minute samples, their hourly
 * roll-ups, retention, and the MetricsHistory port over both. A query reads minute rows while
 * they still cover its range and its step is under an hour; hourly rows otherwise, so that a
 * 90-day range reads 2,160 rows a series, not 130,000.
 */
import { fileURLToPath } from 'node:url';
import type pg from 'pg';
import { migrate } from '../../services/kit/postgres.js';
import type { ServiceName } from '../../services/kit/service-ports.js';
import type { MetricStat } from './metric-catalogue.js';
import { checkQuery, uptimeFromSeries, type CheckedQuery, type MetricQuery, type MetricSeries, type MetricsHistory } from './metrics-history.js';
import type { MetricSample } from './reading-samples.js';

export const METRIC_MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));
export const METRIC_MIGRATIONS_TABLE = 'bot_metrics_history_migrations';
export const METRIC_TABLES = ['metric_samples', 'metric_hourly'] as const;

export function migrateMetricsHistory(pool: pg.Pool, log?: (message: string) => void): Promise<string[]> {
  return migrate(pool, { directory: METRIC_MIGRATIONS_DIR, table: METRIC_MIGRATIONS_TABLE, ...(log ? { log } : {}) });
}

const DAY_MS = 24 * 3600_000;
const HOUR_MS = 3600_000;

export interface MetricRetention {
  /** Minute samples older than this are deleted (their hours stay rolled up). */
  minuteMs: number;
  /** Hourly roll-ups older than this are deleted. */
  hourMs: number;
}

/**
 * A week of minutes covers the daily and weekly reports at full detail (about 232,000 rows for
 * the 23 series); 400 days of hours cover the monthly capacity report's trends and a year back
 * (9,600 rows a series).
 */
export const DEFAULT_METRIC_RETENTION: Readonly<MetricRetention> = { minuteMs: 7 * DAY_MS, hourMs: 400 * DAY_MS };

export interface SampleStore extends MetricsHistory {
  /** Stores one reading's samples as the minute `at` falls in; a second write for that minute is ignored. */
  write(samples: readonly MetricSample[], at: Date): Promise<number>;
  /** Rolls every hour from the one holding `since` onwards up from the minute samples (again, if done before). */
  rollUp(since: Date): Promise<number>;
  /** Deletes what retention no longer keeps, as of `now`. */
  prune(now: Date): Promise<{ minutes: number; hours: number }>;
}

export interface SampleStoreOptions {
  pool: pg.Pool;
  retention?: MetricRetention;
  now?: () => Date;
}

/** Hours and minutes are counted from this UTC origin, so that no session time zone shifts them. */
const EPOCH = '2000-01-01T00:00:00Z';

const MINUTE_STAT: Record<MetricStat, string> = { avg: 'avg(value)', min: 'min(value)', max: 'max(value)', sum: 'sum(value)' };
const HOURLY_STAT: Record<MetricStat, string> = { avg: 'sum(sum) / sum(count)', min: 'min(min)', max: 'max(max)', sum: 'sum(sum)' };

export function createSampleStore(options: SampleStoreOptions): SampleStore {
  const { pool } = options;
  const retention = options.retention ?? DEFAULT_METRIC_RETENTION;
  const now = options.now ?? (() => new Date());

  /** Minutes while they cover the range and the step is finer than an hour; hours otherwise. */
  function resolutionFor(query: CheckedQuery): 'minute' | 'hour' {
    const minutesFrom = now().getTime() - retention.minuteMs;
    return query.stepMs < HOUR_MS && query.from.getTime() >= minutesFrom ? 'minute' : 'hour';
  }

  async function query(asked: MetricQuery): Promise<MetricSeries[]> {
    const checked = checkQuery(asked);
    const resolution = resolutionFor(checked);
    // Hourly rows cannot be cut finer than an hour: the step grows to whole hours.
    const stepMs = resolution === 'hour' ? Math.max(HOUR_MS, Math.round(checked.stepMs / HOUR_MS) * HOUR_MS) : checked.stepMs;
    const sql =
      resolution === 'minute'
        ? `SELECT service, date_bin($1::interval, at, $2) AS time, ${MINUTE_STAT[checked.stat]} AS value
             FROM metric_samples WHERE metric = $3 AND service = ANY($4) AND at >= $2 AND at < $5
             GROUP BY service, time ORDER BY service, time`
        : `SELECT service, date_bin($1::interval, hour, date_bin('1 hour', $2::timestamptz, '${EPOCH}')) AS time, ${HOURLY_STAT[checked.stat]} AS value
             FROM metric_hourly WHERE metric = $3 AND service = ANY($4) AND hour >= date_bin('1 hour', $2::timestamptz, '${EPOCH}') AND hour < $5
             GROUP BY service, time ORDER BY service, time`;
    const { rows } = await pool.query<{ service: ServiceName; time: Date; value: number }>(sql, [`${stepMs} milliseconds`, checked.from, checked.metric, checked.services, checked.to]);
    return checked.services.map((service) => ({
      metric: checked.metric,
      service,
      resolution,
      stepMs,
      points: rows.filter((row) => row.service === service).map((row) => ({ time: row.time, value: row.value })),
    }));
  }

  const store: SampleStore = {
    source: 'the embedded sampler (PostgreSQL)',
    query,
    uptime: (range) => uptimeFromSeries(store, range),

    async write(samples, at) {
      if (samples.length === 0) return 0;
      const result = await pool.query(
        `INSERT INTO metric_samples (metric, service, at, value)
         SELECT metric, service, date_bin('1 minute', $3::timestamptz, '${EPOCH}'), value
           FROM unnest($1::text[], $2::text[], $4::float8[]) AS s(metric, service, value)
         ON CONFLICT (metric, service, at) DO NOTHING`,
        [samples.map((sample) => sample.metric), samples.map((sample) => sample.service), at, samples.map((sample) => sample.value)],
      );
      return result.rowCount ?? 0;
    },

    async rollUp(since) {
      const result = await pool.query(
        `INSERT INTO metric_hourly (metric, service, hour, min, max, sum, count)
         SELECT metric, service, date_bin('1 hour', at, '${EPOCH}') AS hour, min(value), max(value), sum(value), count(*)
           FROM metric_samples WHERE at >= date_bin('1 hour', $1::timestamptz, '${EPOCH}')
          GROUP BY metric, service, hour
         ON CONFLICT (metric, service, hour) DO UPDATE SET min = excluded.min, max = excluded.max, sum = excluded.sum, count = excluded.count`,
        [since],
      );
      return result.rowCount ?? 0;
    },

    async prune(at) {
      const minutes = await pool.query('DELETE FROM metric_samples WHERE at < $1', [new Date(at.getTime() - retention.minuteMs)]);
      const hours = await pool.query('DELETE FROM metric_hourly WHERE hour < $1', [new Date(at.getTime() - retention.hourMs)]);
      return { minutes: minutes.rowCount ?? 0, hours: hours.rowCount ?? 0 };
    },
  };
  return store;
}
