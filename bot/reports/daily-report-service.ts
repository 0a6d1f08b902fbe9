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
import { gatherDailyReport, type DailyReportSources } from './daily-report.js';
import type { RenderedChart } from './charts/index.js';

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

/** Where the report goes: bot/main.ts gives bot/slack/post-daily-report.ts's postDailyReport, so the reports stay Slack-free. */
export interface DailyReportPoster {
  /** channels.reports, else channels.ops (else the console's channel). */
  channel: string;
  post(report: { document: ResultDocument; charts: readonly RenderedChart[] }): Promise<PostedReport>;
}

export interface PostedReport {
  channel: string;
  /** The channel's name without `#`, when Slack told it. */
  channelName?: string;
  ts: string;
  /** A link to the posted report, when Slack gave one. */
  permalink?: string;
  /** How each chart went out: `text` when Slack refused the image and its text fallback was posted. */
  charts: Array<{ filename: string; as: 'image' | 'text' }>;
}

/** Gathers, renders and (with a poster) posts the daily report; the document says where it went. */
export async function makeDailyReport(sources: DailyReportSources, poster?: DailyReportPoster, now: Date = new Date()): Promise<{ document: ResultDocument; posted?: PostedReport }> {
  const { report, series } = await gatherDailyReport(sources, now);
  const charts = await renderDailyReportCharts(series);
  const document = dailyReportDocument(report, { charts: charts.map((chart) => chart.filename) });
  if (!poster) return { document };
  const posted = await poster.post({ document, charts });
  const refused = posted.charts.filter((chart) => chart.as === 'text');
  const where = `Posted in channel ${poster.channel} with ${charts.length} chart${charts.length === 1 ? '' : 's'}${refused.length ? ` (${refused.length} as text: Slack refused the upload)` : ''}.`;
  return { document: { ...document, footer: [document.footer, where].filter(Boolean).join('\n') }, posted };
}

export function createReports(options: { services: CommandDependencies; history: MetricsHistory; poster?: DailyReportPoster }): Reports {
  return {
    async daily({ post, askedIn }) {
      const made = await makeDailyReport(dailyReportSources(options.services, options.history), post ? options.poster : undefined);
      if (!made.posted || askedIn === undefined) return made.document;
      return reportPostedNote(made.document, made.posted, askedIn);
    },
  };
}

/**
 * The answer where `report daily` was asked once the report is posted: the report itself would
 * show it a second time (in the reports channel, twice in a row). Asked in the reports channel, only
 * the asker sees that it is there; asked elsewhere, the channel sees where it went and its verdict.
 */
export function reportPostedNote(report: ResultDocument, posted: PostedReport, askedIn: string): ResultDocument {
  const where = posted.channelName ? `#${posted.channelName}` : `channel ${posted.channel}`;
  const link = posted.permalink ? [{ type: 'text' as const, text: posted.permalink }] : [];
  const note = { tone: report.tone, ...(report.summary ? { summary: report.summary } : {}), blocks: link, ...(report.footer ? { footer: report.footer } : {}), data: report.data };
  if (askedIn === posted.channel) return { title: 'Daily health report posted in this channel', ...note, ephemeral: true };
  return { title: `Daily health report posted to ${where}`, ...note };
}
