/**
 * An incident's own channel in Slack (issue 16): created under `inc-<date>-<slug>`
 * (bot/incidents/channel-name.ts), private when the incident is, its topic saying what it is, the
 * people invited, and the briefing posted first.
 *
 * conversations.invite is all or nothing: one person Slack refuses (a guest, a deactivated
 * account, an ID from a stale config) and nobody is invited. The refused ones are taken out and the
 * rest invited again, and the answer says who could not be invited and why, in plain words.
 *
 * When Slack refuses to create the channel (a workspace preference lets only admins do it), the
 * answer is a failure the caller acts on: the incident then runs in `channels.ops`, and the
 * caller says so. Nothing here posts a Slack error to Slack; they come back as results.
 *
 * Rate limits are honoured as everywhere else: the WebClient waits out Retry-After on
 * conversations.create and .invite (Tier 2 and 3, a few calls per incident), and the briefing goes
 * through the channel write queue that paces every post (channel-write-queue.ts).
 */
import type { webApi } from '@slack/bolt';
import { incidentChannelName } from '../incidents/channel-name.js';
import type { Incident } from '../incidents/incident-store.js';
import type { ChannelWriteQueue } from './channel-write-queue.js';
import type { SlackMessage } from './render.js';

/** What the channel is made from: the incident as the store keeps it. */
export type IncidentForChannel = Pick<Incident, 'key' | 'title' | 'severity' | 'type' | 'private' | 'declaredAt'>;

export interface OpenIncidentChannelOptions {
  client: webApi.WebClient;
  incident: IncidentForChannel;
  /** Slack user IDs to invite: on-call, the commander, the escalation matrix's people for the type. */
  members: readonly string[];
  /** The briefing to post first (incident-briefing.ts), through `writes`. */
  briefing?: SlackMessage;
  writes?: ChannelWriteQueue;
  /** Names tried before giving up: the name, then `-2`, `-3`, ... (default 10). */
  maxNameAttempts?: number;
}

export interface NotInvited {
  user: string;
  /** Why, in words a person reads in the declaration's answer. */
  reason: string;
}

export type IncidentChannelOutcome =
  | {
      ok: true;
      channelId: string;
      name: string;
      notInvited: NotInvited[];
      /** The briefing's ts, when it was asked for and posted. */
      briefingTs?: string;
      /** Why the briefing could not be posted, when it could not. */
      briefingProblem?: string;
    }
  | {
      ok: false;
      /** `creation-refused`: the workspace lets only admins create channels; the others: Slack failed otherwise. */
      reason: 'creation-refused' | 'names-taken' | 'slack-error';
      message: string;
    };

export const DEFAULT_MAX_NAME_ATTEMPTS = 10;
/** conversations.invite takes at most 1000 users a call. */
const INVITE_BATCH = 1000;
/** Slack's limit on a channel topic. */
const TOPIC_MAX_LENGTH = 250;

/** Slack's refusal codes for one invited person, in plain words. */
const INVITE_REASONS: Record<string, string> = {
  user_not_found: 'Slack knows no such user in this workspace',
  cant_invite_self: 'that is the bot itself',
  cant_invite: 'Slack does not let them be invited (the account may be deactivated)',
  user_is_restricted: 'a guest account, which only a workspace admin can add to channels',
  user_is_ultra_restricted: 'a single-channel guest, who cannot join another channel',
  user_is_bot: 'it is a bot, which Slack does not let the bot invite',
  not_in_channel: 'the bot is not in the channel, so it cannot invite anyone',
  is_archived: 'the channel has been archived',
  channel_not_found: 'Slack no longer knows the channel',
  missing_scope: 'the bot token lacks the scope to invite people (channels:manage, groups:write)',
  ratelimited: 'Slack kept answering 429 (rate limited) after the retries',
};

/** The Slack error code of a failed Web API call, or undefined when Slack never answered. */
function slackErrorCode(error: unknown): string | undefined {
  const data = (error as { data?: { error?: unknown } } | undefined)?.data;
  if (typeof data?.error === 'string') return data.error;
  // Without rejectRateLimitedCalls the WebClient throws this once its retries are spent.
  const rateLimited = (error as { code?: string } | undefined)?.code === 'slack_webapi_rate_limited_error' || /rate limit was exceeded/i.test((error as Error | undefined)?.message ?? '');
  return rateLimited ? 'ratelimited' : undefined;
}

function describeSlackFailure(error: unknown): string {
  const code = slackErrorCode(error);
  if (code) return `Slack refused it (${code}${INVITE_REASONS[code] ? `: ${INVITE_REASONS[code]}` : ''})`;
  return `Slack could not be reached (${(error as Error | undefined)?.message ?? String(error)})`;
}

export function inviteReason(code: string): string {
  return INVITE_REASONS[code] ?? `Slack refused the invitation (${code})`;
}

export async function openIncidentChannel(options: OpenIncidentChannelOptions): Promise<IncidentChannelOutcome> {
  const created = await createChannel(options);
  if (!created.ok) return created;
  const { client, incident } = options;
  // A topic is a convenience: a channel without one still runs the incident.
  await client.conversations.setTopic({ channel: created.channelId, topic: channelTopic(incident) }).catch(() => undefined);
  const notInvited = await inviteMembers(client, created.channelId, options.members);
  const outcome: IncidentChannelOutcome = { ok: true, channelId: created.channelId, name: created.name, notInvited };
  if (options.briefing && options.writes) {
    try {
      outcome.briefingTs = await options.writes.post(created.channelId, options.briefing);
    } catch (error) {
      outcome.briefingProblem = `The briefing could not be posted: ${describeSlackFailure(error)}.`;
    }
  }
  return outcome;
}

