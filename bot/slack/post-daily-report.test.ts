/**
 * The reports' Slack poster against the Slack stand-in through the real WebClient: a refused
 * chart's text fallback keeps the channel's pace in the write queue, and a chart that can follow
 * its posted report neither as an image nor as text costs only itself, never the report.
 */
import { WebClient } from '@slack/web-api';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { postReport } from '../reports/report-posting.js';
import { cacheHitRateChart, renderChart, type RenderedChart } from '../reports/charts/index.js';
import { minutesOfDay } from '../reports/charts/testing/chart-data.js';
import { channelWriteQueue, type ChannelWriteQueue } from './channel-write-queue.js';
import { postDailyReport } from './post-daily-report.js';
import { startSlackStandIn, type SlackStandIn } from './stand-in/index.js';

const BOT_TOKEN = 'xoxb-post-report-test';
const REPORTS = 'C0ACGSREPORTS';
const ONE_A_SECOND = { perMinute: 60, burst: 1 };
/** The queue keeps a slower pace than Slack's, as the bot's default does: it counts when it sends, Slack when the post arrives. */
const ONE_IN_TWO_SECONDS = { perMinute: 30, burst: 1 };
const document = { title: 'Daily health report', tone: 'ok' as const, blocks: [{ type: 'text' as const, text: 'All services healthy.' }] };

let chart: RenderedChart;
let slack: SlackStandIn | undefined;

beforeAll(async () => {
  chart = await renderChart(cacheHitRateChart(minutesOfDay((minute) => (minute < 30 ? 90 : 97))));
});
afterEach(async () => {
  await slack?.close();
  slack = undefined;
});

/** A stand-in with the reports channel, and a client that does not retry: a 429 or a refusal reaches the poster at once. */
async function standIn(options: { postsPerChannel?: typeof ONE_A_SECOND } = {}): Promise<{ slack: SlackStandIn; client: WebClient }> {
  slack = await startSlackStandIn({
    botToken: BOT_TOKEN,
    console: false,
    workspace: { channels: [{ id: REPORTS, name: 'acgs-reports' }] },
    ...(options.postsPerChannel ? { rateLimits: { postMessagePerChannel: options.postsPerChannel } } : {}),
  });
  return { slack, client: new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true }) };
}

describe('postDailyReport', () => {
  it("waits its turn in the channel's write queue with a refused chart's text fallback instead of running into Slack's limit", async () => {
    // Slack allows one post a second into the channel: straight after the report's message, a
    // post that skipped the queue would be answered 429.
    const { slack, client } = await standIn({ postsPerChannel: ONE_A_SECOND });
    const queue = channelWriteQueue(client, { postsPerChannel: ONE_IN_TWO_SECONDS });
    slack.rateLimitNext('files.completeUploadExternal', 1, 5);
    const posted = await postDailyReport({ client, queue }, { channel: REPORTS }, { document, charts: [chart] });
    expect(posted.charts).toMatchObject([{ filename: 'cache-hit-rate.png', as: 'text' }]);
    expect(slack.calls('chat.postMessage').map((call) => call.ok)).toEqual([true, true]);
    const fallback = slack.thread(REPORTS, posted.ts).find((message) => message.text?.includes('chart image not shown: rate_limited'));
    expect(fallback?.text).toContain('hit rate: min 90, max 97');
  }, 30_000);

  it('keeps the posted report when a chart can follow it neither as an image nor as text, and says which charts were not shown', async () => {
    const { slack, client } = await standIn();
    const queue = channelWriteQueue(client);
    // The bot is taken out of the channel right after the report's message: Slack then refuses
    // both the upload and the text fallback with not_in_channel.
    const removedAfterFirstPost: ChannelWriteQueue = {
      ...queue,
      post: async (channel, message, threadTs) => {
        const ts = await queue.post(channel, message, threadTs);
        slack.workspace.findChannel(REPORTS)!.botIsMember = false;
        return ts;
      },
    };
    const { document: answered, posted } = await postReport(
      { document, charts: [chart, { ...chart, filename: 'latency.png' }] },
      { channel: REPORTS, post: (report) => postDailyReport({ client, queue: removedAfterFirstPost }, { channel: REPORTS }, report) },
    );
    expect(posted!.charts).toEqual([
      { filename: 'cache-hit-rate.png', as: 'missing', reason: 'not_in_channel' },
      { filename: 'latency.png', as: 'missing', reason: 'not_in_channel' },
    ]);
    expect(slack.messages(REPORTS).map((message) => message.ts)).toEqual([posted!.ts]);
    expect(answered.footer).toBe('Posted to #acgs-reports with 2 charts (2 not shown: not_in_channel).');
  }, 30_000);
});
