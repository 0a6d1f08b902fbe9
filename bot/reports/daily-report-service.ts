/**
 * The bot's `Reports` port (commands/ports.ts): the daily report's sources taken from the
 * command dependencies and the metrics history, its charts rendered, and, with Slack, the report
 * posted to the reports channel. `postDailyReportNow` is what the scheduler calls.
 */
import type { CommandDependencies } from '../../commands/dependencies.js';
import { runHealthChecks } from '../../commands/health.js';
import type { Reports } from '../../commands/ports.js';
import type { ResultDocument } from '../../commands/result.js';
import type { MetricsHistory } from '../metrics-history/index.js';
import { renderDailyReportCharts } from './daily-report-charts.js';
import { dailyReportDocument } from './daily-report-document.js';
import { auditEngineChain } from './audit-chain-status.js';
import { gatherDailyReport, type DailyReportSources } from './daily-report.js';
import { makeSecurityReport, securityReportSources } from './security-report-service.js';
import { postReport, type PostedReport, type ReportPoster } from './report-posting.js';

/** The sources of the parts as the bot has them; a missing port becomes a part that says why. */
export function dailyReportSources(services: CommandDependencies, history: MetricsHistory, signal: AbortSignal = new AbortController().signal): DailyReportSources {
  return {
    history,
    health: () => runHealthChecks({ services, signal }),
    alertHistory: (since, limit) => (services.alerts ? services.alerts.history(since, limit) : Promise.reject(new Error(services.alertsProblem ?? 'alerts are not set up in this process'))),
    backups: () => (services.backups ? services.backups.list() : Promise.reject(new Error(services.runsProblem ?? 'backups are not set up in this process'))),
    auditChain: () => auditEngineChain(services),
  };
}


/** The daily report's poster and what it answers are every report's (report-posting.ts). */
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
    async security({ post }) {
      const made = await makeSecurityReport(securityReportSources(options.services), post ? options.poster : undefined);
      return made.document;
    },
  };
}
