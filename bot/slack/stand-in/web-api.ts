/**
 * The Web API methods the bot uses, answering as Slack does: the same error codes for the same
 * mistakes (token problems, unknown channels and messages, Block Kit limits, message length), the
 * same response shapes, and 429 with Retry-After over Slack's rate limits (rate-limits.ts) or when
 * a test asks for it. Every call is logged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fail, type Answer } from './api-answer.js';
import { ChannelManagement, channelJson } from './channel-management.js';
import { validateBlocks } from './block-kit.js';
import { BLOCK_KIT_LIMITS } from './block-kit-limits.js';
import { FileUploads } from './file-uploads.js';
import { BodyTooLargeError, parseApiBody, readBody, sendJson } from './http-io.js';
import { messageJson } from './payloads.js';
import { RateLimiter, slackRateLimits, type RateLimitOverrides } from './rate-limits.js';
import type { StandInChannel, Workspace } from './workspace.js';

export type TokenKind = 'bot' | 'app';

export interface ApiCall {
  method: string;
  /** The arguments as the method saw them, without the token. */
  args: Record<string, unknown>;
  ok: boolean;
  error?: string;
  /** 200, or 429 when the call was rate limited. */
  status: number;
  at: number;
}

type MethodHandler = (args: Record<string, unknown>) => Answer;

interface MethodSpec {
  token: TokenKind;
  handler: MethodHandler;
}

export interface WebApiOptions {
  workspace: Workspace;
  botToken: string;
  appToken?: string;
  /** The WebSocket URL apps.connections.open hands out, built from the request's Host header. */
  socketUrlFor(req: IncomingMessage): string;
  /** How many calls `calls` keeps (default MAX_RECORDED_CALLS). */
  maxRecordedCalls?: number;
  /** Slack's rate limits (SLACK_RATE_LIMITS) with these replaced, or `false` for none. */
  rateLimits?: RateLimitOverrides | false;
  /** The clock the rate limits count with, in milliseconds (performance.now by default). */
  rateLimitClock?: () => number;
}

/** Web API calls remembered for tests and diagnosis; older ones are dropped, so a long run stays small. */
export const MAX_RECORDED_CALLS = 5000;

/** A message timestamp (`1765082400.000100`) as whole microseconds: exact, where a float is not at 16 digits. */
function microseconds(ts: string): bigint {
  const [seconds, fraction = ''] = ts.split('.');
  return BigInt(seconds!) * 1_000_000n + BigInt(fraction.padEnd(6, '0').slice(0, 6));
}

export class WebApi {
  readonly calls: ApiCall[] = [];
  private readonly rateLimits = new Map<string, { remaining: number; retryAfterS: number }>();
  private readonly limiter: RateLimiter | undefined;
  private readonly rateLimitedCounts = new Map<string, number>();
  private readonly methods: Record<string, MethodSpec>;
  private readonly workspace: Workspace;
  /** files.getUploadURLExternal, the upload URL and files.completeUploadExternal. */
  readonly uploads: FileUploads;
  /** conversations.create, .invite, .setTopic and .archive. */
  private readonly channelManagement: ChannelManagement;

  constructor(private readonly options: WebApiOptions) {
    this.workspace = options.workspace;
    if (options.rateLimits !== false) this.limiter = new RateLimiter(slackRateLimits(options.rateLimits), options.rateLimitClock);
    this.uploads = new FileUploads(options.workspace);
    this.channelManagement = new ChannelManagement(options.workspace);
    const bot = (handler: MethodHandler): MethodSpec => ({ token: 'bot', handler });
    this.methods = {
      'auth.test': bot(() => this.authTest()),
      'chat.postMessage': bot((args) => this.postMessage(args)),
      'chat.postEphemeral': bot((args) => this.postEphemeral(args)),
      'chat.update': bot((args) => this.update(args)),
      'chat.delete': bot((args) => this.delete(args)),
      'chat.getPermalink': bot((args) => this.permalink(args)),
      'views.publish': bot((args) => this.publishView(args)),
      'users.info': bot((args) => this.userInfo(args)),
      'conversations.info': bot((args) => this.conversationInfo(args)),
      'conversations.history': bot((args) => this.history(args)),
      'conversations.open': bot((args) => this.conversationOpen(args)),
      'conversations.create': bot((args) => this.channelManagement.create(args)),
      'conversations.invite': bot((args) => this.channelManagement.invite(args)),
      'conversations.setTopic': bot((args) => this.channelManagement.setTopic(args)),
      'conversations.archive': bot((args) => this.channelManagement.archive(args)),
      'usergroups.users.list': bot((args) => this.userGroupUsers(args)),
      'files.getUploadURLExternal': bot((args) => this.uploads.getUploadUrl(args)),
      'files.completeUploadExternal': bot((args) => this.uploads.complete(args)),
      // Placeholder so the token check runs; the answer needs the request and is built in handle().
      'apps.connections.open': { token: 'app', handler: () => ({ ok: true }) },
    };
  }

