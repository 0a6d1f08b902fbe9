/**
 * The capacity report on the real PostgreSQL (35 days of hourly roll-ups on known lines: rising,
 * flat, over, falling, too few days, none) with the real stack database and Redis read now, its
 * charts with their trend lines, its posting to the Slack stand-in (a refused upload as text),
 * and its sources down: only their part says what is missing.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool } from '../../services/kit/postgres.js';
import { openStackRedis } from '../../services/stack/stack-connections.js';
import { stackDatabaseOn } from '../../services/stack/stack-database-on-pg.js';
import { stackRedisOn } from '../../services/stack/stack-redis-on-ioredis.js';
import { TEST_REDIS_URL } from '../../test/testing/redis.js';
import { createSampleStore, type SampleStore } from '../metrics-history/index.js';
import { fillHourlyTrends } from '../metrics-history/testing/fill-history.js';
import { REPORTS_CHANNEL as REPORTS, startReportTestBed, type ReportTestBed } from './testing/report-test-bed.js';
import { capacityReportCharts } from './capacity-report-charts.js';
import { capacityReportSources, makeCapacityReport } from './capacity-report-service.js';
import { gatherCapacityReport, type CapacityReport, type ResourceTrend } from './capacity-report.js';

const NOW = new Date('2026-12-01T07:00:00.000Z');
const DAY = 24 * 3600_000;

let bed: ReportTestBed;
let stackPool: pg.Pool;
let store: SampleStore;
const redisClients: Array<ReturnType<typeof openStackRedis>> = [];

beforeAll(async () => {
  bed = await startReportTestBed('capacity-report');
  const { pool } = bed;
  stackPool = createPool({ databaseUrl: bed.db.url, max: 1, applicationName: 'acgs-capacity-report-stack' });
  store = createSampleStore({ pool, now: () => NOW });
  const month = { from: new Date(NOW.getTime() - 35 * DAY), to: NOW };
  await fillHourlyTrends(pool, month, [
    // 15 % 35 days ago, 1 % a day: 50 % now, 80 % in 30 days.
    { metric: 'cpu_percent', service: 'policy-engine', start: 15, perDay: 1 },
    { metric: 'cpu_percent', service: 'audit-engine', start: 30, perDay: 0 },
    { metric: 'cpu_percent', service: 'evolution-oversight', start: 20, perDay: 0.05 },
    { metric: 'memory_percent', service: 'policy-engine', start: 90, perDay: 0 },
    { metric: 'memory_percent', service: 'evolution-oversight', start: 70, perDay: -0.5 },
    // 600 requests a minute (10 a second) 35 days ago, one more a second each day.
    { metric: 'requests', service: 'policy-engine', start: 600, perDay: 60 },
  ]);
  // Only the last three days of p99: not enough for a line.
  await fillHourlyTrends(pool, { from: new Date(NOW.getTime() - 3 * DAY), to: NOW }, [{ metric: 'p99_latency_ms', service: 'policy-engine', start: 1, perDay: 0.5 }]);
}, 60_000);
afterAll(async () => {
  for (const redis of redisClients) redis.disconnect();
  await stackPool?.end();
  await bed?.close();
});

function stackRedis(url: string) {
  const redis = openStackRedis(url, { connectTimeoutMs: 500 });
  redisClients.push(redis);
  return stackRedisOn(redis);
}

const byService = (trends: ResourceTrend[]) => Object.fromEntries(trends.map((trend) => [trend.service, trend]));
const ok = <T>(part: { state: 'ok'; value: T } | { state: 'missing'; reason: string }): T => {
  if (part.state !== 'ok') throw new Error(`part missing: ${part.reason}`);
  return part.value;
};

describe('the capacity report', () => {
  it('projects each resource from its hourly roll-ups: a crossing date, flat, over, moving away, not enough data', async () => {
    const { report } = await gatherCapacityReport(capacityReportSources({ database: stackDatabaseOn(stackPool), redis: stackRedis(TEST_REDIS_URL) }, store), NOW);
    expect(report).toMatchObject({ from: '2026-11-01T07:00:00.000Z', to: NOW.toISOString(), period_days: 30, min_days: 7 });
    const cpu = byService(ok(report.trends.cpu));
    expect(cpu['policy-engine']!.projection).toMatchObject({ state: 'crosses' });
    const rising = cpu['policy-engine']!.projection;
    expect(rising.state === 'crosses' && rising.at.slice(0, 16)).toBe('2026-12-31T07:00');
    expect(rising.state === 'crosses' && rising.now_value).toBeCloseTo(50, 6);
    expect(cpu['policy-engine']).toMatchObject({ threshold: 80, unit: '%' });
    expect(cpu['policy-engine']!.peak).toBeCloseTo(50 - 1 / 24, 6);
    expect(cpu['audit-engine']!.projection).toMatchObject({ state: 'not-at-current-trend', why: 'flat' });
    // 0.05 % a day from 21.75 %: 80 % only in over three years.
    expect(cpu['evolution-oversight']!.projection).toMatchObject({ state: 'not-at-current-trend', why: 'beyond the horizon' });
    expect(cpu['sandbox-controller']).toMatchObject({ average: null, peak: null, projection: { state: 'not-enough-data', days_with_data: 0, needed_days: 7 } });
    const memory = byService(ok(report.trends.memory));
    expect(memory['policy-engine']!.projection).toMatchObject({ state: 'over-threshold' });
    expect(memory['evolution-oversight']!.projection).toMatchObject({ state: 'not-at-current-trend', why: 'moving away' });
    // Three days from 07:00 touch four UTC dates.
    expect(ok(report.trends.latency)[0]).toMatchObject({ service: 'policy-engine', projection: { state: 'not-enough-data', days_with_data: 4, needed_days: 7 } });
    const requests = ok(report.trends.requests)[0]!;
    expect(requests).toMatchObject({ unit: 'req/s', threshold: null, projection: { state: 'no-threshold' } });
    expect(requests.projection.state === 'no-threshold' && requests.projection.line.slope_per_day).toBeCloseTo(1, 6);
    expect(requests.projection.state === 'no-threshold' && requests.projection.now_value).toBeCloseTo(45, 6);
    expect(report.needs_attention).toEqual(['CPU of policy-engine would cross 80 % around 2026-12-31 (in 30 days)', 'Memory of policy-engine is over its 85 % threshold at the current trend']);
    // The stack's PostgreSQL and Redis, read now: this test's own connections are among those open.
    const [connections, size, redis] = ok(report.datastores);
    expect(size).toMatchObject({ name: 'PostgreSQL size', tone: 'info', limit: null });
    // The test database holds the history's tables: some megabytes, not nothing.
    expect(size!.used).toBeGreaterThan(1_000_000);
    expect(connections).toMatchObject({ name: 'PostgreSQL connections', tone: 'ok' });
    expect(connections!.used).toBeGreaterThanOrEqual(1);
    expect(connections!.limit).toBeGreaterThan(connections!.used!);
    expect(redis).toMatchObject({ name: 'Redis memory', location: '127.0.0.1:6379' });
    expect(redis!.used).toBeGreaterThan(0);
  }, 60_000);

  it('renders the document, most urgent first, and a chart per measured resource with its trend lines and threshold', async () => {
    const { document } = await makeCapacityReport(capacityReportSources({}, store), undefined, NOW);
    const report = document.data as CapacityReport;
    expect(document.title).toBe('Monthly capacity report');
    expect(document.tone).toBe('fail');
    expect(document.summary).toBe('2 things need attention.');
    expect(document.blocks[0]).toMatchObject({ type: 'checks', items: [{ name: 'Needs attention', text: 'CPU of policy-engine would cross 80 % around 2026-12-31 (in 30 days)' }, { name: 'Needs attention' }] });
    const cpuTable = document.blocks.find((block) => block.type === 'table' && block.rows.some((row) => row[5]?.startsWith('crosses 80 %')));
    expect(cpuTable).toMatchObject({ columns: ['Service', 'Average', 'Peak hour', 'Trend now', 'Per 30 days', 'Projection'] });
    const rows = cpuTable?.type === 'table' ? Object.fromEntries(cpuTable.rows.map((row) => [row[0], row])) : {};
    // The hours of the month run from 20 % to 49.96 %: their average 34.98 %; the line is at 50 % now, 30 % up in 30 days.
    expect(rows['policy-engine']).toEqual(['policy-engine', '34.98', '49.96', '50.00', '+30.00', 'crosses 80 % around 2026-12-31 (in 30 days)']);
    expect(rows['audit-engine']![5]).toBe('not at the current trend (flat)');
    expect(rows['sandbox-controller']).toEqual(['sandbox-controller', '-', '-', '-', '-', 'not enough data (0 of 7 days)']);
    // Without the stack's datastores configured, the part says so instead of a figure.
    expect(document.blocks).toContainEqual({
      type: 'checks',
      items: [
        { name: 'PostgreSQL connections', tone: 'info', text: 'not configured: DATABASE_URL names no stack database for the bot' },
        { name: 'Redis memory', tone: 'info', text: 'not configured: REDIS_URL is not set' },
      ],
    });
    expect(document.footer).toContain('Charts: capacity-cpu.png, capacity-memory.png, capacity-latency.png, capacity-requests.png');
    expect(JSON.parse(JSON.stringify(document.data))).toEqual(report);

    const { report: gathered, series } = await gatherCapacityReport(capacityReportSources({}, store), NOW);
    const charts = Object.fromEntries(capacityReportCharts(gathered, series).map((chart) => [chart.id, chart]));
    expect(charts['capacity-cpu']!.series.map((one) => one.name)).toEqual(['evolution-oversight', 'audit-engine', 'policy-engine', 'evolution-oversight trend', 'audit-engine trend', 'policy-engine trend']);
    expect(charts['capacity-cpu']!.thresholds).toEqual([{ value: 80, label: 'limit 80 %', breachedWhen: 'above', series: ['evolution-oversight', 'audit-engine', 'policy-engine'] }]);
    const trend = charts['capacity-cpu']!.series.find((one) => one.name === 'policy-engine trend')!;
    expect(trend.points.map((point) => [point.time.toISOString(), Number(point.value.toFixed(6))])).toEqual([
      ['2026-11-01T07:00:00.000Z', 20],
      ['2026-12-01T07:00:00.000Z', 50],
    ]);
    // Too few days of p99 for a line: the chart shows the points and the target, no trend.
    expect(charts['capacity-latency']!.series.map((one) => one.name)).toEqual(['policy-engine']);
    expect(charts['capacity-latency']!.thresholds).toMatchObject([{ value: 5 }]);
    expect(charts['capacity-requests']!.thresholds).toEqual([]);
  }, 60_000);

  it('posts the report to the reports channel with its charts in the thread, and a refused upload as text', async () => {
    bed.slack.rateLimitNext('files.completeUploadExternal', 1, 5);
    const { document, posted } = await makeCapacityReport(capacityReportSources({}, store), bed.poster, NOW);
    expect(posted!.charts.map((chart) => [chart.filename, chart.as])).toEqual([
      ['capacity-cpu.png', 'text'],
      ['capacity-memory.png', 'image'],
      ['capacity-latency.png', 'image'],
      ['capacity-requests.png', 'image'],
    ]);
    expect(bed.slack.messages(REPORTS).find((message) => message.ts === posted!.ts)!.text).toContain('Monthly capacity report');
    const thread = bed.slack.thread(REPORTS, posted!.ts);
    expect(thread.flatMap((message) => message.files ?? []).map((file) => file.name)).toEqual(['capacity-memory.png', 'capacity-latency.png', 'capacity-requests.png']);
    expect(thread.some((message) => message.text?.includes('policy-engine trend: min 20, max 50') && message.text.includes('chart image not shown: rate_limited'))).toBe(true);
    expect(document.footer).toContain(`Posted to #acgs-reports with 4 charts (1 as text: Slack refused the upload).`);
  }, 60_000);

  it('still reports the datastores when the metrics history is down, and the trends when Redis is down, each saying what is missing', async () => {
    const downPool = createPool({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none', max: 1, applicationName: 'acgs-capacity-report-down' });
    try {
      const { document } = await makeCapacityReport(capacityReportSources({ database: stackDatabaseOn(stackPool) }, createSampleStore({ pool: downPool })), undefined, NOW);
      const report = document.data as CapacityReport;
      for (const part of Object.values(report.trends)) expect(part.state === 'missing' && part.reason).toMatch(/^metrics history unavailable: /);
      expect(report.needs_attention.filter((need) => need.startsWith('metrics history unavailable'))).toHaveLength(1);
      expect(ok(report.datastores)[0]).toMatchObject({ name: 'PostgreSQL connections', tone: 'ok' });
      expect(document.footer).not.toContain('Charts:');
    } finally {
      await downPool.end();
    }
    // Nothing listens on port 1 of loopback: Redis is really down.
    const { report } = await gatherCapacityReport(capacityReportSources({ redis: stackRedis('redis://127.0.0.1:1') }, store), NOW);
    expect(report.trends.cpu.state).toBe('ok');
    const redis = ok(report.datastores).find((use) => use.name === 'Redis memory')!;
    expect(redis).toMatchObject({ name: 'Redis memory', tone: 'warn', used: null });
    expect(redis.note).toMatch(/^could not be read: .*ECONNREFUSED/);
  }, 60_000);
});
