/**
 * What Slack sends an app, field for field: slash command forms, block_actions payloads and
 * Events API envelopes. Shapes follow Slack's documentation of each payload.
 */
import { randomBytes } from 'node:crypto';
import type { StandInChannel, StandInMessage, StandInUser, Workspace } from './workspace.js';

/** Slack's deprecated verification token; still sent in every payload, and checked by nobody. */
export const VERIFICATION_TOKEN = 'stand-in-verification-token';

let sequence = 0;
/** Slack-looking IDs that are unique within the process, for example `Ev0A1B2C3D` or trigger IDs. */
export function slackId(prefix: string): string {
  sequence += 1;
  return `${prefix}${Date.now().toString(36).toUpperCase()}${sequence.toString(36).toUpperCase()}${randomBytes(2).toString('hex').toUpperCase()}`;
}

export function triggerId(workspace: Workspace): string {
  return `${Date.now()}.${workspace.teamId.slice(1)}.${randomBytes(16).toString('hex')}`;
}

export interface SlashCommandFields {
  user: StandInUser;
  channel: StandInChannel;
  command: string;
  text: string;
  responseUrl: string;
}

export function slashCommandForm(workspace: Workspace, fields: SlashCommandFields): Record<string, string> {
  return {
    token: VERIFICATION_TOKEN,
    team_id: workspace.teamId,
    team_domain: workspace.teamName.toLowerCase().replace(/[^a-z0-9]+/g, '-'),
    channel_id: fields.channel.id,
    channel_name: fields.channel.name,
    user_id: fields.user.id,
    user_name: fields.user.name,
    command: fields.command,
    text: fields.text,
    api_app_id: workspace.bot.appId,
    is_enterprise_install: 'false',
    response_url: fields.responseUrl,
    trigger_id: triggerId(workspace),
  };
}

export interface ButtonElement {
  action_id: string;
  block_id: string;
  text: { type: 'plain_text'; text: string; emoji?: boolean };
  value?: string;
  style?: string;
}

/** Finds a button in stored blocks by action_id (and block_id when several blocks share one). */
export function findButton(blocks: unknown[] | undefined, actionId: string, blockId?: string): ButtonElement | undefined {
  for (const block of blocks ?? []) {
    if (typeof block !== 'object' || block === null) continue;
    const { block_id, elements, accessory } = block as { block_id?: string; elements?: unknown[]; accessory?: unknown };
    if (blockId !== undefined && block_id !== blockId) continue;
    for (const element of [...(Array.isArray(elements) ? elements : []), accessory]) {
      const button = element as { type?: string; action_id?: string; text?: ButtonElement['text']; value?: string; style?: string } | undefined;
      if (button?.type === 'button' && button.action_id === actionId && button.text) {
        return { action_id: actionId, block_id: block_id ?? '', text: button.text, ...(button.value === undefined ? {} : { value: button.value }), ...(button.style ? { style: button.style } : {}) };
      }
    }
  }
  return undefined;
}

function userJson(workspace: Workspace, user: StandInUser) {
  return { id: user.id, username: user.name, name: user.name, team_id: workspace.teamId };
}

function actionJson(button: ButtonElement) {
  return { type: 'button', action_id: button.action_id, block_id: button.block_id, text: button.text, ...(button.value === undefined ? {} : { value: button.value }), ...(button.style ? { style: button.style } : {}), action_ts: `${(Date.now() / 1000).toFixed(6)}` };
}

export function messageJson(message: StandInMessage): Record<string, unknown> {
  return {
    type: 'message',
    user: message.user,
    ...(message.botId ? { bot_id: message.botId } : {}),
    text: message.text,
    ts: message.ts,
    ...(message.blocks ? { blocks: message.blocks } : {}),
    ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
    ...(message.edited ? { edited: message.edited } : {}),
    ...(message.files ? { files: message.files.map((file) => ({ ...file, filetype: file.name.split('.').at(-1) ?? '' })), upload: true } : {}),
    ...(message.reactions && message.reactions.length > 0 ? { reactions: message.reactions.map((reaction) => ({ name: reaction.name, users: [...reaction.users], count: reaction.users.length })) } : {}),
  };
}

