/**
 * The stand-in's Web API as the bot meets it: through the real @slack/web-api WebClient (form
 * bodies, Bearer tokens, its retry logic), plus raw JSON and form requests for the shapes the
 * client never sends.
 */
import { ErrorCode, WebClient, WebClientEvent } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackStandIn, type SlackStandIn } from './index.js';
import { platformError } from '../../../test/testing/slack-platform-error.js';

const BOT_TOKEN = 'xoxb-web-api-test';
const APP_TOKEN = 'xapp-web-api-test';
const OPS = 'C0ACGSOPS01';
let slack: SlackStandIn;
let client: WebClient;

beforeAll(async () => {
  slack = await startSlackStandIn({ botToken: BOT_TOKEN, appToken: APP_TOKEN, console: false });
  client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
});
afterAll(async () => {
  await slack.close();
});

async function rawCall(method: string, init: { body: string; contentType: string; authorization?: string }): Promise<Record<string, unknown>> {
  const response = await fetch(`${slack.apiUrl}${method}`, {
    method: 'POST',
    headers: { 'content-type': init.contentType, ...(init.authorization ? { authorization: init.authorization } : {}) },
    body: init.body,
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

describe('tokens and methods', () => {
  it('answers auth.test for the bot token with the bot user, bot and team IDs', async () => {
    const answer = await client.auth.test();
    expect(answer).toMatchObject({ ok: true, user_id: 'U0ACGSBOT', bot_id: 'B0ACGSBOT', team_id: 'T0ACGS' });
  });

  it('refuses an unknown method with unknown_method', async () => {
    expect(await platformError(client.apiCall('chat.postMessagee', { channel: OPS, text: 'x' }))).toMatchObject({ error: 'unknown_method' });
  });

  it('refuses a call without a token with not_authed', async () => {
    const answer = await rawCall('chat.postMessage', { body: new URLSearchParams({ channel: OPS, text: 'x' }).toString(), contentType: 'application/x-www-form-urlencoded' });
    expect(answer).toEqual({ ok: false, error: 'not_authed' });
  });

  it('refuses a token it did not issue with invalid_auth', async () => {
    const stranger = new WebClient('xoxb-not-ours', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    expect(await platformError(stranger.chat.postMessage({ channel: OPS, text: 'x' }))).toMatchObject({ error: 'invalid_auth' });
  });

  it('refuses the app token for chat methods and the bot token for apps.connections.open', async () => {
    const appClient = new WebClient(APP_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    expect(await platformError(appClient.chat.postMessage({ channel: OPS, text: 'x' }))).toMatchObject({ error: 'not_allowed_token_type' });
    expect(await platformError(client.apps.connections.open())).toMatchObject({ error: 'not_allowed_token_type' });
    const opened = await appClient.apps.connections.open();
    expect(opened.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/socket\?ticket=[0-9a-f]+&app_id=A0ACGSAPP$/);
  });

  it('accepts a JSON body with a Bearer token and a form body with the token field', async () => {
    const json = await rawCall('chat.postMessage', { body: JSON.stringify({ channel: OPS, text: 'as json' }), contentType: 'application/json; charset=utf-8', authorization: `Bearer ${BOT_TOKEN}` });
    expect(json).toMatchObject({ ok: true, channel: OPS });
    const form = await rawCall('chat.postMessage', { body: new URLSearchParams({ token: BOT_TOKEN, channel: OPS, text: 'as form' }).toString(), contentType: 'application/x-www-form-urlencoded' });
    expect(form).toMatchObject({ ok: true, channel: OPS });
  });

  it('refuses a JSON body that does not parse with invalid_json', async () => {
    const answer = await rawCall('chat.postMessage', { body: '{"channel":', contentType: 'application/json', authorization: `Bearer ${BOT_TOKEN}` });
    expect(answer).toEqual({ ok: false, error: 'invalid_json' });
  });

  it('logs every call with its outcome and never the token', async () => {
    await client.users.info({ user: 'U0NOBODY' }).catch(() => undefined);
    const last = slack.calls('users.info').at(-1)!;
    expect(last).toMatchObject({ method: 'users.info', ok: false, error: 'user_not_found', status: 200, args: { user: 'U0NOBODY' } });
    expect(JSON.stringify(slack.calls())).not.toContain(BOT_TOKEN);
  });
});

describe('messages', () => {
  it('posts to a channel by ID or by name and gives each message a unique, increasing Slack ts', async () => {
    const first = await client.chat.postMessage({ channel: OPS, text: 'one' });
    const second = await client.chat.postMessage({ channel: '#acgs-ops', text: 'two' });
    expect(first.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(second.channel).toBe(OPS);
    expect(Number(second.ts)).toBeGreaterThan(Number(first.ts));
    expect(slack.messages(OPS).map((message) => message.text)).toEqual(expect.arrayContaining(['one', 'two']));
  });

  it('refuses an unknown channel with channel_not_found and stores nothing', async () => {
    const before = slack.messages(OPS).length;
    expect(await platformError(client.chat.postMessage({ channel: 'C0NOWHERE', text: 'x' }))).toMatchObject({ error: 'channel_not_found' });
    expect(slack.messages(OPS)).toHaveLength(before);
  });

  it('refuses to post where the bot is not a member with not_in_channel', async () => {
    const private_ = await startSlackStandIn({ botToken: BOT_TOKEN, console: false, workspace: { channels: [{ id: 'C0SECRET01', name: 'secret', botIsMember: false }] } });
    try {
      const outsider = new WebClient(BOT_TOKEN, { slackApiUrl: private_.apiUrl, retryConfig: { retries: 0 } });
      expect(await platformError(outsider.chat.postMessage({ channel: 'C0SECRET01', text: 'x' }))).toMatchObject({ error: 'not_in_channel' });
      expect(private_.messages('C0SECRET01')).toEqual([]);
    } finally {
      await private_.close();
    }
  });

  it('refuses a message without text or blocks with no_text, and text over 40,000 characters with msg_too_long', async () => {
    expect(await platformError(client.chat.postMessage({ channel: OPS, text: '' }))).toMatchObject({ error: 'no_text' });
    expect(await platformError(client.chat.postMessage({ channel: OPS, text: 'x'.repeat(40_001) }))).toMatchObject({ error: 'msg_too_long' });
  });

  it('refuses invalid blocks with invalid_blocks and messages naming the block and the limit', async () => {
    const data = await platformError(client.chat.postMessage({ channel: OPS, text: 'x', blocks: [{ type: 'section', block_id: 'summary', text: { type: 'mrkdwn', text: 'y'.repeat(3001) } }] }));
    expect(data).toMatchObject({ error: 'invalid_blocks' });
    expect((data as unknown as { errors: string[] }).errors).toEqual(['blocks[0] (section "summary"): section text must be at most 3000 characters, got 3001 [json-pointer:/blocks/0/text/text]']);
  });

  it('keeps thread replies under their parent and counts them', async () => {
    const parent = await client.chat.postMessage({ channel: OPS, text: 'deploy started' });
    await client.chat.postMessage({ channel: OPS, text: 'step 1 done', thread_ts: parent.ts! });
    await client.chat.postMessage({ channel: OPS, text: 'step 2 done', thread_ts: parent.ts! });
    expect(slack.thread(OPS, parent.ts!).map((message) => message.text)).toEqual(['deploy started', 'step 1 done', 'step 2 done']);
    expect(slack.messages(OPS).map((message) => message.text)).not.toContain('step 1 done');
    expect(slack.workspace.replyCount(OPS, parent.ts!)).toBe(2);
  });

  it('shows an ephemeral message only to its recipient', async () => {
    const answer = await client.chat.postEphemeral({ channel: OPS, user: 'U0ONCALL', text: 'only for on-call' });
    expect(answer.message_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(slack.messages(OPS, { includeEphemeralFor: 'U0ONCALL' }).map((message) => message.text)).toContain('only for on-call');
    expect(slack.messages(OPS, { includeEphemeralFor: 'U0APPROVER1' }).map((message) => message.text)).not.toContain('only for on-call');
    expect(slack.messages(OPS).map((message) => message.text)).not.toContain('only for on-call');
    expect(await platformError(client.chat.postEphemeral({ channel: OPS, user: 'U0NOBODY', text: 'x' }))).toMatchObject({ error: 'user_not_found' });
  });

  it('updates a message and marks it edited; a missing ts is message_not_found', async () => {
    const posted = await client.chat.postMessage({ channel: OPS, text: 'restarting…' });
    const updated = await client.chat.update({ channel: OPS, ts: posted.ts!, text: 'restarted' });
    expect(updated).toMatchObject({ ok: true, ts: posted.ts, text: 'restarted' });
    const stored = slack.thread(OPS, posted.ts!)[0]!;
    expect(stored.text).toBe('restarted');
    expect(stored.edited?.user).toBe('U0ACGSBOT');
    expect(await platformError(client.chat.update({ channel: OPS, ts: '1600000000.000001', text: 'x' }))).toMatchObject({ error: 'message_not_found' });
  });

  it('refuses to update or delete a message a person wrote', async () => {
    const { message } = await slack.postUserMessage({ userId: 'U0ONCALL', channelId: OPS, text: 'hello' });
    expect(await platformError(client.chat.update({ channel: OPS, ts: message.ts, text: 'x' }))).toMatchObject({ error: 'cant_update_message' });
    expect(await platformError(client.chat.delete({ channel: OPS, ts: message.ts }))).toMatchObject({ error: 'cant_delete_message' });
  });

  it('deletes a message; deleting it again is message_not_found', async () => {
    const posted = await client.chat.postMessage({ channel: OPS, text: 'to be deleted' });
    await client.chat.delete({ channel: OPS, ts: posted.ts! });
    expect(slack.messages(OPS).map((message) => message.ts)).not.toContain(posted.ts);
    expect(await platformError(client.chat.delete({ channel: OPS, ts: posted.ts! }))).toMatchObject({ error: 'message_not_found' });
  });

  it('gives a permalink that opens the message in the console; an unknown message is message_not_found', async () => {
    const posted = await client.chat.postMessage({ channel: OPS, text: 'to be linked' });
    const link = new URL((await client.chat.getPermalink({ channel: OPS, message_ts: posted.ts! })).permalink!);
    expect([link.origin, link.pathname, link.searchParams.get('channel'), link.searchParams.get('message')]).toEqual([slack.url, '/', OPS, posted.ts]);
    expect(await platformError(client.chat.getPermalink({ channel: OPS, message_ts: '1.000001' }))).toMatchObject({ error: 'message_not_found' });
  });

  it('uploads a file through files.uploadV2 and announces it in the channel', async () => {
    await client.files.uploadV2({ channel_id: OPS, filename: 'health.txt', content: 'all good', initial_comment: 'health report' });
    expect(slack.calls().map((call) => call.method)).toEqual(expect.arrayContaining(['files.getUploadURLExternal', 'files.completeUploadExternal']));
    const message = slack.messages(OPS).at(-1);
    expect(message?.text).toBe('health report');
    expect(message?.files).toEqual([expect.objectContaining({ name: 'health.txt', title: 'health.txt', mimetype: 'text/plain', size: 8 })]);
    expect(slack.file(message!.files![0]!.id)?.bytes?.toString()).toBe('all good');
  });
});

describe('people, channels and App Home', () => {
  it('describes the default people with their role labels, and refuses unknown ones', async () => {
    const answer = await client.users.info({ user: 'U0APPROVER1' });
    expect(answer.user).toMatchObject({ id: 'U0APPROVER1', name: 'approver1', is_bot: false, profile: { title: 'approver 1' } });
    expect(await platformError(client.users.info({ user: 'U0NOBODY' }))).toMatchObject({ error: 'user_not_found' });
  });

  it('describes the four default channels and refuses unknown ones', async () => {
    for (const [id, name] of [
      ['C0ACGSOPS01', 'acgs-ops'],
      ['C0ACGSALERT', 'acgs-alerts'],
      ['C0ACGSDEPLY', 'acgs-deploys'],
      ['C0ACGSAPPRV', 'acgs-approvals'],
    ] as const) {
      const answer = await client.conversations.info({ channel: id });
      expect(answer.channel).toMatchObject({ id, name, is_member: true });
    }
    expect(await platformError(client.conversations.info({ channel: 'C0NOWHERE' }))).toMatchObject({ error: 'channel_not_found' });
  });

  it('publishes a home view per person and refuses more than 100 blocks with invalid_arguments', async () => {
    await client.views.publish({ user_id: 'U0ONCALL', view: { type: 'home', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'status' } }] } });
    expect(slack.home('U0ONCALL')?.view.blocks).toHaveLength(1);
    expect(slack.home('U0APPROVER1')).toBeUndefined();
    const data = await platformError(client.views.publish({ user_id: 'U0ONCALL', view: { type: 'home', blocks: Array.from({ length: 101 }, () => ({ type: 'divider' as const })) } }));
    expect(data).toMatchObject({ error: 'invalid_arguments' });
    expect(slack.home('U0ONCALL')?.view.blocks).toHaveLength(1);
  });

  it('refuses a modal published as a home view', async () => {
    const data = await platformError(client.views.publish({ user_id: 'U0ONCALL', view: { type: 'modal', title: { type: 'plain_text', text: 'x' }, blocks: [] } }));
    expect(data.response_metadata?.messages?.[0]).toContain('view type must be "home"');
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After and the real WebClient waits that long before it retries', async () => {
    const patient = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 2, factor: 1, minTimeout: 0, maxTimeout: 0 } });
    let rateLimitedFor: number | undefined;
    patient.on(WebClientEvent.RATE_LIMITED, (seconds: number) => (rateLimitedFor = seconds));
    slack.rateLimitNext('chat.postMessage', 1, 1);
    const started = performance.now();
    const answer = await patient.chat.postMessage({ channel: OPS, text: 'after the wait' });
    const waitedMs = performance.now() - started;
    expect(answer.ok).toBe(true);
    expect(rateLimitedFor).toBe(1);
    expect(waitedMs).toBeGreaterThanOrEqual(1000);
    expect(slack.rateLimitedCount('chat.postMessage')).toBe(1);
    expect(slack.calls('chat.postMessage').slice(-2).map((call) => call.status)).toEqual([429, 200]);
  });

  it('hands a client that refuses to wait a rate-limited error carrying Retry-After', async () => {
    const impatient = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, rejectRateLimitedCalls: true });
    slack.rateLimitNext('views.publish', 1, 7);
    const error = await impatient.views.publish({ user_id: 'U0ONCALL', view: { type: 'home', blocks: [] } }).then(
      () => undefined,
      (caught: unknown) => caught as { code?: string; retryAfter?: number },
    );
    expect(error).toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 7 });
    expect(slack.rateLimitedCount('views.publish')).toBe(1);
  });
});
