/**
 * Where a report goes, and the line its document gets once posted: shared by the daily and the
 * weekly security report. bot/main.ts gives bot/slack/post-daily-report.ts's postDailyReport as
 * the poster, so the reports stay Slack-free.
 */
import type { ResultDocument } from '../../commands/result.js';
import type { RenderedChart } from './charts/index.js';

export interface ReportPoster {
  /** channels.reports, else channels.ops (else the console's channel). */
  channel: string;
  post(report: { document: ResultDocument; charts: readonly RenderedChart[] }): Promise<PostedReport>;
}

export interface PostedReport {
  channel: string;
  ts: string;
  /** How each chart went out: `text` when Slack refused the image and its text fallback was posted. */
  charts: Array<{ filename: string; as: 'image' | 'text' }>;
}

/** Posts the document with its charts (with a poster); the footer then says where it went. */
export async function postReport(document: ResultDocument, charts: readonly RenderedChart[], poster?: ReportPoster): Promise<{ document: ResultDocument; posted?: PostedReport }> {
  if (!poster) return { document };
  const posted = await poster.post({ document, charts });
  const refused = posted.charts.filter((chart) => chart.as === 'text');
  const where = `Posted in channel ${poster.channel} with ${charts.length} chart${charts.length === 1 ? '' : 's'}${refused.length ? ` (${refused.length} as text: Slack refused the upload)` : ''}.`;
  return { document: { ...document, footer: [document.footer, where].filter(Boolean).join('\n') }, posted };
}
