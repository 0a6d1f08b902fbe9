/**
 * Channels the bot makes and fills, as Slack plays them: conversations.create (Slack's name rules
 * and errors, and `restricted_action` when a workspace preference lets only admins create
 * channels), conversations.invite (all or nothing unless `force`), conversations.setTopic and
 * conversations.archive (an archived channel keeps its name and refuses posts and invitations).
 *
 * conversations.invite without `force` invites nobody when one user cannot be invited: it answers
 * the first user's error as `error` and every refused user in `errors` ({user, ok: false, error}),
 * as Slack does. With `force=true` Slack "continues inviting the valid ones while disregarding
 * invalid IDs"; it documents no shape for that answer, so the stand-in answers ok with the
 * disregarded users in `errors`, and fails as without force when nobody could be invited.
 */
import { fail, type Answer } from './api-answer.js';
import type { StandInChannel, Workspace } from './workspace.js';

/** Slack's limits on a channel's name and topic. */
export const CHANNEL_NAME_MAX_LENGTH = 80;
export const CHANNEL_TOPIC_MAX_LENGTH = 250;
/** conversations.invite takes "up to 1000 users". */
export const INVITE_MAX_USERS = 1000;

/** A channel as conversations.info, .create and .invite show it. */
export function channelJson(workspace: Workspace, channel: StandInChannel): Record<string, unknown> {
  const isIm = channel.id.startsWith('D');
  return {
    id: channel.id,
    name: channel.name,
    name_normalized: channel.name,
    is_channel: !isIm && channel.isPrivate !== true,
    is_group: !isIm && channel.isPrivate === true,
    is_im: isIm,
    is_private: channel.isPrivate === true,
    is_member: channel.botIsMember !== false,
    is_archived: channel.archived === true,
    ...(channel.creator ? { creator: channel.creator } : {}),
    topic: { value: channel.topic ?? '', creator: channel.topic ? workspace.bot.userId : '', last_set: 0 },
  };
}

export class ChannelManagement {
  constructor(private readonly workspace: Workspace) {}

  create(args: Record<string, unknown>): Answer {
    if (this.workspace.channelCreationRestricted) return fail('restricted_action');
    const name = typeof args.name === 'string' ? args.name : '';
    if (name === '') return fail('invalid_name_required');
    if (name.length > CHANNEL_NAME_MAX_LENGTH) return fail('invalid_name_maxlength');
    // Upper case counts as a special: Slack wants the name exactly as it will show it.
    if (/[^a-z0-9_-]/.test(name)) return fail('invalid_name_specials');
    if (/^[-_]+$/.test(name)) return fail('invalid_name_punctuation');
    // Every channel keeps its name, archived ones included, so a name is never reused.
    if (this.workspace.listChannels().some((channel) => channel.name === name)) return fail('name_taken');
    const channel = this.workspace.createChannel(name, isTrue(args.is_private));
    return { ok: true, channel: channelJson(this.workspace, channel) };
  }

  invite(args: Record<string, unknown>): Answer {
    const channel = typeof args.channel === 'string' ? this.workspace.findChannel(args.channel) : undefined;
    if (!channel || channel.id !== args.channel) return fail('channel_not_found');
    if (channel.id.startsWith('D')) return fail('method_not_supported_for_channel_type');
    if (channel.archived) return fail('is_archived');
    if (channel.botIsMember === false) return fail('not_in_channel');
    const users = userList(args.users);
    if (users.length === 0) return fail('no_user');
    if (users.length > INVITE_MAX_USERS) return fail('too_many_users');

    const refused: { user: string; ok: false; error: string }[] = [];
    const accepted: string[] = [];
    for (const user of users) {
      const error = this.inviteError(channel, user);
      if (error) refused.push({ user, ok: false, error });
      else accepted.push(user);
    }
    const force = isTrue(args.force);
    if (refused.length > 0 && (!force || accepted.length === 0)) return fail(refused[0]!.error, { errors: refused });
    this.workspace.addMembers(channel.id, accepted);
    return { ok: true, channel: channelJson(this.workspace, channel), ...(refused.length > 0 ? { errors: refused } : {}) };
  }

  setTopic(args: Record<string, unknown>): Answer {
    const channel = typeof args.channel === 'string' ? this.workspace.findChannel(args.channel) : undefined;
    if (!channel || channel.id !== args.channel) return fail('channel_not_found');
    if (channel.archived) return fail('is_archived');
    if (channel.botIsMember === false) return fail('not_in_channel');
    const topic = typeof args.topic === 'string' ? args.topic : '';
    if (topic.length > CHANNEL_TOPIC_MAX_LENGTH) return fail('too_long');
    this.workspace.setTopic(channel.id, topic);
    return { ok: true, channel: channelJson(this.workspace, channel) };
  }

  archive(args: Record<string, unknown>): Answer {
    const channel = typeof args.channel === 'string' ? this.workspace.findChannel(args.channel) : undefined;
    if (!channel || channel.id !== args.channel) return fail('channel_not_found');
    if (channel.id.startsWith('D')) return fail('method_not_supported_for_channel_type');
    if (channel.archived) return fail('already_archived');
    if (channel.botIsMember === false) return fail('not_in_channel');
    this.workspace.archive(channel.id);
    return { ok: true };
  }

  private inviteError(channel: StandInChannel, userId: string): string | undefined {
    const user = this.workspace.findUser(userId);
    if (!user) return 'user_not_found';
    if (user.id === this.workspace.bot.userId) return 'cant_invite_self';
    // A deactivated account is still found, but nobody can add it to a channel.
    if (user.deleted) return 'cant_invite';
    if (user.restricted) return 'user_is_restricted';
    if (this.workspace.isMember(channel, user.id)) return 'already_in_channel';
    return undefined;
  }
}

/** `users` as Slack takes it: a comma-separated string, or an array in a JSON body; repeats count once. */
function userList(value: unknown): string[] {
  const raw = typeof value === 'string' ? value.split(',') : Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  return [...new Set(raw.map((user) => user.trim()).filter((user) => user !== ''))];
}

function isTrue(value: unknown): boolean {
  return value === true || value === 'true' || value === '1' || value === 1;
}
