/**
 * The weekly performance report for the bot: its sources taken from the command dependencies
 * and the metrics history, and `makeWeeklyPerformanceReport`, which gathers, renders and (with a
 * poster) posts it (report-posting.ts). createReports (daily-report-service.ts) serves it as the
 * `Reports` port's `weeklyPerformance`, which `report weekly` and the Monday job run.
 */
import type { CommandDependencies } from '../../commands/dependencies.js';
import type { ResultDocument } from '../../commands/result.js';
import type { MetricsHistory } from '../metrics-history/index.js';
import { postReport, type PostedReport, type ReportPoster } from './report-posting.js';
import { renderWeeklyPerformanceCharts } from './weekly-performance-charts.js';
import { weeklyPerformanceDocument } from './weekly-performance-document.js';
import { gatherWeeklyPerformanceReport, type WeeklyPerformanceSources } from './weekly-performance-report.js';

export function weeklyPerformanceSources(services: CommandDependencies, history: MetricsHistory): WeeklyPerformanceSources {
  return {
    history,
    engineMetrics: () => services.policyEngine.metrics(),
    slowQueries: async (limit) =>
      services.database
        ? services.database.slowQueries(limit)
        : {
            available: false,
            // Without DATABASE_URL the stack's database is npm start's embedded PGlite, which has no such extension.
            reason: "the stack's database is the embedded one of npm start (PGlite), which has no pg_stat_statements",
            howToEnable: "run the stack on PostgreSQL (DATABASE_URL) with shared_preload_libraries = 'pg_stat_statements' and CREATE EXTENSION pg_stat_statements",
          },
  };
}

export async function makeWeeklyPerformanceReport(sources: WeeklyPerformanceSources, poster?: ReportPoster, now: Date = new Date()): Promise<{ document: ResultDocument; posted?: PostedReport }> {
  const { report, series } = await gatherWeeklyPerformanceReport(sources, now);
  const charts = await renderWeeklyPerformanceCharts(series);
  return postReport({ document: weeklyPerformanceDocument(report, { charts: charts.map((chart) => chart.filename) }), charts }, poster);
}