  /** The next `count` calls of `method` answer HTTP 429 with `Retry-After: retryAfterS`. */
  rateLimitNext(method: string, count: number, retryAfterS: number): void {
    this.rateLimits.set(method, { remaining: count, retryAfterS });
  }

  /** How many calls were answered with 429, for one method or all. */
  rateLimitedCount(method?: string): number {
    if (method !== undefined) return this.rateLimitedCounts.get(method) ?? 0;
    return [...this.rateLimitedCounts.values()].reduce((sum, count) => sum + count, 0);
  }

  /** Where files.getUploadURLExternal sends uploads; set by the stand-in once it knows its URL. */
  set uploadBase(base: string) {
    this.uploads.uploadBase = base;
  }

  /** The console's URL, which chat.getPermalink's links open; set by the stand-in once it knows its URL. */
  permalinkBase = '';

  /** The file uploads' own endpoint (the URL files.getUploadURLExternal hands out). */
  handleUpload(req: IncomingMessage, res: ServerResponse, fileId: string): Promise<void> {
    return this.uploads.handleUpload(req, res, fileId);
  }

  async handle(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    let raw: Buffer;
    try {
      raw = await readBody(req);
    } catch (error) {
      if (error instanceof BodyTooLargeError) return sendJson(res, 413, { ok: false, error: 'request_too_large' });
      throw error;
    }
    const parsed = parseApiBody(req, raw);
    const query = Object.fromEntries(new URL(req.url ?? '/', 'http://stand-in').searchParams);
    const args: Record<string, unknown> = { ...query, ...parsed.args };
    const token = bearerToken(req) ?? (typeof args.token === 'string' ? args.token : undefined);
    delete args.token;

    const retryAfterS = this.rateLimitedFor(method, args);
    if (retryAfterS !== undefined) {
      this.rateLimitedCounts.set(method, (this.rateLimitedCounts.get(method) ?? 0) + 1);
      this.record(method, args, { ok: false, error: 'ratelimited' }, 429);
      return sendJson(res, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(retryAfterS) });
    }

