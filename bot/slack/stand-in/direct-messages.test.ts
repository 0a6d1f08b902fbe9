/**
 * Direct messages as Slack opens them for a bot: conversations.open with one user gives the DM's
 * D... channel, and refuses a deactivated account, a bot, an unknown user and no user at all.
 */
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_USERS, startSlackStandIn, type SlackStandIn } from './index.js';
import { platformError } from '../../../test/testing/slack-platform-error.js';

const BOT_TOKEN = 'xoxb-direct-messages-test';
let slack: SlackStandIn;
let client: WebClient;

beforeAll(async () => {
  slack = await startSlackStandIn({
    botToken: BOT_TOKEN,
    console: false,
    workspace: { users: [...DEFAULT_USERS, { id: 'U0GONE', name: 'gone', realName: 'Gone Person', roleLabel: 'left the company', deleted: true }] },
  });
  client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
});
afterAll(async () => {
  await slack.close();
});

describe('conversations.open', () => {
  it('opens the DM with a person, the same channel each time, and a post there reaches them', async () => {
    const first = await client.conversations.open({ users: 'U0APPROVER1' });
    const again = await client.conversations.open({ users: 'U0APPROVER1' });
    expect(first.channel?.id).toMatch(/^D/);
    expect(again.channel?.id).toBe(first.channel?.id);
    await client.chat.postMessage({ channel: first.channel!.id!, text: 'deploy 1.4.0 finished' });
    expect(slack.messages(first.channel!.id!).map((message) => message.text)).toEqual(['deploy 1.4.0 finished']);
  });

  it('refuses a deactivated account with user_disabled, and opens nothing', async () => {
    expect(await platformError(client.conversations.open({ users: 'U0GONE' }))).toMatchObject({ error: 'user_disabled' });
    expect(slack.workspace.findChannel('D0GONE')).toBeUndefined();
  });

  it('refuses the bot itself with cannot_dm_bot', async () => {
    expect(await platformError(client.conversations.open({ users: 'U0ACGSBOT' }))).toMatchObject({ error: 'cannot_dm_bot' });
  });

  it('refuses an unknown user with user_not_found and a missing one with users_list_not_supplied', async () => {
    expect(await platformError(client.conversations.open({ users: 'U0NOBODY' }))).toMatchObject({ error: 'user_not_found' });
    expect(await platformError(client.apiCall('conversations.open', {}))).toMatchObject({ error: 'users_list_not_supplied' });
  });

  it('says users.info of a deactivated account is deleted', async () => {
    const info = await client.users.info({ user: 'U0GONE' });
    expect(info.user?.deleted).toBe(true);
  });
});