/** What Slack sends an app in the channel when a person adds an emoji reaction to a message. */
export function reactionAddedEvent(input: { user: string; reaction: string; message: StandInMessage; eventTs: string }): Record<string, unknown> {
  return {
    type: 'reaction_added',
    user: input.user,
    reaction: input.reaction,
    item_user: input.message.user,
    item: { type: 'message', channel: input.message.channel, ts: input.message.ts },
    event_ts: input.eventTs,
  };
}

export function messageBlockActions(workspace: Workspace, input: { user: StandInUser; channel: StandInChannel; message: StandInMessage; button: ButtonElement; responseUrl: string }) {
  const ephemeral = input.message.visibleTo !== undefined;
  return {
    type: 'block_actions',
    user: userJson(workspace, input.user),
    api_app_id: workspace.bot.appId,
    token: VERIFICATION_TOKEN,
    container: { type: 'message', message_ts: input.message.ts, channel_id: input.channel.id, is_ephemeral: ephemeral },
    trigger_id: triggerId(workspace),
    team: { id: workspace.teamId, domain: workspace.teamName.toLowerCase().replace(/[^a-z0-9]+/g, '-') },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: input.channel.id, name: input.channel.name },
    // Slack leaves the message out of payloads from ephemeral messages.
    ...(ephemeral ? {} : { message: messageJson(input.message) }),
    state: { values: {} },
    response_url: input.responseUrl,
    actions: [actionJson(input.button)],
  };
}

export function homeBlockActions(workspace: Workspace, input: { user: StandInUser; viewId: string; view: Record<string, unknown>; button: ButtonElement }) {
  return {
    type: 'block_actions',
    user: userJson(workspace, input.user),
    api_app_id: workspace.bot.appId,
    token: VERIFICATION_TOKEN,
    container: { type: 'view', view_id: input.viewId },
    trigger_id: triggerId(workspace),
    team: { id: workspace.teamId, domain: workspace.teamName.toLowerCase().replace(/[^a-z0-9]+/g, '-') },
    enterprise: null,
    is_enterprise_install: false,
    view: { id: input.viewId, team_id: workspace.teamId, ...input.view, app_id: workspace.bot.appId, bot_id: workspace.bot.botId },
    state: { values: {} },
    actions: [actionJson(input.button)],
  };
}

export function eventEnvelope(workspace: Workspace, event: Record<string, unknown>) {
  return {
    token: VERIFICATION_TOKEN,
    team_id: workspace.teamId,
    api_app_id: workspace.bot.appId,
    event,
    type: 'event_callback',
    event_id: slackId('Ev'),
    event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ enterprise_id: null, team_id: workspace.teamId, user_id: workspace.bot.userId, is_bot: true, is_enterprise_install: false }],
    is_ext_shared_channel: false,
    event_context: slackId('4-'),
  };
}

export function appMentionEvent(message: StandInMessage): Record<string, unknown> {
  return {
    type: 'app_mention',
    user: message.user,
    text: message.text,
    ts: message.ts,
    channel: message.channel,
    event_ts: message.ts,
    ...(message.threadTs ? { thread_ts: message.threadTs } : {}),
  };
}

export function appHomeOpenedEvent(workspace: Workspace, userId: string): Record<string, unknown> {
  const home = workspace.home(userId);
  return {
    type: 'app_home_opened',
    user: userId,
    channel: workspace.directChannelFor(userId).id,
    tab: 'home',
    event_ts: workspace.nextTs(),
    ...(home ? { view: { id: home.id, team_id: workspace.teamId, ...home.view } } : {}),
  };
}
