/**
 * conversations.create, .invite, .setTopic and .archive as Slack answers them, through the real WebClient:
 * Slack's name rules, the workspace preference that stops bots creating channels, and
 * conversations.invite's all-or-nothing answer (and what `force` changes).
 */
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_USERS, startSlackStandIn, type SlackStandIn } from './index.js';
import { platformError } from '../../../test/testing/slack-platform-error.js';

const BOT_TOKEN = 'xoxb-channel-management-test';
let slack: SlackStandIn;
let client: WebClient;
let counter = 0;
const freshName = () => `inc-2026-12-07-test-${++counter}`;

beforeAll(async () => {
  slack = await startSlackStandIn({
    botToken: BOT_TOKEN,
    console: false,
    rateLimits: false,
    workspace: {
      users: [
        ...DEFAULT_USERS,
        { id: 'U0GONE', name: 'gone', realName: 'Gone Person', roleLabel: 'left the company', deleted: true },
        { id: 'U0GUEST', name: 'guest', realName: 'Gita Guest', roleLabel: 'guest', restricted: true },
      ],
    },
  });
  client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
});
afterAll(async () => {
  await slack.close();
});
beforeEach(() => {
  slack.workspace.setChannelCreationRestricted(false);
});

const channelNames = () => slack.workspace.listChannels().map((channel) => channel.name);

describe('conversations.create', () => {
  it('creates a public channel with the bot as its only member, and posting there works', async () => {
    const name = freshName();
    const created = await client.conversations.create({ name });
    expect(created.channel).toMatchObject({ name, is_private: false, is_channel: true, is_member: true, creator: 'U0ACGSBOT' });
    const stored = slack.workspace.findChannel(created.channel!.id!)!;
    expect(stored.members).toEqual([]);
    expect(slack.workspace.isMember(stored, 'U0ONCALL')).toBe(false);
    await client.chat.postMessage({ channel: stored.id, text: 'briefing' });
    expect(slack.messages(stored.id).map((message) => message.text)).toEqual(['briefing']);
  });

  it('creates a private channel when asked, shown as a group by conversations.info', async () => {
    const created = await client.conversations.create({ name: freshName(), is_private: true });
    const info = await client.conversations.info({ channel: created.channel!.id! });
    expect(info.channel).toMatchObject({ is_private: true, is_group: true, is_channel: false });
  });

  it('accepts a name of exactly 80 characters and refuses 81 with invalid_name_maxlength', async () => {
    const eighty = `inc-${'a'.repeat(76)}`;
    expect((await client.conversations.create({ name: eighty })).channel?.name).toBe(eighty);
    const before = channelNames().length;
    expect(await platformError(client.conversations.create({ name: `inc-${'b'.repeat(77)}` }))).toMatchObject({ error: 'invalid_name_maxlength' });
    expect(channelNames()).toHaveLength(before);
  });

  it.each([
    ['upper case', 'Inc-Outage'],
    ['a space', 'inc outage'],
    ['a dot', 'inc.outage'],
    ['a hash', '#inc-outage'],
    ['an accent', 'inc-überlast'],
  ])('refuses a name with %s with invalid_name_specials and creates nothing', async (_what, name) => {
    const before = channelNames().length;
    expect(await platformError(client.conversations.create({ name }))).toMatchObject({ error: 'invalid_name_specials' });
    expect(channelNames()).toHaveLength(before);
  });

  it('refuses an empty or missing name with invalid_name_required and one of punctuation only with invalid_name_punctuation', async () => {
    expect(await platformError(client.conversations.create({ name: '' }))).toMatchObject({ error: 'invalid_name_required' });
    expect(await platformError(client.apiCall('conversations.create', {}))).toMatchObject({ error: 'invalid_name_required' });
    expect(await platformError(client.conversations.create({ name: '--_' }))).toMatchObject({ error: 'invalid_name_punctuation' });
  });

  it('refuses a name already taken, a seeded channel or a created one, with name_taken', async () => {
    expect(await platformError(client.conversations.create({ name: 'acgs-ops' }))).toMatchObject({ error: 'name_taken' });
    const name = freshName();
    await client.conversations.create({ name });
    expect(await platformError(client.conversations.create({ name, is_private: true }))).toMatchObject({ error: 'name_taken' });
    expect(channelNames().filter((existing) => existing === name)).toHaveLength(1);
  });

  it('answers restricted_action while the workspace lets only admins create channels, and creates again once allowed', async () => {
    slack.workspace.setChannelCreationRestricted(true);
    const name = freshName();
    expect(await platformError(client.conversations.create({ name }))).toMatchObject({ error: 'restricted_action' });
    expect(channelNames()).not.toContain(name);
    slack.workspace.setChannelCreationRestricted(false);
    expect((await client.conversations.create({ name })).ok).toBe(true);
  });

  it('announces a created channel so the console lists it', async () => {
    const changes: unknown[] = [];
    const listen = (change: unknown) => changes.push(change);
    slack.workspace.on('change', listen);
    const created = await client.conversations.create({ name: freshName() });
    slack.workspace.off('change', listen);
    expect(changes).toContainEqual({ kind: 'channel', channel: created.channel!.id });
  });
});

