/**
 * What the stand-in keeps in memory. The console's stand-in lives as long as `npm start` does, so
 * its channels, its record of Web API calls and its response_urls are capped; the oldest go first.
 */
import { WebClient } from '@slack/web-api';
import { describe, expect, it } from 'vitest';
import { MAX_MESSAGES_PER_CHANNEL, MAX_RESPONSE_URLS, RESPONSE_URL_LIFETIME_MS, startSlackStandIn } from './index.js';
import { Workspace } from './workspace.js';

const BOT_TOKEN = 'xoxb-bounds-test';

describe('what the stand-in keeps', () => {
  it(`keeps the newest ${MAX_MESSAGES_PER_CHANNEL} messages of a channel by default, dropping the oldest`, () => {
    const workspace = new Workspace();
    for (let index = 0; index < MAX_MESSAGES_PER_CHANNEL + 5; index += 1) workspace.post({ channel: 'C0ACGSOPS01', user: 'U0ONCALL', text: `message ${index}` });
    workspace.post({ channel: 'C0ACGSALERT', user: 'U0ONCALL', text: 'elsewhere' });
    const kept = workspace.allMessages('C0ACGSOPS01');
    expect(kept).toHaveLength(MAX_MESSAGES_PER_CHANNEL);
    expect(kept[0]!.text).toBe('message 5');
    expect(kept.at(-1)!.text).toBe(`message ${MAX_MESSAGES_PER_CHANNEL + 4}`);
    expect(workspace.find('C0ACGSOPS01', kept[0]!.ts)).toBeDefined();
    expect(workspace.allMessages('C0ACGSALERT').map((message) => message.text)).toEqual(['elsewhere']);
  });

  it('caps each channel on its own for the bot’s posts, thread replies included', async () => {
    const slack = await startSlackStandIn({ botToken: BOT_TOKEN, console: false, maxMessagesPerChannel: 3 });
    try {
      const client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
      const first = await client.chat.postMessage({ channel: 'C0ACGSOPS01', text: 'post 1' });
      for (const text of ['post 2', 'post 3']) await client.chat.postMessage({ channel: 'C0ACGSOPS01', text });
      await client.chat.postMessage({ channel: 'C0ACGSOPS01', text: 'reply 1', thread_ts: first.ts! });
      await client.chat.postMessage({ channel: 'C0ACGSALERT', text: 'alert 1' });
      expect(slack.workspace.allMessages('C0ACGSOPS01').map((message) => message.text)).toEqual(['post 2', 'post 3', 'reply 1']);
      expect(slack.messages('C0ACGSALERT').map((message) => message.text)).toEqual(['alert 1']);
      // A dropped message is gone as it would be from Slack's history: updating it says so.
      await expect(client.chat.update({ channel: 'C0ACGSOPS01', ts: first.ts!, text: 'edited' })).rejects.toThrow(/message_not_found/);
    } finally {
      await slack.close();
    }
  });

  it('keeps the newest recorded Web API calls, dropping the oldest', async () => {
    const slack = await startSlackStandIn({ botToken: BOT_TOKEN, console: false, maxRecordedCalls: 3 });
    try {
      const client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
      for (let index = 0; index < 4; index += 1) await client.auth.test();
      await client.users.info({ user: 'U0ONCALL' });
      expect(slack.calls().map((call) => call.method)).toEqual(['auth.test', 'auth.test', 'users.info']);
      expect(slack.calls('auth.test')).toHaveLength(2);
    } finally {
      await slack.close();
    }
  });

  it('answers expired_url for a lifetime after a response_url expired, then forgets it', async () => {
    const slack = await startSlackStandIn({ botToken: BOT_TOKEN, console: false });
    try {
      const post = async (url: string) => (await (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'late' }) })).json()) as { error?: string };
      const start = Date.now();
      slack.responseUrls.now = () => start;
      const old = slack.responseUrls.create(slack.url, { channel: 'C0ACGSOPS01', userId: 'U0ONCALL' });
      slack.responseUrls.now = () => start + RESPONSE_URL_LIFETIME_MS + 1000;
      slack.responseUrls.create(slack.url, { channel: 'C0ACGSOPS01', userId: 'U0ONCALL' });
      expect(await post(old)).toMatchObject({ error: 'expired_url' });
      slack.responseUrls.now = () => start + 2 * RESPONSE_URL_LIFETIME_MS + 1000;
      slack.responseUrls.create(slack.url, { channel: 'C0ACGSOPS01', userId: 'U0ONCALL' });
      expect(await post(old)).toMatchObject({ error: 'invalid_url' });
      expect(slack.responseUrls.size).toBe(2);
    } finally {
      await slack.close();
    }
  });

  it(`remembers at most ${MAX_RESPONSE_URLS} response_urls, forgetting the oldest first`, async () => {
    const slack = await startSlackStandIn({ botToken: BOT_TOKEN, console: false });
    try {
      const urls: string[] = [];
      for (let index = 0; index < MAX_RESPONSE_URLS + 2; index += 1) urls.push(slack.responseUrls.create(slack.url, { channel: 'C0ACGSOPS01', userId: 'U0ONCALL' }));
      expect(slack.responseUrls.size).toBe(MAX_RESPONSE_URLS);
      const post = async (url: string) => (await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: url.slice(-6) }) })).json();
      expect(await post(urls[0]!)).toEqual({ ok: false, error: 'invalid_url' });
      expect(await post(urls[1]!)).toEqual({ ok: false, error: 'invalid_url' });
      expect(await post(urls[2]!)).toEqual({ ok: true });
      expect(await post(urls.at(-1)!)).toEqual({ ok: true });
    } finally {
      await slack.close();
    }
  });
});
