/**
 * conversations.history and people's reactions, as Slack plays them, through the real WebClient:
 * history by channel ID only and only where the bot is, newest first, bounded by message
 * timestamps (inclusive on request), top-level messages only, no ephemeral ones, reactions listed;
 * a reaction refused as reactions.add refuses it, and `reaction_added` sent only where the bot is.
 * (The event's delivery to the real Bolt app: test/incidents/marked-message.test.ts.)
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { platformError } from '../../../test/testing/slack-platform-error.js';
import { DEFAULT_USERS } from './workspace.js';
import { SlackRefusal, startSlackStandIn, type SlackStandIn } from './index.js';

const BOT_TOKEN = 'xoxb-history-test';
const OPS = 'C0ACGSOPS01';
const OUTSIDE = 'C0OUTSIDE';
const PRIVATE = 'C0PRIVATE';
let slack: SlackStandIn;
let client: WebClient;
/** Stands for the bot's events URL: keeps what Slack sent, answers 200. */
let receiver: Server;
const delivered: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      delivered.push(JSON.parse(body) as Record<string, unknown>);
      response.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  slack = await startSlackStandIn({
    botToken: BOT_TOKEN,
    signingSecret: 'history-test-signing-secret',
    botEventsUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/slack/events`,
    console: false,
    workspace: {
      users: [...DEFAULT_USERS],
      channels: [
        { id: OPS, name: 'acgs-ops' },
        { id: OUTSIDE, name: 'elsewhere', botIsMember: false },
        { id: PRIVATE, name: 'inc-private', isPrivate: true, members: ['U0ONCALL'] },
      ],
    },
  });
  client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
});
afterAll(async () => {
  await slack?.close();
  await new Promise((resolve) => receiver?.close(resolve));
});

describe('conversations.history', () => {
  it('lists top-level messages newest first within message timestamps, with their reactions, never ephemeral ones or thread replies', async () => {
    const first = await slack.postUserMessage({ userId: 'U0ONCALL', channelId: OPS, text: 'first' });
    const second = await slack.postUserMessage({ userId: 'U0APPROVER1', channelId: OPS, text: 'second' });
    await slack.postUserMessage({ userId: 'U0ONCALL', channelId: OPS, text: 'a reply', threadTs: first.message.ts });
    await client.chat.postEphemeral({ channel: OPS, user: 'U0ONCALL', text: 'only for you' });
    const third = await slack.postUserMessage({ userId: 'U0ONCALL', channelId: OPS, text: 'third' });
    await slack.addReaction({ userId: 'U0APPROVER1', channelId: OPS, ts: second.message.ts, reaction: 'pushpin' });

    const all = await client.conversations.history({ channel: OPS });
    expect(all.messages!.map((message) => message.text)).toEqual(['third', 'second', 'first']);
    expect(all.has_more).toBe(false);
    expect(all.messages![1]).toMatchObject({ type: 'message', user: 'U0APPROVER1', ts: second.message.ts, reactions: [{ name: 'pushpin', users: ['U0APPROVER1'], count: 1 }] });

    // One message by its timestamp: latest and oldest are exclusive unless inclusive.
    const one = await client.conversations.history({ channel: OPS, latest: second.message.ts, oldest: second.message.ts, inclusive: true, limit: 1 });
    expect(one.messages!.map((message) => message.text)).toEqual(['second']);
    expect((await client.conversations.history({ channel: OPS, latest: second.message.ts, oldest: second.message.ts })).messages).toEqual([]);
    const older = await client.conversations.history({ channel: OPS, latest: third.message.ts, limit: 1 });
    expect(older.messages!.map((message) => message.text)).toEqual(['second']);
    expect(older.has_more).toBe(true);
    // A thread reply's timestamp is no top-level message.
    const reply = slack.thread(OPS, first.message.ts).at(-1)!;
    expect((await client.conversations.history({ channel: OPS, latest: reply.ts, oldest: reply.ts, inclusive: true })).messages).toEqual([]);
  });

  it('refuses a channel name, an unknown channel, a channel the bot is not in, bad timestamps and a bad limit', async () => {
    expect(await platformError(client.conversations.history({ channel: 'acgs-ops' }))).toMatchObject({ error: 'channel_not_found' });
    expect(await platformError(client.conversations.history({ channel: 'C0NOWHERE' }))).toMatchObject({ error: 'channel_not_found' });
    expect(await platformError(client.conversations.history({ channel: OUTSIDE }))).toMatchObject({ error: 'not_in_channel' });
    expect(await platformError(client.conversations.history({ channel: OPS, latest: 'yesterday' }))).toMatchObject({ error: 'invalid_ts_latest' });
    expect(await platformError(client.conversations.history({ channel: OPS, oldest: '12.3.4' }))).toMatchObject({ error: 'invalid_ts_oldest' });
    expect(await platformError(client.conversations.history({ channel: OPS, limit: 'many' as unknown as number }))).toMatchObject({ error: 'invalid_limit' });
  });
});

describe("a person's reaction", () => {
  it('is refused as reactions.add refuses it', async () => {
    const { message } = await slack.postUserMessage({ userId: 'U0ONCALL', channelId: OPS, text: 'mark me' });
    const refused = (input: Parameters<SlackStandIn['addReaction']>[0]) => slack.addReaction(input).then(() => 'accepted', (error: unknown) => (error instanceof SlackRefusal ? error.message : `threw ${String(error)}`));
    expect(await refused({ userId: 'U0ONCALL', channelId: OPS, ts: message.ts, reaction: ':pushpin:' })).toBe('invalid_name');
    expect(await refused({ userId: 'U0ONCALL', channelId: OPS, ts: message.ts, reaction: 'Pushpin' })).toBe('invalid_name');
    expect(await refused({ userId: 'U0ONCALL', channelId: OPS, ts: '1.000001', reaction: 'pushpin' })).toBe('message_not_found');
    const ephemeral = await client.chat.postEphemeral({ channel: OPS, user: 'U0ONCALL', text: 'only for you' });
    expect(await refused({ userId: 'U0ONCALL', channelId: OPS, ts: ephemeral.message_ts!, reaction: 'pushpin' })).toBe('message_not_found');
    const secret = await slack.postUserMessage({ userId: 'U0ONCALL', channelId: PRIVATE, text: 'members only' });
    expect(await refused({ userId: 'U0APPROVER1', channelId: PRIVATE, ts: secret.message.ts, reaction: 'pushpin' })).toBe('channel_not_found');
    const before = delivered.length;
    await slack.addReaction({ userId: 'U0ONCALL', channelId: OPS, ts: message.ts, reaction: 'eyes' });
    expect(delivered.slice(before)).toEqual([
      expect.objectContaining({
        type: 'event_callback',
        event: { type: 'reaction_added', user: 'U0ONCALL', reaction: 'eyes', item_user: 'U0ONCALL', item: { type: 'message', channel: OPS, ts: message.ts }, event_ts: expect.stringMatching(/^\d+\.\d{6}$/) },
      }),
    ]);
    // Refused ones sent nothing.
    expect(delivered.slice(before)).toHaveLength(1);
    expect(await refused({ userId: 'U0ONCALL', channelId: OPS, ts: message.ts, reaction: 'eyes' })).toBe('already_reacted');
    expect(slack.messages(OPS).find((candidate) => candidate.ts === message.ts)?.reactions).toEqual([{ name: 'eyes', users: ['U0ONCALL'] }]);
  });

  it('sends reaction_added nowhere when the bot is not in the channel', async () => {
    const { message } = await slack.postUserMessage({ userId: 'U0ONCALL', channelId: OUTSIDE, text: 'not for the bot' });
    const before = delivered.length;
    expect(await slack.addReaction({ userId: 'U0ONCALL', channelId: OUTSIDE, ts: message.ts, reaction: 'pushpin' })).toBeUndefined();
    expect(delivered).toHaveLength(before);
  });
});
