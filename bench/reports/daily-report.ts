/**
 * Part 3 of `npm run bench:reports`: the daily report over 90 days of minute samples, built and
 * rendered with its chart PNGs (issue 15's goal: under 2 s). Each round does what makeDailyReport
 * does without a poster, timed step by step: gather (every part's source at once), render (the
 * charts, one after the other), the result document. Each source is timed too, so a slow round
 * says which part made it slow. The first round is cold (JIT, Vega's first parse) and is shown
 * apart from the warm rounds' p50 and max.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import type { CommandDependencies } from '../../commands/dependencies.js';
import { commandAlerts } from '../../bot/alerts/alert-commands.js';
import { createAlertStore, migrateAlertStore } from '../../bot/alerts/alert-store.js';
import type { ReportedAlert } from '../../bot/alerts/intake.js';
import type { MetricsHistory } from '../../bot/metrics-history/index.js';
import { renderDailyReportCharts } from '../../bot/reports/daily-report-charts.js';
import { dailyReportDocument } from '../../bot/reports/daily-report-document.js';
import { dailyReportSources } from '../../bot/reports/daily-report-service.js';
import { gatherDailyReport, type DailyReportSources } from '../../bot/reports/daily-report.js';
import { createBackupCatalog } from '../../bot/runbook-runs/backup-catalog.js';
import { percentile } from './percentile.js';

export const DAILY_REPORT_GOAL_MS = 2000;

export interface DailyReportFigures {
  rounds: number;
  /** The first round, cold. */
  first: RoundTimes;
  /** The warm rounds (all but the first). */
  p50: RoundTimes;
  max: RoundTimes;
  /** Each source's p50 over the warm rounds, ms. */
  sourcesP50: Record<string, number>;
  charts: Array<{ filename: string; bytes: number; width: number; height: number }>;
  /** Parts that could not be gathered: the bench's setup is wrong if any is listed. */
  missing: string[];
  minutesPerSeries: number;
  metGoal: boolean;
}

interface RoundTimes {
  gatherMs: number;
  renderMs: number;
  documentMs: number;
  totalMs: number;
  /** This process's CPU over the round, every thread (resvg fills on the thread pool): what a busy machine cannot stretch. */
  cpuMs: number;
}

const HOUR_MS = 3600_000;
/** Alerts in the night, as a busy one might have: fired and resolved, two still open. */
const NIGHT_ALERTS = 40;

/**
 * The night's alerts in the real alert store (same database): each fired and, but for the last
 * two, resolved 5 minutes later, so the report's alert part reads a plausible history.
 */
async function fillNightAlerts(pool: pg.Pool, now: Date): Promise<CommandDependencies['alerts']> {
  await migrateAlertStore(pool);
  let clock = now;
  const store = createAlertStore({ pool, now: () => clock });
  for (let index = 0; index < NIGHT_ALERTS; index++) {
    const startsAt = new Date(now.getTime() - 12 * HOUR_MS + index * 15 * 60_000);
    const alert = (status: ReportedAlert['status']): ReportedAlert => ({
      source: 'monitor',
      fingerprint: `bench-${index}`,
      rule: 'HighCPU',
      status,
      labels: { alertname: 'HighCPU', service: 'audit-engine' },
      annotations: {},
      startsAt,
      ...(status === 'resolved' ? { endsAt: new Date(startsAt.getTime() + 5 * 60_000) } : {}),
      value: 92,
    });
    clock = startsAt;
    await store.report([alert('firing')]);
    if (index < NIGHT_ALERTS - 2) {
      clock = new Date(startsAt.getTime() + 5 * 60_000);
      await store.report([alert('resolved')]);
    }
  }
  return commandAlerts(store, { timezone: 'UTC' });
}

/** The sources with each call's duration recorded under its name. */
function timedSources(sources: DailyReportSources, times: Map<string, number[]>): DailyReportSources {
  const timed =
    <A extends unknown[], R>(name: string, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const started = performance.now();
      try {
        return await call(...args);
      } finally {
        const list = times.get(name) ?? [];
        list.push(performance.now() - started);
        times.set(name, list);
      }
    };
  const history = sources.history;
  return {
    history: {
      source: history.source,
      query: timed('history.query (each of the 5 KPIs, at once)', (query) => history.query(query)),
      uptime: timed('history.uptime', (range) => history.uptime(range)),
    },
    health: timed('health checks', () => sources.health()),
    alertHistory: timed('alert history', (since, limit) => sources.alertHistory(since, limit)),
    backups: timed('backup catalog', () => sources.backups()),
    auditChain: timed('audit chain verify', () => sources.auditChain()),
  };
}

