/**
 * What every report does once made: its charts rendered one at a time, and with a poster the
 * document posted with them, its footer saying where it went and which charts went as text.
 */
import type { ResultDocument } from '../../commands/result.js';
import type { MetricSeries } from '../metrics-history/index.js';
import { renderChart, type ChartDefinition, type RenderedChart } from './charts/index.js';

/** Where a report goes: bot/main.ts gives bot/slack/post-daily-report.ts's postDailyReport, so the reports stay Slack-free. */
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

export async function renderCharts(charts: readonly ChartDefinition[]): Promise<RenderedChart[]> {
  const rendered: RenderedChart[] = [];
  // One at a time: each render holds a rasterised image, and the machine is shared.
  for (const chart of charts) rendered.push(await renderChart(chart));
  return rendered;
}

/** The series with at least one sample: an empty chart says less than the report's "no samples". */
export const measured = (series: readonly MetricSeries[] | undefined) => (series ?? []).filter((one) => one.points.length > 0);

/** Posts the document with its charts when there is a poster; the returned document's footer says where it went. */
export async function postReport(document: ResultDocument, charts: readonly RenderedChart[], poster?: ReportPoster): Promise<{ document: ResultDocument; posted?: PostedReport }> {
  if (!poster) return { document };
  const posted = await poster.post({ document, charts });
  const refused = posted.charts.filter((chart) => chart.as === 'text');
  const where = `Posted in channel ${poster.channel} with ${charts.length} chart${charts.length === 1 ? '' : 's'}${refused.length ? ` (${refused.length} as text: Slack refused the upload)` : ''}.`;
  return { document: { ...document, footer: [document.footer, where].filter(Boolean).join('\n') }, posted };
}
