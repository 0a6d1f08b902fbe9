/**
 * The daily report on the real PostgreSQL (the sampler's tables filled with a known series), its
 * posting to the Slack stand-in (the message, the charts in its thread, a refused upload's text
 * fallback), its JSON, and a real source down: only that part says what is missing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommandDependencies } from '../../commands/dependencies.js';
import { createPool } from '../../services/kit/postgres.js';
import { createSampleStore } from '../metrics-history/index.js';
import { fillMinuteSamples } from '../metrics-history/testing/fill-history.js';
import { createBackupCatalog } from '../runbook-runs/backup-catalog.js';
import { dailyReportSources, makeDailyReport } from './daily-report-service.js';
import type { DailyReport } from './daily-report.js';
import { DOWN, flat, REPORTS_CHANNEL as REPORTS, startReportTestBed, type ReportTestBed } from './testing/report-test-bed.js';

const NOW = new Date('2026-12-07T06:00:00.000Z');
const DAY = 24 * 3600_000;

let bed: ReportTestBed;
let backupDir: string;

beforeAll(async () => {
  bed = await startReportTestBed('daily-report');
  const range = { from: new Date(NOW.getTime() - DAY), to: NOW };
  await fillMinuteSamples(bed.pool, range, [
    flat('p99_latency_ms', 'policy-engine', 6),
    flat('error_rate_percent', 'policy-engine', 0.01),
    flat('cache_hit_rate_percent', 'policy-engine', 97),
    flat('cpu_percent', 'policy-engine', 20),
    flat('cpu_percent', 'audit-engine', 30),
    flat('memory_percent', 'policy-engine', 40),
    flat('service_up', 'policy-engine', 1),
  ]);
  // One bad hour of CPU on the audit engine: the worst hour, while the day stays under 80 %.
  await bed.pool.query(`UPDATE metric_samples SET value = 95 WHERE metric = 'cpu_percent' AND service = 'audit-engine' AND at >= '2026-12-07T02:00:00Z' AND at < '2026-12-07T03:00:00Z'`);
  // Uptime asks one step over the day, which the hourly roll-ups answer, as the sampler leaves them.
  await bed.store.rollUp(range.from);
  backupDir = await mkdtemp(join(tmpdir(), 'acgs-daily-report-'));
}, 60_000);
afterAll(async () => {
  await bed?.close();
  if (backupDir) await rm(backupDir, { recursive: true, force: true });
});

const services = () => createCommandDependencies({ endpoints: { 'policy-engine': DOWN, 'audit-engine': DOWN, 'evolution-oversight': DOWN, 'sandbox-controller': DOWN }, checkTimeoutMs: 500, callTimeoutMs: 500 });

describe('the daily report', () => {
  it('judges the KPIs of a known day against the thresholds, with the worst hour, and puts what needs a human first', async () => {
    const { document } = await makeDailyReport({ ...dailyReportSources({ ...services(), backups: createBackupCatalog(backupDir) }, bed.store) }, undefined, NOW);
    const report = document.data as DailyReport;
    expect(report.kpis.state).toBe('ok');
    const kpis = report.kpis.state === 'ok' ? Object.fromEntries(report.kpis.value.map((kpi) => [kpi.metric, kpi])) : {};
    expect(kpis.p99_latency_ms).toMatchObject({ value: 6, tone: 'fail' });
    expect(kpis.cache_hit_rate_percent).toMatchObject({ value: 97, tone: 'ok' });
    expect(kpis.error_rate_percent).toMatchObject({ tone: 'ok' });
    expect(kpis.cpu_percent).toMatchObject({ service: 'audit-engine', tone: 'warn', worst_hour: { start: '2026-12-07T02:00:00.000Z', value: 95, service: 'audit-engine' } });
    expect(kpis.memory_percent).toMatchObject({ value: 40, tone: 'ok' });
    expect(report.uptime).toMatchObject({ state: 'ok' });
    expect(report.uptime.state === 'ok' && report.uptime.value.find((one) => one.service === 'policy-engine')?.up_percent).toBe(100);
    // The services are down for real: each is failing, and the audit chain cannot be asked.
    expect(report.health.state === 'ok' && report.health.value.filter((check) => check.status === 'unreachable').length).toBeGreaterThanOrEqual(4);
    expect(report.audit).toMatchObject({ state: 'missing' });
    expect(report.audit.state === 'missing' && report.audit.reason).toMatch(/^audit chain unavailable: /);
    expect(report.alerts).toMatchObject({ state: 'missing', reason: 'alert history unavailable: alerts are not set up in this process' });
    expect(report.backup).toMatchObject({ state: 'ok', value: { tone: 'fail', problem: 'there is no backup' } });
    expect(report.needs_a_human).toContain('P99 latency over the day above 5 ms');
    expect(report.needs_a_human).toContain('there is no backup');
    expect(report.needs_a_human.some((need) => need.startsWith('policy-engine is unreachable'))).toBe(true);
    expect(document.blocks[0]).toMatchObject({ type: 'checks', items: expect.arrayContaining([{ name: 'Needs a human', tone: 'warn', text: 'P99 latency over the day above 5 ms' }]) });
    expect(document.footer).toContain('Charts: latency.png, cache-hit-rate.png, cpu-use.png, memory-use.png');
    // --json prints data: plain JSON, the same figures.
    expect(JSON.parse(JSON.stringify(document.data))).toEqual(report);
  }, 60_000);

  it('still reports the rest when the metrics history is down, saying it is missing', async () => {
    const downPool = createPool({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none', max: 1, applicationName: 'acgs-daily-report-down' });
    try {
      const { document } = await makeDailyReport(dailyReportSources({ ...services(), backups: createBackupCatalog(backupDir) }, createSampleStore({ pool: downPool })), undefined, NOW);
      const report = document.data as DailyReport;
      expect(report.kpis.state).toBe('missing');
      expect(report.kpis.state === 'missing' && report.kpis.reason).toMatch(/^metrics history unavailable: /);
      expect(report.uptime.state).toBe('missing');
      expect(report.health.state).toBe('ok');
      expect(report.backup.state).toBe('ok');
      expect(report.needs_a_human.filter((need) => need.startsWith('metrics history unavailable'))).toHaveLength(1);
      expect(document.footer).not.toContain('Charts:');
    } finally {
      await downPool.end();
    }
  }, 60_000);

  it('posts the report to the reports channel with its charts in the thread, and a refused upload as text', async () => {
    bed.slack.rateLimitNext('files.completeUploadExternal', 1, 5);
    const { document, posted } = await makeDailyReport(dailyReportSources(services(), bed.store), bed.poster, NOW);
    expect(posted!.charts.map((chart) => [chart.filename, chart.as])).toEqual([
      ['latency.png', 'text'],
      ['cache-hit-rate.png', 'image'],
      ['cpu-use.png', 'image'],
      ['memory-use.png', 'image'],
    ]);
    const parent = bed.slack.messages(REPORTS).find((message) => message.ts === posted!.ts)!;
    expect(parent.text).toContain('Daily health report');
    const thread = bed.slack.thread(REPORTS, posted!.ts);
    expect(thread.flatMap((message) => message.files ?? []).map((file) => file.name)).toEqual(['cache-hit-rate.png', 'cpu-use.png', 'memory-use.png']);
    expect(thread.some((message) => message.text?.includes('p99: min 6, max 6') && message.text.includes('chart image not shown: rate_limited'))).toBe(true);
    expect(document.footer).toContain(`Posted to #acgs-reports with 4 charts (1 as text: Slack refused the upload).`);
  }, 60_000);
});
