/**
 * The bot's `Reports` port (commands/ports.ts): the daily report's sources taken from the
 * command dependencies and the metrics history, its charts rendered, and, with Slack, the report
 * posted to the reports channel. `weeklyPerformance` is weekly-performance-service.ts's.
 */
import type { CommandDependencies } from '../../commands/dependencies.js';
import { runHealthChecks } from '../../commands/health.js';
import type { Reports } from '../../commands/ports.js';
import type { ResultDocument } from '../../commands/result.js';
import type { MetricsHistory } from '../metrics-history/index.js';
import { renderDailyReportCharts } from './daily-report-charts.js';
import { postReport, type PostedReport, type ReportPoster } from './report-posting.js';
import { makeWeeklyPerformanceReport, weeklyPerformanceSources } from './weekly-performance-service.js';
import { dailyReportDocument } from './daily-report-document.js';
import { gatherDailyReport, type DailyReportSources } from './daily-report.js';

/**
 * From the last signed checkpoint this takes well under a second; a hanging Audit Engine should
 * cost the report its audit part, not the client's two-minute full-walk allowance.
 */
const AUDIT_VERIFY_TIMEOUT_MS = 30_000;

/** The sources of the parts as the bot has them; a missing port becomes a part that says why. */
export function dailyReportSources(services: CommandDependencies, history: MetricsHistory, signal: AbortSignal = new AbortController().signal): DailyReportSources {
  return {
    history,
    health: () => runHealthChecks({ services, signal }),
    alertHistory: (since, limit) => (services.alerts ? services.alerts.history(since, limit) : Promise.reject(new Error(services.alertsProblem ?? 'alerts are not set up in this process'))),
    backups: () => (services.backups ? services.backups.list() : Promise.reject(new Error(services.runsProblem ?? 'backups are not set up in this process'))),
    auditChain: async () => {
      const result = await services.auditEngine.verify(AUDIT_VERIFY_TIMEOUT_MS, { scope: 'checkpoint' });
      if (result.valid) return { valid: true, detail: `intact: ${result.events_checked} records checked up to #${result.head.sequence}` };
      const broken = result.first_broken;
      return { valid: false, detail: broken ? `first broken record #${broken.sequence} (${broken.check})` : 'reported broken without naming a record' };
    },
  };
}

/** Where the report goes (report-posting.ts): every report has the same poster. */
export type DailyReportPoster = ReportPoster;
export type { PostedReport };

/** Gathers, renders and (with a poster) posts the daily report; the document says where it went. */
export async function makeDailyReport(sources: DailyReportSources, poster?: DailyReportPoster, now: Date = new Date()): Promise<{ document: ResultDocument; posted?: PostedReport }> {
  const { report, series } = await gatherDailyReport(sources, now);
  const charts = await renderDailyReportCharts(series);
  return postReport(dailyReportDocument(report, { charts: charts.map((chart) => chart.filename) }), charts, poster);
}

export function createReports(options: { services: CommandDependencies; history: MetricsHistory; poster?: DailyReportPoster }): Reports {
  return {
    async daily({ post }) {
      const made = await makeDailyReport(dailyReportSources(options.services, options.history), post ? options.poster : undefined);
      return made.document;
    },
    async weeklyPerformance({ post }) {
      return (await makeWeeklyPerformanceReport(weeklyPerformanceSources(options.services, options.history), post ? options.poster : undefined)).document;
    },
  };
}
