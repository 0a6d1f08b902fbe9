/**
 * The sampler's beat on the real PostgreSQL with readings and a clock of the test's: each beat
 * stores the reading's samples in its minute, keeps the hours rolled up, applies retention, and a
 * beat the database refused loses no rate: the next one spans both minutes.
 */
import type pg from 'pg';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createPool } from '../../services/kit/postgres.js';
import { createTestDatabase, type TestDatabase } from '../../test/testing/postgres.js';
import { createSamplerBeat } from './metrics-sampler.js';
import { createSampleStore, migrateMetricsHistory, type SampleStore } from './sample-store.js';
import { stackReading } from './testing/readings.js';

const START = new Date('2026-12-07T09:58:20.000Z');
const MINUTE = 60_000;
const DAY = 24 * 3600_000;

let db: TestDatabase;
let pool: pg.Pool;
let clock: Date;
let store: SampleStore;

beforeAll(async () => {
  db = await createTestDatabase('acgs_metrics_sampler');
  pool = createPool({ databaseUrl: db.url, max: 2, applicationName: 'acgs-metrics-sampler-test' });
  await migrateMetricsHistory(pool);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});
beforeEach(async () => {
  await pool.query('TRUNCATE metric_samples, metric_hourly');
  clock = START;
  store = createSampleStore({ pool, now: () => clock });
});

const minute = (n: number) => new Date(START.getTime() + n * MINUTE);
/** 1,000 requests a minute, 1 % errors, 90 % cache hits, 2 violations. */
const engineAt = (n: number) => ({ p99: 0.5 + n / 10, requests: 1000 * (n + 1), errors: 10 * (n + 1), l1Hits: 900 * (n + 1), l1Misses: 100 * (n + 1), violations: 2 * (n + 1) });

async function series(metric: string, service = 'policy-engine'): Promise<Array<[string, number]>> {
  const { rows } = await pool.query<{ at: Date; value: number }>('SELECT at, value FROM metric_samples WHERE metric = $1 AND service = $2 ORDER BY at', [metric, service]);
  return rows.map((row) => [row.at.toISOString().slice(11, 16), Number(row.value.toFixed(6))]);
}

it('stores each beat in its minute, with the rates of the minute since the last beat, and keeps the hour rolled up', async () => {
  const beat = createSamplerBeat(store, () => clock);
  for (let n = 0; n < 4; n++) {
    clock = minute(n);
    await beat(stackReading(clock, engineAt(n), { down: n === 2 ? ['audit-engine'] : [] }));
  }
  expect(await series('p99_latency_ms')).toEqual([['09:58', 0.5], ['09:59', 0.6], ['10:00', 0.7], ['10:01', 0.8]]);
  // The readings' p50 and p95 are a quarter and a half of their p99 (testing/readings.ts).
  expect(await series('p50_latency_ms')).toEqual([['09:58', 0.125], ['09:59', 0.15], ['10:00', 0.175], ['10:01', 0.2]]);
  expect(await series('p95_latency_ms')).toEqual([['09:58', 0.25], ['09:59', 0.3], ['10:00', 0.35], ['10:01', 0.4]]);
  // The first beat has no minute behind it.
  expect(await series('requests')).toEqual([['09:59', 1000], ['10:00', 1000], ['10:01', 1000]]);
  expect(await series('error_rate_percent')).toEqual([['09:59', 1], ['10:00', 1], ['10:01', 1]]);
  expect(await series('cache_hit_rate_percent')).toEqual([['09:59', 90], ['10:00', 90], ['10:01', 90]]);
  expect(await series('safety_violations')).toEqual([['09:59', 2], ['10:00', 2], ['10:01', 2]]);
  expect(await series('service_up', 'audit-engine')).toEqual([['09:58', 1], ['09:59', 1], ['10:00', 0], ['10:01', 1]]);
  const { rows } = await pool.query("SELECT hour, count, sum FROM metric_hourly WHERE metric = 'service_up' AND service = 'audit-engine' ORDER BY hour");
  expect(rows.map((row) => [row.hour.toISOString().slice(11, 16), row.count, row.sum])).toEqual([['09:00', 2, 2], ['10:00', 2, 1]]);
});

it('says what each beat wrote, rolled up and pruned, pruning by the injected clock', async () => {
  const beat = createSamplerBeat(store, () => clock);
  await store.write([{ metric: 'cpu_percent', service: 'audit-engine', value: 1 }], new Date(START.getTime() - 8 * DAY));
  clock = minute(0);
  const first = await beat(stackReading(clock, engineAt(0)));
  // 4 health, the p50, p95 and p99 (no rates yet), 3 resources for each of 4 services; the hours 08:00 (nothing) and 09:00.
  expect(first).toEqual({ written: 4 + 3 + 12, rolledUp: 19, pruned: { minutes: 1, hours: 0 } });
});

it('loses no rate when the database refused a beat: the next beat spans both minutes', async () => {
  let refuse = true;
  const flaky = { ...store, write: async (...args: Parameters<SampleStore['write']>) => (refuse ? Promise.reject(new Error('connection refused')) : store.write(...args)) };
  const beat = createSamplerBeat(flaky, () => clock);
  refuse = false;
  clock = minute(0);
  await beat(stackReading(clock, engineAt(0)));
  refuse = true;
  clock = minute(1);
  await expect(beat(stackReading(clock, engineAt(1)))).rejects.toThrow('connection refused');
  refuse = false;
  clock = minute(2);
  await beat(stackReading(clock, engineAt(2)));
  expect(await series('requests')).toEqual([['10:00', 2000]]);
  expect(await series('error_rate_percent')).toEqual([['10:00', 1]]);
});

it('writes only health when the engine and the Stack port did not answer', async () => {
  const beat = createSamplerBeat(store, () => clock);
  const { stats: _unused, ...healthOnly } = stackReading(START, undefined, { down: ['policy-engine'] });
  expect((await beat(healthOnly)).written).toBe(4);
  expect(await series('service_up')).toEqual([['09:58', 0]]);
});
