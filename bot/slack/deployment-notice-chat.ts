/**
 * How deployment notices reach Slack (bot/notices/deployment-notices.ts's NoticeChat): a post to
 * the channel through its write queue, and a direct message through conversations.open and a post
 * to the DM it opens, in the same queue. Slack's refusals come back as sentences that say what to
 * do, with Slack's own error code first so that it can be searched for.
 */
import type { webApi } from '@slack/bolt';
import { slackUserGroupDirectory, type UserGroupDirectory } from '../authorization/roles.js';
import type { NoticeChat } from '../notices/deployment-notices.js';
import type { ChannelWriteQueue } from './channel-write-queue.js';
import { renderDeploymentNotice } from './deployment-notice-message.js';

const EXPLANATIONS: Record<string, string> = {
  channel_not_found: 'the channel does not exist or the bot cannot see it (a private channel the bot is not in)',
  not_in_channel: 'the bot is not a member of the channel: /invite the bot there',
  is_archived: 'the channel is archived',
  user_not_found: 'no such user in this workspace',
  no_such_subteam: 'no such user group in this workspace',
  user_disabled: 'the account is deactivated',
  user_not_visible: 'the bot may not see this user',
  cannot_dm_bot: 'it is a bot, which cannot get direct messages',
  messages_tab_disabled: "the app's Messages tab is turned off (App Home settings), so nobody can get its DMs",
  ratelimited: 'Slack kept answering 429 (rate limited) after the retries',
  rate_limited: 'Slack kept answering 429 (rate limited) after the retries',
  invalid_auth: 'the bot token was refused',
  missing_scope: 'the bot token lacks a scope (chat:write, im:write)',
};

/** An Error whose message a person can act on, from whatever the WebClient threw. */
export function noticeSlackError(error: unknown): Error {
  const data = (error as { data?: { error?: unknown; needed?: unknown } }).data;
  // Without rejectRateLimitedCalls the WebClient waits out each 429 and, once its retries are spent,
  // throws a request error that says so only in its message.
  const rateLimited = (error as { code?: string }).code === 'slack_webapi_rate_limited_error' || /rate limit was exceeded/i.test((error as Error)?.message ?? '');
  const code = typeof data?.error === 'string' ? data.error : rateLimited ? 'ratelimited' : undefined;
  if (code) {
    const needed = code === 'missing_scope' && typeof data?.needed === 'string' ? ` (needs ${data.needed})` : '';
    return new Error(`${code}: ${EXPLANATIONS[code] ?? 'Slack refused it'}${needed}`);
  }
  return new Error(`Slack could not be reached: ${(error as Error)?.message ?? String(error)}`);
}

export function slackNoticeChat(client: webApi.WebClient, queue: ChannelWriteQueue): NoticeChat {
  return {
    async postToChannel(channel, notice) {
      await queue.post(channel, renderDeploymentNotice(notice)).catch((error: unknown) => {
        throw noticeSlackError(error);
      });
    },
    async directMessage(userId, notice) {
      try {
        const opened = await client.conversations.open({ users: userId });
        const channel = opened.channel?.id;
        if (!channel) throw new Error('conversations.open answered without a channel');
        await queue.post(channel, renderDeploymentNotice(notice));
      } catch (error) {
        throw noticeSlackError(error);
      }
    },
  };
}

/** The stakeholders' user groups, read as roles.ts reads them, with Slack's refusals explained. */
export function noticeGroupDirectory(client: webApi.WebClient): UserGroupDirectory {
  const directory = slackUserGroupDirectory(client);
  return {
    membersOf: (groupId) =>
      directory.membersOf(groupId).catch((error: unknown) => {
        throw noticeSlackError(error);
      }),
  };
}
