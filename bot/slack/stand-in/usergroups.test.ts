/**
 * usergroups.users.list as the bot meets it through the real @slack/web-api WebClient: the
 * members of a user group, the errors Slack gives, and membership that changes like in Slack.
 */
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackStandIn, type SlackStandIn } from './index.js';
import { platformError } from '../../../test/testing/slack-platform-error.js';

const BOT_TOKEN = 'xoxb-usergroups-test';
const APP_TOKEN = 'xapp-usergroups-test';
let slack: SlackStandIn;
let client: WebClient;

beforeAll(async () => {
  slack = await startSlackStandIn({
    botToken: BOT_TOKEN,
    appToken: APP_TOKEN,
    console: false,
    workspace: { userGroups: [{ id: 'S0SRE', handle: 'sre', name: 'SRE', users: ['U0ONCALL', 'U0APPROVER1'] }] },
  });
  client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
});
afterAll(async () => {
  await slack.close();
});

describe('usergroups.users.list', () => {
  it("lists a user group's members by user ID", async () => {
    const answer = await client.usergroups.users.list({ usergroup: 'S0SRE' });
    expect(answer.ok).toBe(true);
    expect(answer.users).toEqual(['U0ONCALL', 'U0APPROVER1']);
  });

  it('answers with the new members after the group was edited', async () => {
    expect(slack.workspace.setUserGroupMembers('S0SRE', ['U0APPROVER2'])).toBe(true);
    expect((await client.usergroups.users.list({ usergroup: 'S0SRE' })).users).toEqual(['U0APPROVER2']);
    expect(slack.workspace.setUserGroupMembers('S0NOSUCH', ['U0ONCALL'])).toBe(false);
  });

  it('refuses an unknown group with no_such_subteam and a missing one with invalid_arguments', async () => {
    expect(await platformError(client.usergroups.users.list({ usergroup: 'S0NOSUCH' }))).toMatchObject({ ok: false, error: 'no_such_subteam' });
    expect(await platformError(client.apiCall('usergroups.users.list', {}))).toMatchObject({ ok: false, error: 'invalid_arguments' });
    expect(slack.calls('usergroups.users.list').filter((call) => !call.ok).map((call) => call.error)).toEqual(['no_such_subteam', 'invalid_arguments']);
  });

  it('refuses the app token, like every bot method', async () => {
    const appClient = new WebClient(APP_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
    expect(await platformError(appClient.usergroups.users.list({ usergroup: 'S0SRE' }))).toMatchObject({ error: 'not_allowed_token_type' });
  });

  it('has default groups for on-call and the approvers when no groups are given', async () => {
    const plain = await startSlackStandIn({ botToken: BOT_TOKEN, console: false });
    try {
      const plainClient = new WebClient(BOT_TOKEN, { slackApiUrl: plain.apiUrl, retryConfig: { retries: 0 } });
      expect((await plainClient.usergroups.users.list({ usergroup: 'S0ACGSAPPROVE' })).users).toEqual(['U0APPROVER1', 'U0APPROVER2']);
      expect((await plainClient.usergroups.users.list({ usergroup: 'S0ACGSONCALL' })).users).toEqual(['U0ONCALL']);
    } finally {
      await plain.close();
    }
  });
});
