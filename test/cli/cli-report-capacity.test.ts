/**
 * `npx acgs report capacity [--json]` with DATABASE_URL: the CLI makes the capacity report from
 * the bot's metrics history in that database (a month of hourly roll-ups on known lines) and
 * prints it, never posting; without DATABASE_URL and without a running npm start it is refused.
 */
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateMetricsHistory } from '../../bot/metrics-history/index.js';
import { fillHourlyTrends } from '../../bot/metrics-history/testing/fill-history.js';
import type { CapacityReport } from '../../bot/reports/capacity-report.js';
import { createPool } from '../../services/kit/postgres.js';
import { startCliOperator, type CliOperator } from '../testing/cli-operator.js';

const DAY = 24 * 3600_000;

let cli: CliOperator;
let pool: pg.Pool;

beforeAll(async () => {
  cli = await startCliOperator('cli-report-capacity', {});
  pool = createPool({ databaseUrl: cli.db.url, max: 2, applicationName: 'acgs-cli-report-capacity-test' });
  await migrateMetricsHistory(pool);
  const now = Date.now();
  await fillHourlyTrends(pool, { from: new Date(now - 32 * DAY), to: new Date(now) }, [
    { metric: 'cpu_percent', service: 'audit-engine', start: 25, perDay: 0 },
    { metric: 'cpu_percent', service: 'policy-engine', start: 85, perDay: 0.1 },
  ]);
}, 30_000);

afterAll(async () => {
  await pool?.end();
  await cli?.close();
});

describe('acgs report capacity', () => {
  it('prints the report as JSON: each resource projected against its threshold', async () => {
    const answer = await cli.acgs(['report', 'capacity', '--json']);
    expect(answer.stdout, answer.stderr).not.toBe('');
    const report = JSON.parse(answer.stdout) as CapacityReport;
    expect(report.trends.cpu.state).toBe('ok');
    const cpu = report.trends.cpu.state === 'ok' ? Object.fromEntries(report.trends.cpu.value.map((trend) => [trend.service, trend])) : {};
    expect(cpu['policy-engine']?.projection).toMatchObject({ state: 'over-threshold' });
    expect(cpu['audit-engine']?.projection).toMatchObject({ state: 'not-at-current-trend', why: 'flat' });
    expect(cpu['sandbox-controller']?.projection).toMatchObject({ state: 'not-enough-data', days_with_data: 0 });
    expect(report.needs_attention).toContain('CPU of policy-engine is over its 80 % threshold at the current trend');
  }, 90_000);

  it('prints the report as text, what needs attention first', async () => {
    const answer = await cli.acgs(['report', 'capacity']);
    expect(answer.stdout).toContain('Monthly capacity report');
    expect(answer.stdout.indexOf('CPU of policy-engine is over its 80 % threshold')).toBeLessThan(answer.stdout.indexOf('CPU (%, threshold 80 %)'));
    expect(answer.stdout).toContain('not at the current trend (flat)');
    expect(answer.stdout).toContain('Charts: capacity-cpu.png');
  }, 90_000);

  it('is refused without DATABASE_URL and without a running npm start: a Level 1 command never runs unrecorded', async () => {
    const answer = await cli.acgs(['report', 'capacity'], { DATABASE_URL: '' });
    expect(answer.code).not.toBe(0);
    expect(answer.stdout).toContain('report capacity: not available right now');
  });
});
