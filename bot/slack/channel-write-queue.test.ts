/**
 * The per-channel write queue against the Slack stand-in, through the real WebClient with the
 * bot's retry settings (a 429 is waited out for its Retry-After, then retried).
 */
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackStandIn, type SlackStandIn } from './stand-in/index.js';
import { channelWriteQueue } from './channel-write-queue.js';
import type { SlackMessage } from './render.js';

const BOT_TOKEN = 'xoxb-write-queue-test';
const OPS = 'C0ACGSOPS01';
let slack: SlackStandIn;
let client: WebClient;

beforeAll(async () => {
  slack = await startSlackStandIn({ botToken: BOT_TOKEN, appToken: 'xapp-write-queue-test', console: false });
  client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 4, factor: 2, minTimeout: 50, maxTimeout: 2000 } });
});
afterAll(async () => {
  await slack.close();
});

const text = (value: string): SlackMessage => ({ text: value, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: value } }] });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const textOf = (ts: string) => slack.messages(OPS).find((message) => message.ts === ts)?.text;
const updatesOf = (ts: string, since: number) => slack.calls('chat.update').filter((call) => call.args.ts === ts && call.ok && call.at >= since);

describe('posts to one channel', () => {
  it('land in the order asked for, the ones behind a rate-limited post waiting for it', async () => {
    const queue = channelWriteQueue(client);
    const limitedBefore = slack.rateLimitedCount('chat.postMessage');
    slack.rateLimitNext('chat.postMessage', 1, 1);
    const started = Date.now();
    const posted = await Promise.all([queue.post(OPS, text('first')), queue.post(OPS, text('second')), queue.post(OPS, text('third'))]);
    const texts = posted.map(textOf);
    expect(texts).toEqual(['first', 'second', 'third']);
    const landed = slack.calls('chat.postMessage').filter((call) => call.ok && call.at >= started);
    expect(landed.map((call) => call.args.text)).toEqual(['first', 'second', 'third']);
    // The first waited out Retry-After: 1 s; nobody overtook it meanwhile.
    expect(landed[0]!.at - started).toBeGreaterThanOrEqual(1000);
    expect(slack.rateLimitedCount('chat.postMessage') - limitedBefore).toBe(1);
  });

  it('a thread reply goes under its parent', async () => {
    const queue = channelWriteQueue(client);
    const parent = await queue.post(OPS, text('run started'));
    const reply = await queue.post(OPS, text('step 1 detail'), parent);
    expect(slack.thread(OPS, parent).map((message) => message.ts)).toContain(reply);
  });
});

describe('edits of one message', () => {
  it('are coalesced: a burst of edits asked for at once sends only the last, and every caller hears it landed', async () => {
    const queue = channelWriteQueue(client, { minEditIntervalMs: 400 });
    const ts = await queue.post(OPS, text('state 0'));
    const since = Date.now();
    const edits = Array.from({ length: 10 }, (_, index) => queue.update(OPS, ts, text(`state ${index + 1}`)));
    await Promise.all(edits);
    const sent = updatesOf(ts, since);
    expect(sent.map((call) => call.args.text)).toEqual(['state 10']);
    expect(textOf(ts)).toBe('state 10');
  });

  it('keep the pace: never two edits of one message closer than the interval, and the final state is the one shown', async () => {
    const queue = channelWriteQueue(client, { minEditIntervalMs: 300 });
    const ts = await queue.post(OPS, text('step 0'));
    const since = Date.now();
    const pending: Promise<void>[] = [];
    for (let step = 1; step <= 20; step += 1) {
      pending.push(queue.update(OPS, ts, text(`step ${step}`)));
      await sleep(50);
    }
    await Promise.all(pending);
    const sent = updatesOf(ts, since);
    for (let index = 1; index < sent.length; index += 1) expect(sent[index]!.at - sent[index - 1]!.at).toBeGreaterThanOrEqual(280);
    expect(sent.length).toBeLessThan(8);
    expect(sent.at(-1)!.args.text).toBe('step 20');
    expect(textOf(ts)).toBe('step 20');
  });

  it('an edit that is not due yet does not hold up a post to the channel', async () => {
    const queue = channelWriteQueue(client, { minEditIntervalMs: 1500 });
    const ts = await queue.post(OPS, text('run: step 1 running'));
    await queue.update(OPS, ts, text('run: step 1 done'));
    const deferred = queue.update(OPS, ts, text('run: step 2 running'));
    const reply = queue.post(OPS, text('step 1 output'), ts);
    const replyTs = await reply;
    const replyAt = slack.calls('chat.postMessage').find((call) => call.args.text === 'step 1 output')!.at;
    await deferred;
    const editAt = updatesOf(ts, 0).at(-1)!.at;
    expect(replyAt).toBeLessThan(editAt);
    expect(slack.thread(OPS, ts).map((message) => message.ts)).toContain(replyTs);
    expect(textOf(ts)).toBe('run: step 2 running');
  });

  it('an edit Slack refuses rejects its callers and the queue goes on with the next write', async () => {
    const queue = channelWriteQueue(client);
    const refused = queue.update(OPS, '1.000000', text('no such message'));
    const after = queue.post(OPS, text('still delivered'));
    await expect(refused).rejects.toMatchObject({ data: { error: 'message_not_found' } });
    expect(textOf(await after)).toBe('still delivered');
    await queue.drain();
  });

  it('drain waits for every write asked for, deferred edits included', async () => {
    const queue = channelWriteQueue(client, { minEditIntervalMs: 500 });
    const ts = await queue.post(OPS, text('a'));
    void queue.update(OPS, ts, text('b'));
    void queue.update(OPS, ts, text('c'));
    await queue.drain();
    expect(textOf(ts)).toBe('c');
  });
});

