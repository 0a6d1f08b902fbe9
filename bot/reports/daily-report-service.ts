/**
 * The bot's `Reports` port (commands/ports.ts): the daily report's sources taken from the
 * command dependencies and the metrics history, its charts rendered, and, with Slack, the report
 * posted to the reports channel; the port's capacity, weekly performance and security reports are
 * capacity-report-service.ts's, weekly-performance-service.ts's and security-report-service.ts's.
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
import { capacityReportSources, makeCapacityReport } from './capacity-report-service.js';
import { makeSecurityReport, securityReportSources } from './security-report-service.js';
import { postReport, reportPostedNote, type PostedReport, type ReportPoster } from './report-posting.js';
import { WEEKLY_PERFORMANCE_TITLE } from './weekly-performance-document.js';
import { makeWeeklyPerformanceReport, weeklyPerformanceSources } from './weekly-performance-service.js';

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

/** Where the report goes (report-posting.ts); the names the daily report first gave them. */
export type { ReportPoster as DailyReportPoster, PostedReport } from './report-posting.js';

/** Gathers, renders and (with a poster) posts the daily report; the document says where it went. */
export async function makeDailyReport(sources: DailyReportSources, poster?: ReportPoster, now: Date = new Date()): Promise<{ document: ResultDocument; posted?: PostedReport }> {
  const { report, series } = await gatherDailyReport(sources, now);
  const charts = await renderDailyReportCharts(series);
  return postReport({ document: dailyReportDocument(report, { charts: charts.map((chart) => chart.filename) }), charts }, poster);
}

export function createReports(options: { services: CommandDependencies; history: MetricsHistory; poster?: ReportPoster }): Reports {
  /** Every report is answered alike: posted when asked to be, and then only pointed at where it was asked. */
  const answer = async (what: string, make: (poster?: ReportPoster) => Promise<{ document: ResultDocument; posted?: PostedReport }>, { post, askedIn }: { post: boolean; askedIn?: string }) => {
    const made = await make(post ? options.poster : undefined);
    if (!made.posted || askedIn === undefined) return made.document;
    return reportPostedNote(what, made.document, made.posted, askedIn);
  };
  return {
    daily: (asked) => answer('Daily health report', (poster) => makeDailyReport(dailyReportSources(options.services, options.history), poster), asked),
    capacity: (asked) => answer('Monthly capacity report', (poster) => makeCapacityReport(capacityReportSources(options.services, options.history), poster), asked),
    weeklyPerformance: (asked) => answer(WEEKLY_PERFORMANCE_TITLE, (poster) => makeWeeklyPerformanceReport(weeklyPerformanceSources(options.services, options.history), poster), asked),
    security: (asked) => answer('Weekly security report', (poster) => makeSecurityReport(securityReportSources(options.services), poster), asked),
  };
}
