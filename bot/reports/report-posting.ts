/**
 * Posting a made report, the same for every report: the poster (bot/main.ts gives
 * bot/slack/post-daily-report.ts's postDailyReport, so the reports stay Slack-free) posts the
 * document with its charts, and the document's footer then says where it went and which charts
 * Slack refused as images.
 */
import type { ResultDocument } from '../../commands/result.js';
import type { RenderedChart } from './charts/index.js';

/** Where a report goes. */
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

/** Posts the report when there is a poster; the document's footer says where it went. */
export async function postReport(made: { document: ResultDocument; charts: readonly RenderedChart[] }, poster?: ReportPoster): Promise<{ document: ResultDocument; posted?: PostedReport }> {
  const { document, charts } = made;
  if (!poster) return { document };
  const posted = await poster.post({ document, charts });
  const refused = posted.charts.filter((chart) => chart.as === 'text');
  const where = `Posted in channel ${poster.channel} with ${charts.length} chart${charts.length === 1 ? '' : 's'}${refused.length ? ` (${refused.length} as text: Slack refused the upload)` : ''}.`;
  return { document: { ...document, footer: [document.footer, where].filter(Boolean).join('\n') }, posted };
}
