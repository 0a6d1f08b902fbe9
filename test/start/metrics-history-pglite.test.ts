/**
 * The metrics history on the embedded database `npm start` opens (PGlite on a local socket, one
 * session): the sampler's beat writes, rolls up and prunes, and a range query answers, with the
 * same SQL as on PostgreSQL (date_bin, unnest of several arrays, ON CONFLICT upserts).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSamplerBeat } from '../../bot/metrics-history/metrics-sampler.js';
import { createSampleStore, migrateMetricsHistory, type SampleStore } from '../../bot/metrics-history/sample-store.js';
import { stackReading } from '../../bot/metrics-history/testing/readings.js';
import { openPgliteBotDatabase, type PgliteBotDatabase } from '../testing/pglite-bot-database.js';

const START = new Date('2026-12-07T09:58:00.000Z');
let database: PgliteBotDatabase;
let store: SampleStore;
let clock = START;

beforeAll(async () => {
  database = await openPgliteBotDatabase('metrics-history');
  expect(await migrateMetricsHistory(database.pool)).toEqual(['1767400000000_metric-samples']);
  store = createSampleStore({ pool: database.pool, now: () => clock });
}, 60_000);
afterAll(async () => {
  await database?.close();
});

it('samples, rolls up and answers a range query on PGlite', async () => {
  const beat = createSamplerBeat(store, () => clock);
  for (let n = 0; n < 3; n++) {
    clock = new Date(START.getTime() + n * 60_000);
    const result = await beat(stackReading(clock, { p99: 1, requests: 100 * (n + 1), errors: n + 1, l1Hits: 90 * (n + 1), l1Misses: 10 * (n + 1), violations: n + 1 }, { down: n === 1 ? ['audit-engine'] : [] }));
    expect(result.written).toBe(n === 0 ? 19 : 23);
  }
  const [errors] = await store.query({ metric: 'error_rate_percent', from: START, to: new Date(START.getTime() + 3 * 60_000) });
  expect(errors!.points.map((point) => point.value)).toEqual([1, 1]);
  const [uptime] = await store.uptime({ from: START, to: new Date(START.getTime() + 3 * 60_000), service: 'audit-engine' });
  expect(uptime!.upFraction).toBeCloseTo(2 / 3, 9);
  const [hourly] = await store.query({ metric: 'service_up', service: 'audit-engine', from: new Date('2026-12-07T09:00:00Z'), to: new Date('2026-12-07T11:00:00Z'), stepMs: 3600_000, stat: 'sum' });
  expect(hourly).toMatchObject({ resolution: 'hour', points: [{ time: new Date('2026-12-07T09:00:00Z'), value: 1 }, { time: new Date('2026-12-07T10:00:00Z'), value: 1 }] });
});