/** `INC-3 · sev1 · security · <title>`, cut to Slack's limit. */
export function channelTopic(incident: IncidentForChannel): string {
  const topic = `${incident.key} · ${incident.severity} · ${incident.type} · ${incident.title}`;
  return topic.length <= TOPIC_MAX_LENGTH ? topic : `${topic.slice(0, TOPIC_MAX_LENGTH - 1)}…`;
}

async function createChannel(options: OpenIncidentChannelOptions): Promise<{ ok: true; channelId: string; name: string } | Extract<IncidentChannelOutcome, { ok: false }>> {
  const { client, incident } = options;
  const maxAttempts = options.maxNameAttempts ?? DEFAULT_MAX_NAME_ATTEMPTS;
  const taken = new Set<string>();
  for (let attempt = 1; attempt <= maxAttempts; attempt += 1) {
    const name = incidentChannelName(incident.title, incident.declaredAt, taken);
    try {
      const answer = await client.conversations.create({ name, is_private: incident.private });
      const channelId = answer.channel?.id;
      if (!channelId) return { ok: false, reason: 'slack-error', message: `Slack created #${name} but answered without its ID, so the bot cannot use it.` };
      return { ok: true, channelId, name: answer.channel?.name ?? name };
    } catch (error) {
      const code = slackErrorCode(error);
      if (code === 'name_taken') {
        taken.add(name);
        continue;
      }
      if (code === 'restricted_action') {
        return { ok: false, reason: 'creation-refused', message: 'Slack does not let the bot create channels in this workspace (only admins may).' };
      }
      return { ok: false, reason: 'slack-error', message: `The incident channel #${name} could not be created: ${describeSlackFailure(error)}.` };
    }
  }
  return { ok: false, reason: 'names-taken', message: `The incident channel could not be created: ${maxAttempts} names for it were taken, the last ${[...taken].at(-1)}.` };
}

/**
 * Invites everyone Slack accepts. A refusal that names its users takes them out and invites the
 * rest again; one that names nobody (Slack did not say who) falls back to inviting one by one, so
 * a single bad ID never keeps the others out.
 */
async function inviteMembers(client: webApi.WebClient, channel: string, members: readonly string[]): Promise<NotInvited[]> {
  const wanted = [...new Set(members.map((member) => member.trim()).filter((member) => member !== ''))];
  const notInvited: NotInvited[] = [];
  for (let start = 0; start < wanted.length; start += INVITE_BATCH) {
    let pending = wanted.slice(start, start + INVITE_BATCH);
    // Each round takes at least one pending person out, so this ends.
    while (pending.length > 0) {
      let refused = await inviteOnce(client, channel, pending);
      if (refused === 'done') break;
      const out = typeof refused === 'object' ? new Set(refused.refused.map((entry) => entry.user).concat(refused.alreadyIn)) : new Set<string>();
      // A refusal naming none of the pending people would be asked again for ever: go one by one.
      if (typeof refused === 'object' && !refused.channelLevel && !pending.some((user) => out.has(user))) refused = 'unnamed';
      if (refused === 'unnamed') {
        for (const user of pending) {
          const single = await inviteOnce(client, channel, [user]);
          if (single !== 'done') notInvited.push(...(single === 'unnamed' ? [{ user, reason: 'Slack refused the invitation without saying why' }] : single.refused));
        }
        break;
      }
      if (refused.channelLevel) {
        notInvited.push(...pending.map((user) => ({ user, reason: refused.channelLevel! })));
        break;
      }
      notInvited.push(...refused.refused.filter((entry) => pending.includes(entry.user)));
      pending = pending.filter((user) => !out.has(user));
    }
  }
  return notInvited;
}

type InviteAttempt = 'done' | 'unnamed' | { refused: NotInvited[]; alreadyIn: string[]; channelLevel?: string };

/** Errors about the channel or the bot, not about whom it invites: nobody can be invited. */
const CHANNEL_LEVEL = new Set(['not_in_channel', 'is_archived', 'channel_not_found', 'method_not_supported_for_channel_type', 'missing_scope', 'invalid_auth', 'not_authed', 'ratelimited']);

async function inviteOnce(client: webApi.WebClient, channel: string, users: readonly string[]): Promise<InviteAttempt> {
  try {
    await client.conversations.invite({ channel, users: users.join(',') });
    return 'done';
  } catch (error) {
    const code = slackErrorCode(error);
    if (code === undefined) return { refused: [], alreadyIn: [], channelLevel: describeSlackFailure(error) };
    if (CHANNEL_LEVEL.has(code)) return { refused: [], alreadyIn: [], channelLevel: inviteReason(code) };
    const errors = (error as { data?: { errors?: unknown } }).data?.errors;
    const named = Array.isArray(errors) ? errors.filter((entry): entry is { user: string; error: string } => typeof entry?.user === 'string' && typeof entry?.error === 'string') : [];
    if (named.length === 0) {
      if (users.length === 1) return code === 'already_in_channel' ? 'done' : { refused: [{ user: users[0]!, reason: inviteReason(code) }], alreadyIn: [] };
      return 'unnamed';
    }
    // Someone already in the channel is where the invitation wanted them: not a refusal.
    return {
      refused: named.filter((entry) => entry.error !== 'already_in_channel').map((entry) => ({ user: entry.user, reason: inviteReason(entry.error) })),
      alreadyIn: named.filter((entry) => entry.error === 'already_in_channel').map((entry) => entry.user),
    };
  }
}
