/**
 * Posts the daily report to a channel (channels.reports, else ops): the document as one message,
 * then each chart in its thread with shareChart, whose text fallback stands in for a chart Slack
 * refuses. The Slack side of bot/reports/ (makeDailyReport's poster): the reports stay Slack-free.
 * Once the message is posted it stays the report: a chart that cannot follow it (not even as text)
 * is named in the answer as not shown, and the others still go.
 */
import type { WebClient } from '@slack/web-api';
import type { ResultDocument } from '../../commands/result.js';
import type { ChannelWriteQueue } from './channel-write-queue.js';
import { shareChart, slackErrorReason, type ChartShared, type ChartToShare } from './file-upload.js';
import { renderDocument } from './render.js';

export interface PostedReport {
  channel: string;
  channelName?: string;
  ts: string;
  permalink?: string;
  charts: Array<{ filename: string } & (ChartShared | ChartNotShown)>;
}

/** A chart neither uploaded nor posted as text after its report was: why, in Slack's words. */
export interface ChartNotShown {
  as: 'missing';
  reason: string;
}

/** The report's message goes through the bot's one write queue (Slack's pace); its charts are uploads, threaded under it. */
export async function postDailyReport(
  slack: { client: WebClient; queue: ChannelWriteQueue },
  where: { channel: string },
  report: { document: ResultDocument; charts: readonly ChartToShare[] },
  hooks: { messagePosted?(ts: string): Promise<void> } = {},
): Promise<PostedReport> {
  const { client, queue } = slack;
  const message = renderDocument(report.document);
  const posted = { ts: await queue.post(where.channel, { text: message.text, blocks: message.blocks }) };
  // Before the charts: a poster that dies while they upload has its message on record.
  await hooks.messagePosted?.(posted.ts);
  const charts: PostedReport['charts'] = [];
  for (const chart of report.charts) charts.push({ filename: chart.filename, ...(await chartInThread(slack, chart, { channelId: where.channel, threadTs: posted.ts })) });
  const [channelName, permalink] = await Promise.all([nameOf(client, where.channel), permalinkOf(client, where.channel, posted.ts)]);
  return { channel: where.channel, ...(channelName ? { channelName } : {}), ts: posted.ts, ...(permalink ? { permalink } : {}), charts };
}

/** The report is posted already: a chart Slack will take neither as an image nor as text costs only itself. */
async function chartInThread(slack: { client: WebClient; queue: ChannelWriteQueue }, chart: ChartToShare, where: { channelId: string; threadTs: string }): Promise<ChartShared | ChartNotShown> {
  try {
    return await shareChart(slack, chart, where);
  } catch (error) {
    return { as: 'missing', reason: slackErrorReason(error) };
  }
}

/** For the answer that points at the report ("posted to #acgs-reports"); without it the ID is named. */
async function nameOf(client: WebClient, channel: string): Promise<string | undefined> {
  try {
    return (await client.conversations.info({ channel })).channel?.name;
  } catch {
    return undefined;
  }
}

/** The report is posted: a link that Slack will not give costs the answer its link, nothing more. */
async function permalinkOf(client: WebClient, channel: string, ts: string): Promise<string | undefined> {
  try {
    return (await client.chat.getPermalink({ channel, message_ts: ts })).permalink;
  } catch {
    return undefined;
  }
}