    const answer = parsed.error ? fail(parsed.error) : this.answer(method, token, args, req);
    this.record(method, args, answer, 200);
    // Slack answers API errors with HTTP 200 and ok:false; only rate limits use a status code.
    sendJson(res, 200, answer);
  }

  /** Retry-After in seconds when this call is over a limit (a test's `rateLimitNext` first), else undefined. */
  private rateLimitedFor(method: string, args: Record<string, unknown>): number | undefined {
    const asked = this.rateLimits.get(method);
    if (asked && asked.remaining > 0) {
      asked.remaining -= 1;
      return asked.retryAfterS;
    }
    // Only the methods Slack has: an unknown one is answered unknown_method, never 429.
    if (!this.limiter || !this.methods[method]) return undefined;
    const channel = method === 'chat.postMessage' ? (this.resolveChannel(args.channel)?.id ?? String(args.channel)) : undefined;
    return this.limiter.take(method, channel)?.retryAfterS;
  }

  private answer(method: string, token: string | undefined, args: Record<string, unknown>, req: IncomingMessage): Answer {
    const spec = this.methods[method];
    if (!spec) return fail('unknown_method');
    if (!token) return fail('not_authed');
    const kind = this.tokenKind(token);
    if (!kind) return fail('invalid_auth');
    if (kind !== spec.token) return fail('not_allowed_token_type');
    if (method === 'apps.connections.open') return { ok: true, url: this.options.socketUrlFor(req) };
    return spec.handler(args);
  }

  private tokenKind(token: string): TokenKind | undefined {
    if (token === this.options.botToken) return 'bot';
    if (this.options.appToken !== undefined && token === this.options.appToken) return 'app';
    return undefined;
  }

  private record(method: string, args: Record<string, unknown>, answer: Answer, status: number): void {
    this.calls.push({ method, args, ok: answer.ok, ...(answer.ok ? {} : { error: answer.error }), status, at: Date.now() });
    const max = this.options.maxRecordedCalls ?? MAX_RECORDED_CALLS;
    if (this.calls.length > max) this.calls.splice(0, this.calls.length - max);
  }

  private authTest(): Answer {
    const { workspace } = this;
    return {
      ok: true,
      url: `https://${workspace.teamName.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.slack.com/`,
      team: workspace.teamName,
      user: workspace.bot.name,
      team_id: workspace.teamId,
      user_id: workspace.bot.userId,
      bot_id: workspace.bot.botId,
      is_enterprise_install: false,
    };
  }

  /** Resolves `channel` as Slack does: an ID, a name, or a user ID meaning the DM with them. */
  private resolveChannel(value: unknown): StandInChannel | undefined {
    if (typeof value !== 'string' || value === '') return undefined;
    if (/^[UW]/.test(value) && this.workspace.findUser(value)) return this.workspace.directChannelFor(value);
    return this.workspace.findChannel(value);
  }

  /** The checks chat.postMessage, chat.postEphemeral and chat.update share for text and blocks. */
  private messageContent(args: Record<string, unknown>, requireContent: boolean): { text: string; blocks?: unknown[] } | Answer {
    let blocks: unknown = args.blocks;
    if (typeof blocks === 'string') {
      try {
        blocks = JSON.parse(blocks);
      } catch {
        return fail('invalid_blocks_format');
      }
    }
    if (blocks !== undefined && !Array.isArray(blocks)) return fail('invalid_blocks_format');
    const text = typeof args.text === 'string' ? args.text : '';
    const hasBlocks = Array.isArray(blocks) && blocks.length > 0;
    if (requireContent && text === '' && !hasBlocks && args.attachments === undefined) return fail('no_text');
    if (text.length > BLOCK_KIT_LIMITS.messageText) return fail('msg_too_long');
    if (Array.isArray(blocks)) {
      const errors = validateBlocks(blocks, 'message');
      if (errors.length > 0) return fail('invalid_blocks', { errors, response_metadata: { messages: errors.map((message) => `[ERROR] ${message}`) } });
    }
    return { text, ...(Array.isArray(blocks) ? { blocks } : {}) };
  }

  private postMessage(args: Record<string, unknown>): Answer {
    const channel = this.resolveChannel(args.channel);
    if (!channel) return fail('channel_not_found');
    if (channel.archived) return fail('is_archived');
    if (channel.botIsMember === false) return fail('not_in_channel');
    const content = this.messageContent(args, true);
    if ('ok' in content) return content;
    const threadTs = typeof args.thread_ts === 'string' && args.thread_ts !== '' ? args.thread_ts : undefined;
    const { bot } = this.workspace;
    const message = this.workspace.post({ channel: channel.id, user: bot.userId, botId: bot.botId, ...content, ...(threadTs ? { threadTs } : {}) });
    return { ok: true, channel: channel.id, ts: message.ts, message: messageJson(message) };
  }

  /** Slack's permalink opens the message in Slack; the stand-in's opens it in the console. */
  private permalink(args: Record<string, unknown>): Answer {
    const channel = this.resolveChannel(args.channel);
    if (!channel) return fail('channel_not_found');
    const message = typeof args.message_ts === 'string' ? this.workspace.find(channel.id, args.message_ts) : undefined;
    if (!message || message.visibleTo !== undefined) return fail('message_not_found');
    const link = new URL(this.permalinkBase || 'http://stand-in.invalid/');
    link.searchParams.set('channel', channel.id);
    link.searchParams.set('message', message.ts);
    return { ok: true, channel: channel.id, permalink: link.toString() };
  }

  private postEphemeral(args: Record<string, unknown>): Answer {
    const channel = this.resolveChannel(args.channel);
    if (!channel) return fail('channel_not_found');
    if (typeof args.user !== 'string' || !this.workspace.findUser(args.user)) return fail('user_not_found');
    if (channel.botIsMember === false) return fail('not_in_channel');
    const content = this.messageContent(args, true);
    if ('ok' in content) return content;
    const threadTs = typeof args.thread_ts === 'string' && args.thread_ts !== '' ? args.thread_ts : undefined;
    const { bot } = this.workspace;
    const message = this.workspace.post({ channel: channel.id, user: bot.userId, botId: bot.botId, ...content, visibleTo: args.user, ...(threadTs ? { threadTs } : {}) });
    return { ok: true, message_ts: message.ts };
  }

  private update(args: Record<string, unknown>): Answer {
    const channel = this.resolveChannel(args.channel);
    if (!channel) return fail('channel_not_found');
    const existing = typeof args.ts === 'string' ? this.workspace.find(channel.id, args.ts) : undefined;
    // Ephemeral messages can only be replaced through their response_url, never by chat.update.
    if (!existing || existing.visibleTo !== undefined) return fail('message_not_found');
    if (existing.user !== this.workspace.bot.userId) return fail('cant_update_message');
    const content = this.messageContent(args, false);
    if ('ok' in content) return content;
    const updated = this.workspace.edit(channel.id, existing.ts, content, this.workspace.bot.userId)!;
    return { ok: true, channel: channel.id, ts: updated.ts, text: updated.text, message: messageJson(updated) };
  }

  private delete(args: Record<string, unknown>): Answer {
    const channel = this.resolveChannel(args.channel);
    if (!channel) return fail('channel_not_found');
    const existing = typeof args.ts === 'string' ? this.workspace.find(channel.id, args.ts) : undefined;
    if (!existing || existing.visibleTo !== undefined) return fail('message_not_found');
    if (existing.user !== this.workspace.bot.userId) return fail('cant_delete_message');
    this.workspace.remove(channel.id, existing.ts);
    return { ok: true, channel: channel.id, ts: existing.ts };
  }

  private publishView(args: Record<string, unknown>): Answer {
    if (typeof args.user_id !== 'string' || !this.workspace.findUser(args.user_id)) return fail('user_not_found');
    let view: unknown = args.view;
    if (typeof view === 'string') {
      try {
        view = JSON.parse(view);
      } catch {
        return fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] view must be a JSON object [json-pointer:/view]'] } });
      }
    }
    if (typeof view !== 'object' || view === null || Array.isArray(view)) {
      return fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: view [json-pointer:/view]'] } });
    }
    const body = view as Record<string, unknown>;
    const problems: string[] = [];
    if (body.type !== 'home') problems.push(`view type must be "home" for views.publish, got ${JSON.stringify(body.type)} [json-pointer:/view/type]`);
    if (typeof body.private_metadata === 'string' && body.private_metadata.length > 3000) problems.push('private_metadata must be at most 3000 characters [json-pointer:/view/private_metadata]');
    if (typeof body.callback_id === 'string' && body.callback_id.length > 255) problems.push('callback_id must be at most 255 characters [json-pointer:/view/callback_id]');
    problems.push(...validateBlocks(body.blocks, 'view').map((message) => message.replace('[json-pointer:/blocks', '[json-pointer:/view/blocks')));
    // Slack reports view problems as invalid_arguments, not invalid_blocks.
    if (problems.length > 0) return fail('invalid_arguments', { response_metadata: { messages: problems.map((message) => `[ERROR] ${message}`) } });
    const home = this.workspace.publishHome(args.user_id, body);
    return { ok: true, view: { id: home.id, team_id: this.workspace.teamId, ...body, bot_id: this.workspace.bot.botId, app_id: this.workspace.bot.appId } };
  }

  private userInfo(args: Record<string, unknown>): Answer {
    const user = typeof args.user === 'string' ? this.workspace.findUser(args.user) : undefined;
    if (!user) return fail('user_not_found');
    return {
      ok: true,
      user: {
        id: user.id,
        team_id: this.workspace.teamId,
        name: user.name,
        real_name: user.realName,
        is_bot: user.isBot === true,
        deleted: user.deleted === true,
        tz: 'Etc/UTC',
        profile: { display_name: user.name, real_name: user.realName, title: user.roleLabel },
      },
    };
  }

  private conversationInfo(args: Record<string, unknown>): Answer {
    const channel = typeof args.channel === 'string' ? this.workspace.findChannel(args.channel) : undefined;
    // conversations.info takes IDs only; a name is a channel_not_found, as in Slack.
    if (!channel || channel.id !== args.channel) return fail('channel_not_found');
    return { ok: true, channel: channelJson(this.workspace, channel) };
  }

  /**
   * conversations.history as Slack answers a bot: a channel ID (a name is channel_not_found), only
   * where the bot is a member (not_in_channel), newest first, `latest`/`oldest` as message
   * timestamps (exclusive unless `inclusive`), `limit` 1 to 999 (default 100). Top-level messages
   * only, as Slack lists them: thread replies are conversations.replies', ephemeral ones nobody's.
   */
  private history(args: Record<string, unknown>): Answer {
    const channel = typeof args.channel === 'string' ? this.workspace.findChannel(args.channel) : undefined;
    if (!channel || channel.id !== args.channel) return fail('channel_not_found');
    if (!this.workspace.isMember(channel, this.workspace.bot.userId)) return fail('not_in_channel');
    const bound = (name: 'latest' | 'oldest'): bigint | undefined | 'invalid' => {
      const value = args[name];
      if (value === undefined || value === '') return undefined;
      const text = typeof value === 'number' ? String(value) : value;
      return typeof text === 'string' && /^[0-9]{1,12}(\.[0-9]{1,6})?$/.test(text) ? microseconds(text) : 'invalid';
    };
    const latest = bound('latest');
    if (latest === 'invalid') return fail('invalid_ts_latest');
    const oldest = bound('oldest');
    if (oldest === 'invalid') return fail('invalid_ts_oldest');
    const limitValue = args.limit === undefined || args.limit === '' ? 100 : Number(args.limit);
    if (!Number.isInteger(limitValue)) return fail('invalid_limit');
    const limit = Math.min(Math.max(limitValue, 1), 999);
    const inclusive = args.inclusive === true || args.inclusive === 'true' || args.inclusive === '1' || args.inclusive === 1;
    const inRange = (ts: bigint) =>
      (latest === undefined || ts < latest || (inclusive && ts === latest)) && (oldest === undefined || ts > oldest || (inclusive && ts === oldest));
    const listed = this.workspace.channelMessages(channel.id).filter((message) => inRange(microseconds(message.ts))).reverse();
    const page = listed.slice(0, limit);
    return { ok: true, messages: page.map(messageJson), has_more: listed.length > page.length, pin_count: 0 };
  }

  /** A DM with one person, as Slack opens it for a bot: never with a bot or a deactivated account. */
  private conversationOpen(args: Record<string, unknown>): Answer {
    if (typeof args.channel === 'string' && args.channel !== '') {
      const channel = this.workspace.findChannel(args.channel);
      return channel && channel.id.startsWith('D') ? { ok: true, channel: { id: channel.id } } : fail('channel_not_found');
    }
    const users = typeof args.users === 'string' ? args.users.split(',').filter((user) => user !== '') : [];
    if (users.length === 0) return fail('users_list_not_supplied');
    // Several users open a group DM, which the bot never asks for; the stand-in plays one-to-one DMs only.
    if (users.length > 1) return fail('not_implemented_in_stand_in');
    const user = this.workspace.findUser(users[0]!);
    if (!user) return fail('user_not_found');
    if (user.deleted) return fail('user_disabled');
    if (user.isBot) return fail('cannot_dm_bot');
    const channel = this.workspace.directChannelFor(user.id);
    return { ok: true, channel: { id: channel.id } };
  }

  private userGroupUsers(args: Record<string, unknown>): Answer {
    if (typeof args.usergroup !== 'string' || args.usergroup === '') {
      return fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: usergroup'] } });
    }
    const group = this.workspace.findUserGroup(args.usergroup);
    if (!group) return fail('no_such_subteam');
    return { ok: true, users: [...group.users] };
  }
}

function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  return match?.[1];
}