describe('conversations.invite', () => {
  async function newChannel(): Promise<string> {
    return (await client.conversations.create({ name: freshName() })).channel!.id!;
  }
  const members = (id: string) => slack.workspace.findChannel(id)!.members;

  it('invites several people at once', async () => {
    const channel = await newChannel();
    const answer = await client.conversations.invite({ channel, users: 'U0ONCALL,U0APPROVER1' });
    expect(answer.ok).toBe(true);
    expect(answer.errors).toBeUndefined();
    expect(members(channel)).toEqual(['U0ONCALL', 'U0APPROVER1']);
  });

  it('invites nobody when one user is unknown, naming the first error and every refused user', async () => {
    const channel = await newChannel();
    const failure = await platformError(client.conversations.invite({ channel, users: 'U0ONCALL,U0NOBODY,U0GONE' }));
    expect(failure).toMatchObject({
      error: 'user_not_found',
      errors: [
        { user: 'U0NOBODY', ok: false, error: 'user_not_found' },
        { user: 'U0GONE', ok: false, error: 'cant_invite' },
      ],
    });
    expect(members(channel)).toEqual([]);
  });

  it.each([
    ['the bot itself', 'U0ACGSBOT', 'cant_invite_self'],
    ['a guest', 'U0GUEST', 'user_is_restricted'],
    ['a deactivated account', 'U0GONE', 'cant_invite'],
  ])('refuses %s, and the others with it', async (_who, user, error) => {
    const channel = await newChannel();
    expect(await platformError(client.conversations.invite({ channel, users: `U0APPROVER2,${user}` }))).toMatchObject({ error, errors: [{ user, ok: false, error }] });
    expect(members(channel)).toEqual([]);
  });

  it('refuses someone already in the channel with already_in_channel', async () => {
    const channel = await newChannel();
    await client.conversations.invite({ channel, users: 'U0ONCALL' });
    expect(await platformError(client.conversations.invite({ channel, users: 'U0ONCALL,U0APPROVER1' }))).toMatchObject({ error: 'already_in_channel' });
    expect(members(channel)).toEqual(['U0ONCALL']);
    // Everybody is in the team's seeded channels.
    expect(await platformError(client.conversations.invite({ channel: 'C0ACGSOPS01', users: 'U0APPROVER1' }))).toMatchObject({ error: 'already_in_channel' });
  });

  it('with force invites the valid ones and lists the disregarded ones', async () => {
    const channel = await newChannel();
    const answer = await client.conversations.invite({ channel, users: 'U0ONCALL,U0NOBODY,U0APPROVER1', force: true });
    expect(answer.ok).toBe(true);
    expect(answer.errors).toEqual([{ user: 'U0NOBODY', ok: false, error: 'user_not_found' }]);
    expect(members(channel)).toEqual(['U0ONCALL', 'U0APPROVER1']);
  });

  it('with force still fails when nobody could be invited', async () => {
    const channel = await newChannel();
    expect(await platformError(client.conversations.invite({ channel, users: 'U0NOBODY', force: true }))).toMatchObject({ error: 'user_not_found' });
    expect(members(channel)).toEqual([]);
  });

  it('refuses no users with no_user, more than 1000 with too_many_users, and an unknown channel or a name with channel_not_found', async () => {
    const channel = await newChannel();
    expect(await platformError(client.conversations.invite({ channel, users: '' }))).toMatchObject({ error: 'no_user' });
    const many = Array.from({ length: 1001 }, (_, index) => `U1${String(index).padStart(6, '0')}`).join(',');
    expect(await platformError(client.conversations.invite({ channel, users: many }))).toMatchObject({ error: 'too_many_users' });
    expect(await platformError(client.conversations.invite({ channel: 'C0NOWHERE', users: 'U0ONCALL' }))).toMatchObject({ error: 'channel_not_found' });
    const name = slack.workspace.findChannel(channel)!.name;
    expect(await platformError(client.conversations.invite({ channel: name, users: 'U0ONCALL' }))).toMatchObject({ error: 'channel_not_found' });
    expect(members(channel)).toEqual([]);
  });

  it('refuses a channel the bot is not in with not_in_channel, and a DM with method_not_supported_for_channel_type', async () => {
    const outside = await startSlackStandIn({ botToken: BOT_TOKEN, console: false, workspace: { channels: [{ id: 'C0OUTSIDE', name: 'outside', botIsMember: false, members: [] }] } });
    try {
      const outsideClient = new WebClient(BOT_TOKEN, { slackApiUrl: outside.apiUrl, retryConfig: { retries: 0 } });
      expect(await platformError(outsideClient.conversations.invite({ channel: 'C0OUTSIDE', users: 'U0ONCALL' }))).toMatchObject({ error: 'not_in_channel' });
      const dm = await outsideClient.conversations.open({ users: 'U0ONCALL' });
      expect(await platformError(outsideClient.conversations.invite({ channel: dm.channel!.id!, users: 'U0APPROVER1' }))).toMatchObject({ error: 'method_not_supported_for_channel_type' });
    } finally {
      await outside.close();
    }
  });
});