describe("the queue's own pace, inside Slack's limits", () => {
  const ALERTS = 'C0ACGSALERT';
  const postsSince = (since: number, channel: string) => slack.calls('chat.postMessage').filter((call) => call.ok && call.at >= since && call.args.channel === channel);

  it('posts a burst into one channel at once, then keeps to the channel rate, in order', async () => {
    // 10 a second, 3 at once: the shape of the default (60 a minute, 10 at once) in a tenth of the time.
    const queue = channelWriteQueue(client, { postsPerChannel: { perMinute: 600, burst: 3 } });
    const since = Date.now();
    const texts = Array.from({ length: 8 }, (_, index) => `paced ${index}`);
    await Promise.all(texts.map((value) => queue.post(ALERTS, text(value))));
    const landed = postsSince(since, ALERTS);
    expect(landed.map((call) => call.args.text)).toEqual(texts);
    // n posts never within less than (n - 3) tenths of a second.
    for (let index = 3; index < landed.length; index += 1) expect(landed[index]!.at - landed[0]!.at).toBeGreaterThanOrEqual((index + 1 - 3) * 100 - 20);
  });

  it('paces each channel on its own', async () => {
    const queue = channelWriteQueue(client, { postsPerChannel: { perMinute: 60, burst: 2 } });
    const started = performance.now();
    await Promise.all([queue.post(OPS, text('ops 1')), queue.post(OPS, text('ops 2')), queue.post(ALERTS, text('alerts 1')), queue.post(ALERTS, text('alerts 2'))]);
    // Two channels, two posts each: all inside both bursts, nobody waited a second.
    expect(performance.now() - started).toBeLessThan(900);
  });

  it('shares one edit budget between all messages and channels, and a post waiting for the channel lets a due edit go first', async () => {
    // Pacing is the queue's: timed where it sends, not where the stand-in receives (under load a
    // request can arrive late, shrinking the gap seen there).
    const sent: Array<{ method: string; text: string; at: number }> = [];
    const timed = Object.assign(Object.create(client) as WebClient, {
      chat: {
        ...client.chat,
        update: (args: Parameters<WebClient['chat']['update']>[0]) => (sent.push({ method: 'chat.update', text: String((args as { text?: string }).text), at: Date.now() }), client.chat.update(args)),
        postMessage: (args: Parameters<WebClient['chat']['postMessage']>[0]) => (sent.push({ method: 'chat.postMessage', text: String((args as { text?: string }).text), at: Date.now() }), client.chat.postMessage(args)),
      },
    });
    const queue = channelWriteQueue(timed, { minEditIntervalMs: 0, editsPerWorkspace: { perMinute: 600, burst: 2 }, postsPerChannel: { perMinute: 60, burst: 1 } });
    const ops = await queue.post(OPS, text('ops v0'));
    const alerts = await queue.post(ALERTS, text('alerts v0'));
    const since = Date.now();
    // OPS has used its one post: this post waits about a second, and the edit behind it goes first.
    const late = queue.post(OPS, text('ops second post'));
    const edits = [queue.update(OPS, ops, text('ops v1')), queue.update(ALERTS, alerts, text('alerts v1'))];
    await Promise.all(edits);
    await queue.update(OPS, ops, text('ops v2'));
    await queue.update(ALERTS, alerts, text('alerts v2'));
    await late;
    const updates = sent.filter((call) => call.method === 'chat.update' && call.at >= since);
    // The two channels' first edits race each other; the second ones were asked for one after the other.
    expect(updates.slice(0, 2).map((call) => call.text).sort()).toEqual(['alerts v1', 'ops v1']);
    expect(updates.slice(2).map((call) => call.text)).toEqual(['ops v2', 'alerts v2']);
    // Two at once, then one a tenth of a second across both channels.
    expect(updates[2]!.at - updates[0]!.at).toBeGreaterThanOrEqual(80);
    expect(updates[3]!.at - updates[0]!.at).toBeGreaterThanOrEqual(180);
    const lateAt = sent.find((call) => call.text === 'ops second post')!.at;
    expect(lateAt).toBeGreaterThanOrEqual(updates[0]!.at);
    expect(slack.calls('chat.update').filter((call) => call.at >= since)).toHaveLength(4);
    expect(textOf(ops)).toBe('ops v2');
  });

  it('refuses, by name, a pace that could never let a write through', () => {
    expect(() => channelWriteQueue(client, { postsPerChannel: { perMinute: 0, burst: 1 } })).toThrow(/postsPerChannel: perMinute must be a number above 0/);
    expect(() => channelWriteQueue(client, { editsPerWorkspace: { perMinute: 30, burst: 0 } })).toThrow(/editsPerWorkspace: burst must be a whole number of at least 1/);
  });
});
