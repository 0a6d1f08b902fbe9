/**
 * `npx acgs report daily [--json]` with DATABASE_URL: the CLI makes the report from the bot's
 * metrics history in that database (filled here with a known day) and prints it, never posting;
 * without DATABASE_URL and without a running npm start (no trail) it is refused, as Level 1,
 * saying how to set DATABASE_URL. `schedule` says the scheduler is the bot's and where to ask it.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSampleStore, migrateMetricsHistory } from '../../bot/metrics-history/index.js';
import { fillMinuteSamples } from '../../bot/metrics-history/testing/fill-history.js';
import type { DailyReport } from '../../bot/reports/daily-report.js';
import type { WeeklyPerformanceReport } from '../../bot/reports/weekly-performance-report.js';
import { createPool } from '../../services/kit/postgres.js';
import { startCliOperator, type CliOperator } from '../testing/cli-operator.js';

let cli: CliOperator;
let pool: pg.Pool;

beforeAll(async () => {
  cli = await startCliOperator('cli-report', {});
  pool = createPool({ databaseUrl: cli.db.url, max: 2, applicationName: 'acgs-cli-report-test' });
  await migrateMetricsHistory(pool);
  const now = Date.now();
  await fillMinuteSamples(pool, { from: new Date(now - 24 * 3600_000), to: new Date(now) }, [
    { metric: 'cache_hit_rate_percent', service: 'policy-engine', base: 90, wave: 0, noise: 0 },
    { metric: 'p99_latency_ms', service: 'policy-engine', base: 2, wave: 0, noise: 0 },
  ]);
  await createSampleStore({ pool }).rollUp(new Date(now - 24 * 3600_000));
}, 30_000);

afterAll(async () => {
  await pool?.end();
  await cli?.close();
});

describe('acgs report daily', () => {
  it('prints the report as JSON: the known day judged against the thresholds', async () => {
    const answer = await cli.acgs(['report', 'daily', '--json']);
    expect(answer.stdout, answer.stderr).not.toBe('');
    const report = JSON.parse(answer.stdout) as DailyReport;
    expect(report.kpis.state).toBe('ok');
    const kpis = report.kpis.state === 'ok' ? Object.fromEntries(report.kpis.value.map((kpi) => [kpi.metric, kpi])) : {};
    expect(kpis.cache_hit_rate_percent).toMatchObject({ value: 90, tone: 'fail' });
    expect(kpis.p99_latency_ms).toMatchObject({ value: 2, tone: 'ok' });
    expect(kpis.cpu_percent).toMatchObject({ value: null, tone: 'info' });
    expect(report.needs_a_human).toContain('Cache hit rate over the day below 95 %');
    expect(report.alerts).toMatchObject({ state: 'ok', value: { alerts: [], cut: false } });
  }, 90_000);

  it('prints the report as text, needs first', async () => {
    const answer = await cli.acgs(['report', 'daily']);
    expect(answer.stdout).toContain('Daily health report');
    expect(answer.stdout.indexOf('Cache hit rate over the day below 95 %')).toBeLessThan(answer.stdout.indexOf('KPIs, last 24 h'));
    expect(answer.stdout).toContain('Charts: latency.png, cache-hit-rate.png');
  }, 90_000);

  it('is refused without DATABASE_URL and without a running npm start: a Level 1 command never runs unrecorded', async () => {
    const answer = await cli.acgs(['report', 'daily'], { DATABASE_URL: '' });
    expect(answer.code).not.toBe(0);
    expect(answer.stdout).toContain('report daily: not available right now');
    expect(answer.stdout).toContain('they never run unrecorded');
    // What is missing and how to set it, not only that something is.
    expect(answer.stdout).toContain("set DATABASE_URL to the bot's own database (the value the bot runs with), e.g. `DATABASE_URL=postgres://<user>:<password>@<host>:5432/<database> npx acgs report daily`");
  });

  it('`schedule` and `schedule run` say that the scheduler is the bot\'s and where to ask it', async () => {
    // `schedule run` without DATABASE_URL is refused earlier: a Level 1 line needs the trail (above).
    const asked: Array<[string[], Record<string, string>]> = [
      [['schedule'], { DATABASE_URL: '' }],
      [['schedule'], {}],
      [['schedule', 'run', 'backup'], {}],
    ];
    for (const [line, env] of asked) {
      const answer = await cli.acgs(line, env);
      expect(answer.code).not.toBe(0);
      expect(answer.stdout, line.join(' ')).toContain('The scheduler cannot be asked from here.');
      expect(answer.stdout).toContain('ask the bot in the console or Slack (`/acgs schedule`, `/acgs schedule run <job>`)');
    }
  });
});

describe('acgs report weekly', () => {
  it('prints the weekly performance report as JSON: this week against a last week without samples, pg_stat_statements said unavailable', async () => {
    const answer = await cli.acgs(['report', 'weekly', '--json']);
    expect(answer.stdout, answer.stderr).not.toBe('');
    const report = JSON.parse(answer.stdout) as WeeklyPerformanceReport;
    const kpis = report.kpis.state === 'ok' ? Object.fromEntries(report.kpis.value.map((kpi) => [kpi.metric, kpi])) : {};
    expect(kpis.cache_hit_rate_percent).toMatchObject({ this_week: 90, last_week: null, verdict: 'no data', tone: 'fail' });
    expect(kpis.p99_latency_ms).toMatchObject({ this_week: 2, tone: 'ok' });
    expect(report.cache).toMatchObject({ state: 'ok', value: { this_week: 90, last_week: null } });
    expect(report.slow_queries).toMatchObject({ state: 'ok', value: { available: false } });
    expect(report.needs_attention).toContain('Cache hit rate over the week below 95 %');
  }, 90_000);

  it('prints the report as text with its charts named, and is refused without DATABASE_URL', async () => {
    const answer = await cli.acgs(['report', 'weekly']);
    expect(answer.stdout).toContain('Weekly performance report');
    expect(answer.stdout).toContain('Slow queries are not available: ');
    expect(answer.stdout).toContain('Charts: p99-per-day.png, cache-hit-rate.png');
    const refused = await cli.acgs(['report', 'weekly'], { DATABASE_URL: '' });
    expect(refused.code).not.toBe(0);
    expect(refused.stdout).toContain('report weekly: not available right now');
  }, 90_000);
});
