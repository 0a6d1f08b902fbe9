/**
 * The bot's uploader against the Slack stand-in through the real WebClient: a rendered chart
 * shared as an image, each refusal turned into one clear error, and the text fallback posted
 * when Slack will not take the picture.
 */
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheHitRateChart, renderChart, type RenderedChart } from '../reports/charts/index.js';
import { minutesOfDay } from '../reports/charts/testing/chart-data.js';
import { channelWriteQueue } from './channel-write-queue.js';
import { FileUploadRefused, shareChart, uploadFile } from './file-upload.js';
import { startSlackStandIn, type SlackStandIn } from './stand-in/index.js';

const BOT_TOKEN = 'xoxb-file-upload-test';
const OPS = 'C0ACGSOPS01';
const OUTSIDE = 'C0NOTMEMBER';
let slack: SlackStandIn;
let client: WebClient;
let chart: RenderedChart;

beforeAll(async () => {
  slack = await startSlackStandIn({
    botToken: BOT_TOKEN,
    console: false,
    workspace: { channels: [{ id: OPS, name: 'acgs-ops' }, { id: OUTSIDE, name: 'elsewhere', botIsMember: false }] },
  });
  // No retries: a refusal should reach the caller at once, not after the client's back-off.
  client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
  chart = await renderChart(cacheHitRateChart(minutesOfDay((minute) => (minute < 30 ? 90 : 97))));
});
afterAll(async () => {
  await slack.close();
});

async function refusal(call: Promise<unknown>): Promise<FileUploadRefused> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(FileUploadRefused);
  return error as FileUploadRefused;
}

describe('uploadFile', () => {
  it('shares a rendered chart in the channel, byte for byte', async () => {
    const { fileId } = await uploadFile(client, { channelId: OPS, filename: chart.filename, title: chart.title, bytes: chart.png, initialComment: 'Daily report' });
    const message = slack.messages(OPS).at(-1)!;
    expect(message.text).toBe('Daily report');
    expect(message.files).toEqual([{ id: fileId, name: 'cache-hit-rate.png', title: 'Cache hit rate', mimetype: 'image/png', size: chart.png.length }]);
    expect(slack.file(fileId)?.bytes?.equals(chart.png)).toBe(true);
    expect(slack.calls().slice(-2).map((call) => call.method)).toEqual(['files.getUploadURLExternal', 'files.completeUploadExternal']);
  });

  it('shares into a thread', async () => {
    const parent = await client.chat.postMessage({ channel: OPS, text: 'report' });
    const { fileId } = await uploadFile(client, { channelId: OPS, threadTs: parent.ts!, filename: chart.filename, title: chart.title, bytes: chart.png });
    expect(slack.thread(OPS, parent.ts!).at(-1)?.files?.[0]?.id).toBe(fileId);
  });

  it('turns an unknown channel into a refusal naming Slack error, posting nothing', async () => {
    const before = slack.messages(OPS).length;
    const error = await refusal(uploadFile(client, { channelId: 'C0NOWHERE', filename: chart.filename, title: chart.title, bytes: chart.png }));
    expect(error.reason).toBe('channel_not_found');
    expect(error.message).toBe('Slack refused the upload of cache-hit-rate.png: channel_not_found');
    expect(slack.messages(OPS)).toHaveLength(before);
  });

  it('turns a channel without the bot into not_in_channel', async () => {
    expect((await refusal(uploadFile(client, { channelId: OUTSIDE, filename: 'a.png', title: 'a', bytes: chart.png }))).reason).toBe('not_in_channel');
  });

  it('turns a bad token into invalid_auth', async () => {
    const stranger = new WebClient('xoxb-not-the-bot', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    expect((await refusal(uploadFile(stranger, { channelId: OPS, filename: 'a.png', title: 'a', bytes: chart.png }))).reason).toBe('invalid_auth');
  });

  it('turns a rate limit into a refusal that says when to try again', async () => {
    slack.rateLimitNext('files.getUploadURLExternal', 1, 30);
    expect((await refusal(uploadFile(client, { channelId: OPS, filename: 'a.png', title: 'a', bytes: chart.png }))).reason).toBe('rate_limited (retry after 30 s)');
  });

  it('refuses an empty file, as Slack refuses a length of 0', async () => {
    expect((await refusal(uploadFile(client, { channelId: OPS, filename: 'empty.png', title: 'empty', bytes: Buffer.alloc(0) }))).reason).toBe('missing_argument');
  });
});

describe('shareChart', () => {
  it('shares the chart as an image when Slack takes it', async () => {
    const shared = await shareChart({ client, queue: channelWriteQueue(client) }, chart, { channelId: OPS });
    expect(shared.as).toBe('image');
    expect(slack.messages(OPS).at(-1)?.files?.[0]?.name).toBe('cache-hit-rate.png');
  });

  it('posts the text fallback, saying why, when Slack refuses the upload', async () => {
    slack.rateLimitNext('files.completeUploadExternal', 1, 5);
    const shared = await shareChart({ client, queue: channelWriteQueue(client) }, chart, { channelId: OPS });
    expect(shared).toMatchObject({ as: 'text', refusal: { reason: 'rate_limited (retry after 5 s)' } });
    const message = slack.messages(OPS).at(-1)!;
    expect(message.files).toBeUndefined();
    expect(message.text).toContain('hit rate: min 90, max 97, last 97; below target 95 % in 1 spell (30 of 1440 samples, first at 00:00 UTC)');
    expect(message.text).toContain('_(chart image not shown: rate_limited (retry after 5 s))_');
  });
});