describe('conversations.setTopic', () => {
  it('sets the topic, shown by conversations.info, and refuses one over 250 characters with too_long', async () => {
    const channel = (await client.conversations.create({ name: freshName() })).channel!.id!;
    await client.conversations.setTopic({ channel, topic: 'INC-3 · sev1 · commander Olivia' });
    expect((await client.conversations.info({ channel })).channel?.topic?.value).toBe('INC-3 · sev1 · commander Olivia');
    expect(await platformError(client.conversations.setTopic({ channel, topic: 'x'.repeat(251) }))).toMatchObject({ error: 'too_long' });
    expect(slack.workspace.findChannel(channel)!.topic).toBe('INC-3 · sev1 · commander Olivia');
    expect(await platformError(client.conversations.setTopic({ channel: 'C0NOWHERE', topic: 'x' }))).toMatchObject({ error: 'channel_not_found' });
  });
});

describe('conversations.archive', () => {
  it('archives a channel, which keeps its name and refuses posts, invitations and topics with is_archived', async () => {
    const name = freshName();
    const channel = (await client.conversations.create({ name })).channel!.id!;
    await client.chat.postMessage({ channel, text: 'resolved' });
    expect((await client.conversations.archive({ channel })).ok).toBe(true);
    expect((await client.conversations.info({ channel })).channel?.is_archived).toBe(true);
    expect(await platformError(client.chat.postMessage({ channel, text: 'too late' }))).toMatchObject({ error: 'is_archived' });
    expect(await platformError(client.conversations.invite({ channel, users: 'U0ONCALL' }))).toMatchObject({ error: 'is_archived' });
    expect(await platformError(client.conversations.setTopic({ channel, topic: 'x' }))).toMatchObject({ error: 'is_archived' });
    expect(await platformError(client.conversations.create({ name }))).toMatchObject({ error: 'name_taken' });
    expect(slack.messages(channel).map((message) => message.text)).toEqual(['resolved']);
  });

  it('refuses an archived channel again with already_archived, an unknown one with channel_not_found', async () => {
    const channel = (await client.conversations.create({ name: freshName() })).channel!.id!;
    await client.conversations.archive({ channel });
    expect(await platformError(client.conversations.archive({ channel }))).toMatchObject({ error: 'already_archived' });
    expect(await platformError(client.conversations.archive({ channel: 'C0NOWHERE' }))).toMatchObject({ error: 'channel_not_found' });
  });
});
