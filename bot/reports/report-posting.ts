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
  post(report: { document: ResultDocument; charts: readonly RenderedChart[] }, hooks?: PostHooks): Promise<PostedReport>;
}

export interface PostHooks {
  /** Told the report's message as soon as Slack gave its ts, before its charts follow. */
  messagePosted?(ts: string): Promise<void>;
}

export interface PostedReport {
  channel: string;
  /** The channel's name without `#`, when Slack told it. */
  channelName?: string;
  ts: string;
  /** A link to the posted report, when Slack gave one. */
  permalink?: string;
  /**
   * How each chart went out: `text` when Slack refused the image and its text fallback was posted;
   * `missing` when not even that was (the report stays posted), with Slack's reason.
   */
  charts: Array<{ filename: string; as: 'image' | 'text' } | { filename: string; as: 'missing'; reason: string }>;
  /** Not posted now: an earlier attempt of the same scheduled run posted it then (scheduled-report-posts.ts). */
  postedBefore?: Date;
}

/** Posts the report when there is a poster; the document's footer says where it went. */
export async function postReport(made: { document: ResultDocument; charts: readonly RenderedChart[] }, poster?: ReportPoster): Promise<{ document: ResultDocument; posted?: PostedReport }> {
  const { document, charts } = made;
  if (!poster) return { document };
  const posted = await poster.post({ document, charts });
  const line = posted.postedBefore
    ? `Posted to ${placeOf(posted)} at ${posted.postedBefore.toISOString()} by an earlier attempt of this scheduled run; not posted again.`
    : `Posted to ${placeOf(posted)} ${chartsSentence(posted)}`;
  return { document: { ...document, footer: [document.footer, line].filter(Boolean).join('\n') }, posted };
}

/** `#acgs-reports` when Slack told the name, else the channel's ID. */
const placeOf = (posted: PostedReport) => (posted.channelName ? `#${posted.channelName}` : `channel ${posted.channel}`);

/** "with 4 charts (1 as text: Slack refused the upload; 1 not shown: not_in_channel)." */
function chartsSentence(posted: PostedReport): string {
  const { charts } = posted;
  const asText = charts.filter((chart) => chart.as === 'text').length;
  const notShown = charts.flatMap((chart) => (chart.as === 'missing' ? [chart.reason] : []));
  const notes = [...(asText ? [`${asText} as text: Slack refused the upload`] : []), ...(notShown.length ? [`${notShown.length} not shown: ${[...new Set(notShown)].join(', ')}`] : [])];
  return `with ${charts.length} chart${charts.length === 1 ? '' : 's'}${notes.length ? ` (${notes.join('; ')})` : ''}.`;
}

/**
 * The answer where a report was asked once it is posted: the report itself would show it a second
 * time (in the reports channel, twice in a row). Asked in the reports channel, only the asker sees
 * that it is there; asked elsewhere, the channel sees where it went and its verdict.
 */
export function reportPostedNote(what: string, report: ResultDocument, posted: PostedReport, askedIn: string): ResultDocument {
  const link = posted.permalink ? [{ type: 'text' as const, text: posted.permalink }] : [];
  // The title says where it went: the footer says it once more only as what went with it.
  const footer = report.footer?.replace(`Posted to ${placeOf(posted)} `, 'Posted ');
  const note = { tone: report.tone, ...(report.summary ? { summary: report.summary } : {}), blocks: link, ...(footer ? { footer } : {}), data: report.data };
  if (askedIn === posted.channel) return { title: `${what} posted in this channel`, ...note, ephemeral: true };
  return { title: `${what} posted to ${placeOf(posted)}`, ...note };
}
