/**
 * The weekly performance report on the real PostgreSQL (two known weeks in the sampler's tables),
 * the real Policy Engine for its caches and the stack's database for the slow queries, posted to
 * the Slack stand-in with its charts; and real sources down: only their parts say what is missing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommandDependencies } from '../../commands/dependencies.js';
import { renderText } from '../cli-render.js';
import { createPool } from '../../services/kit/postgres.js';
import { stackDatabaseOn } from '../../services/stack/stack-database-on-pg.js';
import { startPolicyEngine, type RunningPolicyEngine } from '../../test/testing/policy-engine.js';
import { startPrivatePostgres } from '../../test/testing/private-postgres.js';
import { createSampleStore } from '../metrics-history/index.js';
import { fillMinuteSamples } from '../metrics-history/testing/fill-history.js';
import { DOWN, flat, REPORTS_CHANNEL as REPORTS, startReportTestBed, type ReportTestBed } from './testing/report-test-bed.js';
import { makeWeeklyPerformanceReport, weeklyPerformanceSources } from './weekly-performance-service.js';
import type { WeeklyPerformanceReport } from './weekly-performance-report.js';

// A Monday 06:00, the job's default time: this week is the seven days before it.
const NOW = new Date('2026-12-07T06:00:00.000Z');
const DAY = 24 * 3600_000;
const THIS_WEEK = new Date(NOW.getTime() - 7 * DAY);

let bed: ReportTestBed;
let engine: RunningPolicyEngine;

beforeAll(async () => {
  bed = await startReportTestBed('weekly-perf');
  const range = { from: new Date(NOW.getTime() - 14 * DAY), to: NOW };
  await fillMinuteSamples(bed.pool, range, [
    flat('p99_latency_ms', 'policy-engine', 2),
    flat('error_rate_percent', 'policy-engine', 0.01),
    flat('cache_hit_rate_percent', 'policy-engine', 97),
    flat('cpu_percent', 'policy-engine', 20),
    flat('cpu_percent', 'audit-engine', 20),
    flat('memory_percent', 'policy-engine', 40),
  ]);
  // This week: p99 at 1 ms for four days, then 2, 3, 4 ms (worse each of the last three days);
  // the hit rate down to 93 %; the audit engine's CPU up to 30 %.
  await bed.pool.query(
    `UPDATE metric_samples SET value = 1 + greatest(0, floor(extract(epoch FROM at - $1::timestamptz) / 86400) - 3)
      WHERE metric = 'p99_latency_ms' AND at >= $1`,
    [THIS_WEEK],
  );
  await bed.pool.query(`UPDATE metric_samples SET value = 93 WHERE metric = 'cache_hit_rate_percent' AND at >= $1`, [THIS_WEEK]);
  await bed.pool.query(`UPDATE metric_samples SET value = 30 WHERE metric = 'cpu_percent' AND service = 'audit-engine' AND at >= $1`, [THIS_WEEK]);
  // The week's days are read from the hourly roll-ups, as the sampler leaves them.
  await bed.store.rollUp(range.from);
  engine = await startPolicyEngine();
}, 90_000);
afterAll(async () => {
  await engine?.close();
  await bed?.close();
});

const services = (policyEngine: string) => createCommandDependencies({ endpoints: { 'policy-engine': policyEngine, 'audit-engine': DOWN, 'evolution-oversight': DOWN, 'sandbox-controller': DOWN }, checkTimeoutMs: 500, callTimeoutMs: 2000 });

describe('the weekly performance report', () => {
  it('compares the two known weeks, finds the degrading p99, reads the caches, and says pg_stat_statements is not loaded', async () => {
    const database = stackDatabaseOn(createPool({ databaseUrl: bed.db.url, max: 1, applicationName: 'acgs-weekly-perf-stack' }));
    try {
      const { document } = await makeWeeklyPerformanceReport(weeklyPerformanceSources({ ...services(engine.url), database }, bed.store), undefined, NOW);
      const report = document.data as WeeklyPerformanceReport;
      const kpis = report.kpis.state === 'ok' ? Object.fromEntries(report.kpis.value.map((kpi) => [kpi.metric, kpi])) : {};
      expect(kpis.p99_latency_ms).toMatchObject({ last_week: 2, verdict: 'better', tone: 'ok' });
      expect(kpis.p99_latency_ms!.this_week).toBeCloseTo(13 / 7, 6);
      expect(kpis.cache_hit_rate_percent).toMatchObject({ this_week: 93, last_week: 97, change: -4, verdict: 'worse', tone: 'fail' });
      expect(kpis.cpu_percent).toMatchObject({ service: 'audit-engine', this_week: 30, last_week: 20, change_percent: 50, verdict: 'worse', tone: 'warn' });
      expect(kpis.memory_percent).toMatchObject({ this_week: 40, last_week: 40, verdict: 'same', tone: 'ok' });
      const degrading = report.trends.state === 'ok' ? report.trends.value.filter((trend) => trend.degrading) : [];
      expect(degrading.map((trend) => [trend.metric, trend.worsening_days, trend.days.map((day) => day.value)])).toEqual([['p99_latency_ms', 3, [1, 1, 1, 1, 2, 3, 4]]]);
      expect(report.cache).toEqual({ state: 'ok', value: { this_week: 93, last_week: 97, worst_day: { day: THIS_WEEK.toISOString(), value: 93 } } });
      expect(report.engine_cache).toMatchObject({ state: 'ok', value: { l2: { enabled: false }, notes: expect.arrayContaining(['L2 (Redis) is off: every L1 miss is evaluated again']) } });
      expect(report.slow_queries).toMatchObject({ state: 'ok', value: { available: false, reason: 'pg_stat_statements is not loaded by this PostgreSQL server' } });
      expect(report.needs_attention).toEqual([
        'Cache hit rate over the week below 95 %',
        'CPU (audit-engine) worse than last week by 50 %',
        'P99 latency got worse each of the last 3 days',
      ]);
      const text = renderText(document);
      expect(text).toContain('Weekly performance report');
      expect(text).toContain('Slow queries are not available: pg_stat_statements is not loaded by this PostgreSQL server. To enable them: set shared_preload_libraries');
      expect(text).toContain('1.00 → 2.00 → 3.00 → 4.00 ms');
      expect(document.footer).toContain('Charts: p99-per-day.png, cache-hit-rate.png');
      expect(JSON.parse(JSON.stringify(document.data))).toEqual(report);
    } finally {
      await database.close();
    }
  }, 60_000);

  it('still reports the rest when the history, the Policy Engine and the stack database are down, each part saying what is missing', async () => {
    const downPool = createPool({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none', max: 1, applicationName: 'acgs-weekly-perf-down' });
    const downDatabase = stackDatabaseOn(createPool({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none', max: 1, applicationName: 'acgs-weekly-perf-down' }));
    try {
      const history = await makeWeeklyPerformanceReport(weeklyPerformanceSources({ ...services(engine.url) }, createSampleStore({ pool: downPool })), undefined, NOW);
      const withoutHistory = history.document.data as WeeklyPerformanceReport;
      for (const part of [withoutHistory.kpis, withoutHistory.trends, withoutHistory.cache]) expect(part.state === 'missing' && part.reason).toMatch(/^metrics history unavailable: /);
      expect(withoutHistory.engine_cache.state).toBe('ok');
      // Without DATABASE_URL (the embedded default) the sentence says why, and how to have them.
      expect(withoutHistory.slow_queries).toMatchObject({ state: 'ok', value: { available: false, reason: "the stack's database is the embedded one of npm start (PGlite), which has no pg_stat_statements" } });
      expect(withoutHistory.needs_attention.filter((need) => need.startsWith('metrics history unavailable'))).toHaveLength(1);
      expect(history.document.footer).not.toContain('Charts:');

      const others = await makeWeeklyPerformanceReport(weeklyPerformanceSources({ ...services(DOWN), database: downDatabase }, bed.store), undefined, NOW);
      const withoutOthers = others.document.data as WeeklyPerformanceReport;
      expect(withoutOthers.kpis.state).toBe('ok');
      expect(withoutOthers.engine_cache.state === 'missing' && withoutOthers.engine_cache.reason).toMatch(/^Policy Engine metrics unavailable: /);
      expect(withoutOthers.slow_queries.state === 'missing' && withoutOthers.slow_queries.reason).toMatch(/^slow queries unavailable: /);
      expect(renderText(others.document)).toMatch(/Slowest queries[\s\S]*slow queries unavailable: /);
    } finally {
      await downPool.end();
      await downDatabase.close();
    }
  }, 60_000);

  it('lists the slowest statements, slowest first, where the stack PostgreSQL has pg_stat_statements', async () => {
    const server = await startPrivatePostgres({ shared_preload_libraries: 'pg_stat_statements' });
    const pool = createPool({ databaseUrl: server.url, max: 1, applicationName: 'acgs-weekly-perf-stack' });
    const database = stackDatabaseOn(pool);
    try {
      await pool.query('CREATE EXTENSION pg_stat_statements');
      await pool.query('SELECT pg_sleep(0.3)');
      const { document } = await makeWeeklyPerformanceReport(weeklyPerformanceSources({ ...services(engine.url), database }, bed.store), undefined, NOW);
      const report = document.data as WeeklyPerformanceReport;
      expect(report.slow_queries.state === 'ok' && report.slow_queries.value.available && report.slow_queries.value.queries[0]!.query).toContain('pg_sleep');
      const table = document.blocks.find((block) => block.type === 'table' && block.columns.includes('Statement'));
      expect(table).toMatchObject({ columns: ['Mean', 'Max', 'Calls', 'Statement'] });
      expect(table?.type === 'table' && table.rows[0]![3]).toContain('pg_sleep');
      expect(Number.parseFloat(table?.type === 'table' ? table.rows[0]![0]! : '0')).toBeGreaterThanOrEqual(300);
    } finally {
      await database.close();
      await server.close();
    }
  }, 60_000);

  it('posts the report to the reports channel with its two charts in the thread, and a refused upload as text', async () => {
    bed.slack.rateLimitNext('files.completeUploadExternal', 1, 5);
    const { document, posted } = await makeWeeklyPerformanceReport(weeklyPerformanceSources(services(engine.url), bed.store), bed.poster, NOW);
    expect(posted!.charts.map((chart) => [chart.filename, chart.as])).toEqual([
      ['p99-per-day.png', 'text'],
      ['cache-hit-rate.png', 'image'],
    ]);
    expect(bed.slack.messages(REPORTS).find((message) => message.ts === posted!.ts)!.text).toContain('Weekly performance report');
    const thread = bed.slack.thread(REPORTS, posted!.ts);
    expect(thread.flatMap((message) => message.files ?? []).map((file) => file.name)).toEqual(['cache-hit-rate.png']);
    expect(thread.some((message) => message.text?.includes('this week: min 1, max 4') && message.text.includes('last week: min 2, max 2'))).toBe(true);
    expect(document.footer).toContain(`Posted to #acgs-reports with 2 charts (1 as text: Slack refused the upload).`);
  }, 60_000);
});