export async function benchDailyReport(options: {
  pool: pg.Pool;
  history: MetricsHistory;
  services: CommandDependencies;
  now: Date;
  rounds: number;
  log: (line: string) => void;
}): Promise<DailyReportFigures> {
  const { pool, now, rounds, log } = options;
  const alerts = await fillNightAlerts(pool, now);
  // No backup has been made on this fresh stack: the part lists an empty catalog and says so.
  const backupDir = mkdtempSync(join(tmpdir(), 'acgs-bench-reports-backups-'));
  try {
    const sourceTimes = new Map<string, number[]>();
    const sources = timedSources(dailyReportSources({ ...options.services, alerts, backups: createBackupCatalog(backupDir) }, options.history), sourceTimes);
    log(`\n3. daily report over 90 days of minute samples, ${rounds} rounds (load average ${loadavg().map((v) => v.toFixed(2)).join(' ')}):`);
    const times: RoundTimes[] = [];
    let last: { charts: Awaited<ReturnType<typeof renderDailyReportCharts>>; missing: string[]; minutesPerSeries: number } | undefined;
    for (let round = 0; round < rounds; round++) {
      if (round === 1) sourceTimes.clear();
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      const { report, series } = await gatherDailyReport(sources, now);
      const gathered = performance.now();
      const charts = await renderDailyReportCharts(series);
      const rendered = performance.now();
      dailyReportDocument(report, { charts: charts.map((chart) => chart.filename) });
      const done = performance.now();
      const cpu = process.cpuUsage(cpuBefore);
      times.push({ gatherMs: gathered - started, renderMs: rendered - gathered, documentMs: done - rendered, totalMs: done - started, cpuMs: (cpu.user + cpu.system) / 1000 });
      const missing = [report.health, report.uptime, report.kpis, report.alerts, report.backup, report.audit].flatMap((part) => (part.state === 'missing' ? [part.reason] : []));
      last = { charts, missing, minutesPerSeries: Math.max(...Object.values(series).flat().map((one) => one.points.length)) };
    }
    const warm = times.length > 1 ? times.slice(1) : times;
    const summarise = (pick: (round: number) => number): RoundTimes => ({
      gatherMs: pick(0),
      renderMs: pick(1),
      documentMs: pick(2),
      totalMs: pick(3),
      cpuMs: pick(4),
    });
    const column = (index: number) => warm.map((round) => [round.gatherMs, round.renderMs, round.documentMs, round.totalMs, round.cpuMs][index]!);
    const figures: DailyReportFigures = {
      rounds,
      first: times[0]!,
      p50: summarise((index) => percentile(column(index), 50)),
      max: summarise((index) => Math.max(...column(index))),
      sourcesP50: Object.fromEntries([...sourceTimes].map(([name, list]) => [name, percentile(list, 50)])),
      charts: last!.charts.map((chart) => ({ filename: chart.filename, bytes: chart.png.length, width: chart.width, height: chart.height })),
      missing: last!.missing,
      minutesPerSeries: last!.minutesPerSeries,
      metGoal: false,
    };
    figures.metGoal = Math.max(...column(3)) < DAILY_REPORT_GOAL_MS;
    printFigures(figures, log);
    return figures;
  } finally {
    rmSync(backupDir, { recursive: true, force: true });
  }
}

function printFigures(figures: DailyReportFigures, log: (line: string) => void): void {
  const ms = (value: number) => value.toFixed(1);
  const row = (name: string, times: RoundTimes) => `| ${name} | ${ms(times.gatherMs)} | ${ms(times.renderMs)} | ${ms(times.documentMs)} | ${ms(times.totalMs)} | ${ms(times.cpuMs)} |`;
  log('| round | gather ms | render ms | document ms | total ms | bench process CPU ms |\n|---|---|---|---|---|---|');
  log(row('first (cold)', figures.first));
  log(row(`p50 of ${figures.rounds - 1} warm`, figures.p50));
  log(row(`max of ${figures.rounds - 1} warm`, figures.max));
  log(`sources, p50 ms (warm; gathered at once, so gather is about the slowest): ${Object.entries(figures.sourcesP50).map(([name, value]) => `${name} ${ms(value)}`).join(', ')}`);
  log(`charts (${figures.minutesPerSeries} minutes a series): ${figures.charts.map((chart) => `${chart.filename} ${chart.width}x${chart.height} ${(chart.bytes / 1024).toFixed(0)} KiB`).join(', ')}`);
  if (figures.missing.length > 0) log(`parts missing (the bench's setup, not the report): ${figures.missing.join('; ')}`);
  log(`goal: built and rendered in under ${DAILY_REPORT_GOAL_MS} ms: ${figures.metGoal ? 'met' : 'MISSED'} (warm max ${ms(figures.max.totalMs)} ms, first ${ms(figures.first.totalMs)} ms)`);
}
