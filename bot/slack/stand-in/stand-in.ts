/**
 * The Slack stand-in: Slack's Web API, response_url endpoints and Socket Mode server on one HTTP
 * listener, plus a driver that plays Slack's side towards the bot (slash commands, button clicks,
 * mentions, App Home) over HTTP or Socket Mode. The console (bot/slack/console) is served next to
 * it. It only plays Slack: nothing here knows what the bot's commands do.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { CONSOLE_TOKEN_PARAM, newConsoleToken } from '../console/console-access.js';
import { assertConsoleHost } from '../console/console-exposure.js';
import { createConsoleHandler, type ConsoleAuthFailure, type ConsoleHandler } from '../console/console-routes.js';
import { sendJson } from './http-io.js';
import { deliverOverHttp, type HttpBotAnswer, type HttpDeliveryOptions } from './http-delivery.js';
import {
  appHomeOpenedEvent,
  appMentionEvent,
  reactionAddedEvent,
  eventEnvelope,
  findButton,
  homeBlockActions,
  messageBlockActions,
  slashCommandForm,
  type ButtonElement,
} from './payloads.js';
import { ResponseUrls, type ResponseOutcome, type ResponsePayload } from './response-urls.js';
import { SocketModeServer, type EnvelopeType, type SocketAck } from './socket-mode-server.js';
import type { RateLimitOverrides } from './rate-limits.js';
import { WebApi, type ApiCall } from './web-api.js';
import { Workspace, type HomeView, type StandInChannel, type StandInFile, type StandInMessage, type StandInUser, type WorkspaceSeed } from './workspace.js';

export interface SlackStandInOptions {
  botToken: string;
  /** An `xapp-` token; enables apps.connections.open and Socket Mode delivery. */
  appToken?: string;
  /** Needed to deliver over HTTP: every request to the bot is signed with it. */
  signingSecret?: string;
  /** The bot's Bolt endpoint, for example `http://127.0.0.1:3000/slack/events`. */
  botEventsUrl?: string;
  /** How the driver reaches the bot; defaults to `http` when botEventsUrl is set, `socket` otherwise. */
  transport?: 'http' | 'socket';
  /** The URL the stand-in is reachable at when it is mounted in another server (response_urls point there). */
  publicUrl?: string;
  workspace?: WorkspaceSeed;
  /** How long the driver waits for a Socket Mode ack (Slack gives up after 3 s and retries). */
  ackTimeoutMs?: number;
  /** Serves the console at `/`; on by default. */
  console?: boolean;
  /** The token the console's page and API require; a fresh random one when not given. */
  consoleToken?: string;
  /** A console page opened with a wrong token, or an API call without it: for the bot's trail (bot/audit-trail/auth-failures.ts). */
  onConsoleAuthFailure?: ConsoleAuthFailure;
  /** Interval of the Socket Mode server's pings. */
  socketPingIntervalMs?: number;
  /** Messages kept per channel, oldest dropped first (default MAX_MESSAGES_PER_CHANNEL). */
  maxMessagesPerChannel?: number;
  /** Web API calls kept for `calls()`, oldest dropped first (default MAX_RECORDED_CALLS). */
  maxRecordedCalls?: number;
  /** Slack's rate limits (SLACK_RATE_LIMITS in rate-limits.ts) with these replaced, or `false` for none. */
  rateLimits?: RateLimitOverrides | false;
  /** The clock the rate limits count with, in milliseconds (performance.now by default). */
  rateLimitClock?: () => number;
}

/** Options for one delivery to the bot; HTTP-only switches are ignored in Socket Mode. */
export interface DeliveryOptions extends HttpDeliveryOptions {}

/** What the bot answered to one delivery. */
export interface BotReply {
  transport: 'http' | 'socket';
  /** The HTTP status, or 200 when a Socket Mode envelope was acked. */
  status: number;
  /** The HTTP body (parsed when JSON) or the ack's payload. */
  body: unknown;
  /** HTTP only: the raw body and headers. */
  text?: string;
  headers?: Record<string, string>;
  envelopeId?: string;
  /** The message a slash command's immediate reply (its ack body) produced, if any. */
  immediateReply?: StandInMessage;
  /** Set when Slack would have refused the ack body (for example invalid blocks). */
  immediateReplyError?: { error: string; errors?: string[] };
  /** Sends the identical request or envelope again, optionally marked as Slack's retry. */
  redeliver(options?: DeliveryOptions): Promise<BotReply>;
}

export interface SlashCommandInput {
  userId?: string;
  channelId?: string;
  text: string;
  command?: string;
  /** Replaces any form field Slack would send (team_id, api_app_id, ...). */
  overrides?: Record<string, string>;
}

export interface ClickButtonInput {
  userId?: string;
  actionId: string;
  blockId?: string;
  /** Click in a channel message; without messageTs the newest message holding the button. */
  channelId?: string;
  messageTs?: string;
  /** Click in the clicking user's App Home instead of a message. */
  home?: boolean;
}

export interface MentionInput {
  userId?: string;
  channelId?: string;
  text: string;
  threadTs?: string;
}

export interface ReactionInput {
  userId?: string;
  channelId?: string;
  /** The message reacted to. */
  ts: string;
  /** The emoji's name without colons (`pushpin`), as Slack names it. */
  reaction: string;
}

export interface MessagesQuery {
  /** Include ephemeral messages this user sees. */
  includeEphemeralFor?: string;
}

type Delivery =
  | { transport: 'http'; body: string; contentType: string }
  | { transport: 'socket'; type: EnvelopeType; payload: unknown; envelopeId?: string };

/** What Slack answers a person's action with (reactions.add's `already_reacted`), as the error's message. */
export class SlackRefusal extends Error {
  override readonly name = 'SlackRefusal';
}

export class SlackStandIn {
  readonly workspace: Workspace;
  readonly webApi: WebApi;
  readonly responseUrls: ResponseUrls;
  readonly socketMode: SocketModeServer;
  private readonly consoleHandler?: ConsoleHandler;
  /** What the console's page and API require: only the link that holds it lets a browser in. */
  readonly consoleToken: string;
  private server?: Server;
  private baseUrl: string;
  private botEventsUrl: string | undefined;

  constructor(private readonly options: SlackStandInOptions) {
    this.workspace = new Workspace(options.workspace, options.maxMessagesPerChannel);
    this.socketMode = new SocketModeServer(this.workspace.bot.appId, options.socketPingIntervalMs);
    this.webApi = new WebApi({
      workspace: this.workspace,
      botToken: options.botToken,
      ...(options.appToken === undefined ? {} : { appToken: options.appToken }),
      socketUrlFor: (req) => this.socketMode.issueUrl(`ws://${req.headers.host ?? new URL(this.url).host}`),
      ...(options.maxRecordedCalls === undefined ? {} : { maxRecordedCalls: options.maxRecordedCalls }),
      ...(options.rateLimits === undefined ? {} : { rateLimits: options.rateLimits }),
      ...(options.rateLimitClock === undefined ? {} : { rateLimitClock: options.rateLimitClock }),
    });
    this.responseUrls = new ResponseUrls(this.workspace);
    this.baseUrl = options.publicUrl?.replace(/\/$/, '') ?? '';
    this.botEventsUrl = options.botEventsUrl;
    this.webApi.uploadBase = this.baseUrl === '' ? '' : `${this.baseUrl}/api/_upload/`;
    this.webApi.permalinkBase = this.baseUrl === '' ? '' : `${this.baseUrl}/`;
    this.consoleToken = options.consoleToken ?? newConsoleToken();
    if (options.console !== false) this.consoleHandler = createConsoleHandler(this, { token: this.consoleToken, ...(options.onConsoleAuthFailure ? { onAuthFailure: options.onConsoleAuthFailure } : {}) });
  }

  /** The stand-in's base URL (also the console's). */
  get url(): string {
    if (this.baseUrl === '') throw new Error('the stand-in has no URL yet: call listen() or pass publicUrl');
    return this.baseUrl;
  }

  /** The link that opens the console (it sets the token cookie): what `npm start` prints. */
  get consoleUrl(): string {
    return `${this.url}/?${CONSOLE_TOKEN_PARAM}=${this.consoleToken}`;
  }

  /** What the bot's WebClient uses as `slackApiUrl` (`SLACK_API_URL`). */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /** Tells where a mounted stand-in is reachable, once the host server knows its port. */
  setPublicUrl(url: string): void {
    this.baseUrl = url.replace(/\/$/, '');
    this.webApi.uploadBase = `${this.baseUrl}/api/_upload/`;
    this.webApi.permalinkBase = `${this.baseUrl}/`;
  }

  /** Points HTTP deliveries at the bot once its port is known. */
  setBotEventsUrl(url: string): void {
    this.botEventsUrl = url;
  }

  /** True for the paths the stand-in answers when mounted inside another server. */
  ownsPath(pathname: string): boolean {
    if (pathname.startsWith('/api/') || pathname.startsWith('/response/') || pathname === '/socket') return true;
    return this.consoleHandler !== undefined && (pathname === '/' || pathname === '/console' || pathname.startsWith('/console/'));
  }

  /** A node:http request listener for the stand-in's paths; answers 404 for any other. */
  readonly requestListener = (req: IncomingMessage, res: ServerResponse): void => {
    this.route(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: 'internal_error', detail: (error as Error).message });
      else res.destroy();
    });
  };

  /** A node:http `upgrade` handler: accepts Socket Mode connections on `/socket`. */
  readonly upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = new URL(req.url ?? '/', 'http://stand-in').pathname;
    if (pathname === '/socket') this.socketMode.handleUpgrade(req, socket, head);
    else socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  };

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pathname = new URL(req.url ?? '/', 'http://stand-in').pathname;
    if (pathname.startsWith('/api/_upload/')) return this.webApi.handleUpload(req, res, pathname.slice('/api/_upload/'.length));
    if (pathname.startsWith('/api/')) return this.webApi.handle(req, res, decodeURIComponent(pathname.slice('/api/'.length)));
    if (pathname.startsWith('/response/')) return this.responseUrls.handle(req, res, pathname.slice('/response/'.length));
    if (this.consoleHandler && this.ownsPath(pathname)) return this.consoleHandler(req, res, pathname);
    sendJson(res, 404, { ok: false, error: 'not_found' });
  }

  /** Listens on its own server (port 0 picks a free one), on loopback unless told otherwise. */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.consoleHandler) assertConsoleHost(host);
    const server = createServer(this.requestListener);
    server.on('upgrade', this.upgrade);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    const address = server.address() as AddressInfo;
    this.setPublicUrl(`http://${host.includes(':') ? `[${host}]` : host}:${address.port}`);
    return this.url;
  }

  async close(): Promise<void> {
    this.consoleHandler?.close();
    await this.socketMode.close();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // --- playing Slack towards the bot ---------------------------------------------------------

  private get transport(): 'http' | 'socket' {
    return this.options.transport ?? (this.botEventsUrl ? 'http' : 'socket');
  }

  private user(id: string | undefined): StandInUser {
    const userId = id ?? 'U0ONCALL';
    const user = this.workspace.findUser(userId);
    if (!user) throw new Error(`no user ${userId} in the stand-in's workspace`);
    return user;
  }

  private channel(id: string | undefined): StandInChannel {
    const channel = id === undefined ? this.workspace.listChannels()[0] : this.workspace.findChannel(id);
    if (!channel) throw new Error(`no channel ${id ?? '(default)'} in the stand-in's workspace`);
    return channel;
  }

  async slashCommand(input: SlashCommandInput, options: DeliveryOptions = {}): Promise<BotReply> {
    const user = this.user(input.userId);
    const channel = this.channel(input.channelId);
    const target = { channel: channel.id, userId: user.id };
    const responseUrl = this.responseUrls.create(this.url, target);
    const form = { ...slashCommandForm(this.workspace, { user, channel, command: input.command ?? '/acgs', text: input.text, responseUrl }), ...input.overrides };
    const delivery: Delivery =
      this.transport === 'http'
        ? { transport: 'http', body: new URLSearchParams(form).toString(), contentType: 'application/x-www-form-urlencoded' }
        : { transport: 'socket', type: 'slash_commands', payload: form };
    return this.deliver(delivery, options, (reply) => this.applyImmediateReply(reply, target));
  }

  async clickButton(input: ClickButtonInput, options: DeliveryOptions = {}): Promise<BotReply> {
    const user = this.user(input.userId);
    let payload: unknown;
    if (input.home) {
      const home = this.workspace.home(user.id);
      const button = home && findButton(home.view.blocks as unknown[] | undefined, input.actionId, input.blockId);
      if (!home || !button) throw new Error(`no button ${input.actionId} in ${user.id}'s App Home`);
      payload = homeBlockActions(this.workspace, { user, viewId: home.id, view: home.view, button });
    } else {
      const channel = this.channel(input.channelId);
      const { message, button } = this.findClickable(channel.id, user.id, input);
      const responseUrl = this.responseUrls.create(this.url, { channel: channel.id, userId: user.id, originalTs: message.ts });
      payload = messageBlockActions(this.workspace, { user, channel, message, button, responseUrl });
    }
    const delivery: Delivery =
      this.transport === 'http'
        ? { transport: 'http', body: new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), contentType: 'application/x-www-form-urlencoded' }
        : { transport: 'socket', type: 'interactive', payload };
    return this.deliver(delivery, options);
  }

  private findClickable(channelId: string, userId: string, input: ClickButtonInput): { message: StandInMessage; button: ButtonElement } {
    const candidates = input.messageTs !== undefined ? [this.workspace.find(channelId, input.messageTs)] : this.visibleMessages(channelId, userId).reverse();
    for (const message of candidates) {
      if (!message || (message.visibleTo !== undefined && message.visibleTo !== userId)) continue;
      const button = findButton(message.blocks, input.actionId, input.blockId);
      if (button) return { message, button };
    }
    throw new Error(`no button ${input.actionId} that ${userId} can see in ${channelId}${input.messageTs ? ` message ${input.messageTs}` : ''}`);
  }

  /** Every message of a channel a person sees, thread replies included, oldest first. */
  private visibleMessages(channelId: string, userId: string): StandInMessage[] {
    return this.workspace.allMessages(channelId, userId);
  }

  /**
   * A person posts a message. When it mentions the bot (`<@BOTID>`), Slack sends app_mention.
   * Returns the stored message and, for a mention, the bot's reply to the event delivery.
   */
  async postUserMessage(input: MentionInput, options: DeliveryOptions = {}): Promise<{ message: StandInMessage; reply?: BotReply }> {
    const user = this.user(input.userId);
    const channel = this.channel(input.channelId);
    const message = this.workspace.post({ channel: channel.id, user: user.id, text: input.text, ...(input.threadTs ? { threadTs: input.threadTs } : {}) });
    if (!input.text.includes(`<@${this.workspace.bot.userId}>`)) return { message };
    const reply = await this.deliverEvent(appMentionEvent(message), options);
    return { message, reply };
  }

  /** A person mentions the bot; the mention is added when the text lacks it. */
  async mention(input: MentionInput, options: DeliveryOptions = {}): Promise<BotReply> {
    const tag = `<@${this.workspace.bot.userId}>`;
    const text = input.text.includes(tag) ? input.text : `${tag} ${input.text}`;
    const { reply } = await this.postUserMessage({ ...input, text }, options);
    return reply!;
  }

  /**
   * A person adds an emoji reaction to a message, refused as Slack's reactions.add refuses it
   * (`invalid_name`, `message_not_found` for an unknown or ephemeral message, `channel_not_found`
   * where the person is not a member, `already_reacted`). Slack then sends `reaction_added` only
   * to an app in the channel: the bot's reply, or undefined when nothing was sent.
   */
  async addReaction(input: ReactionInput, options: DeliveryOptions = {}): Promise<BotReply | undefined> {
    const user = this.user(input.userId);
    const channel = this.channel(input.channelId);
    if (!/^[a-z0-9_+'-]{1,100}(::skin-tone-[2-6])?$/.test(input.reaction)) throw new SlackRefusal('invalid_name');
    if (!this.workspace.isMember(channel, user.id)) throw new SlackRefusal('channel_not_found');
    const message = this.workspace.find(channel.id, input.ts);
    if (!message || message.visibleTo !== undefined) throw new SlackRefusal('message_not_found');
    const reactions = (message.reactions ??= []);
    const existing = reactions.find((reaction) => reaction.name === input.reaction);
    if (existing?.users.includes(user.id)) throw new SlackRefusal('already_reacted');
    if (existing) existing.users.push(user.id);
    else reactions.push({ name: input.reaction, users: [user.id] });
    if (!this.workspace.isMember(channel, this.workspace.bot.userId)) return undefined;
    return this.deliverEvent(reactionAddedEvent({ user: user.id, reaction: input.reaction, message, eventTs: this.workspace.nextTs() }), options);
  }

  /** A person opens the App Home tab (app_home_opened). */
  async openHome(userId: string, options: DeliveryOptions = {}): Promise<BotReply> {
    this.user(userId);
    return this.deliverEvent(appHomeOpenedEvent(this.workspace, userId), options);
  }

  /** Sends any Events API event, wrapped in an event_callback envelope. */
  async deliverEvent(event: Record<string, unknown>, options: DeliveryOptions = {}): Promise<BotReply> {
    const envelope = eventEnvelope(this.workspace, event);
    const delivery: Delivery =
      this.transport === 'http'
        ? { transport: 'http', body: JSON.stringify(envelope), contentType: 'application/json' }
        : { transport: 'socket', type: 'events_api', payload: envelope };
    return this.deliver(delivery, options);
  }

  private async deliver(delivery: Delivery, options: DeliveryOptions, afterReply?: (reply: BotReply) => void): Promise<BotReply> {
    let reply: BotReply;
    if (delivery.transport === 'http') {
      const { botEventsUrl } = this;
      const { signingSecret } = this.options;
      if (!botEventsUrl || !signingSecret) throw new Error('HTTP delivery needs botEventsUrl and signingSecret');
      const answer: HttpBotAnswer = await deliverOverHttp(botEventsUrl, signingSecret, delivery, options);
      reply = {
        transport: 'http',
        status: answer.status,
        body: answer.json ?? answer.text,
        text: answer.text,
        headers: answer.headers,
        redeliver: (again) => this.deliver(delivery, again ?? {}, afterReply),
      };
    } else {
      const ack: SocketAck = await this.socketMode.send(delivery.type, delivery.payload, {
        ...(delivery.envelopeId ? { envelopeId: delivery.envelopeId } : {}),
        ...(options.retry ? { retryAttempt: options.retry.num, retryReason: options.retry.reason ?? 'timeout' } : {}),
        ...(this.options.ackTimeoutMs === undefined ? {} : { ackTimeoutMs: this.options.ackTimeoutMs }),
      });
      const sameEnvelope: Delivery = { ...delivery, envelopeId: ack.envelopeId };
      reply = { transport: 'socket', status: 200, body: ack.payload, envelopeId: ack.envelopeId, redeliver: (again) => this.deliver(sameEnvelope, again ?? {}, afterReply) };
    }
    afterReply?.(reply);
    return reply;
  }

  /** Slack shows a slash command's ack body as a reply: ephemeral unless it says in_channel. */
  private applyImmediateReply(reply: BotReply, target: { channel: string; userId: string }): void {
    if (reply.status !== 200) return;
    let payload: ResponsePayload | undefined;
    if (typeof reply.body === 'object' && reply.body !== null) payload = reply.body as ResponsePayload;
    else if (typeof reply.body === 'string' && reply.body.trim() !== '') payload = { text: reply.body };
    if (!payload || (payload.text === undefined && payload.blocks === undefined)) return;
    const outcome: ResponseOutcome = this.responseUrls.apply(target, { ...payload, replace_original: false, delete_original: false });
    if (outcome.ok) {
      if (outcome.message) reply.immediateReply = outcome.message;
    } else {
      reply.immediateReplyError = { error: outcome.error, ...(outcome.errors ? { errors: outcome.errors } : {}) };
    }
  }

  // --- what tests read -----------------------------------------------------------------------

  /** Top-level messages of a channel, oldest first; ephemeral ones only for the given person. */
  messages(channelId: string, query: MessagesQuery = {}): StandInMessage[] {
    return this.workspace.channelMessages(this.channel(channelId).id, query.includeEphemeralFor);
  }

  /** A thread: the parent, then its replies. */
  thread(channelId: string, ts: string, viewer?: string): StandInMessage[] {
    return this.workspace.threadMessages(this.channel(channelId).id, ts, viewer);
  }

  /** A file shared through files.completeUploadExternal, with its bytes while they are kept. */
  file(fileId: string): StandInFile | undefined {
    return this.workspace.findFile(fileId);
  }

  home(userId: string): HomeView | undefined {
    return this.workspace.home(userId);
  }

  /** The Web API calls the bot made, oldest first; only one method's when given. */
  calls(method?: string): ApiCall[] {
    return method === undefined ? [...this.webApi.calls] : this.webApi.calls.filter((call) => call.method === method);
  }

  rateLimitNext(method: string, count: number, retryAfterS: number): void {
    this.webApi.rateLimitNext(method, count, retryAfterS);
  }

  rateLimitedCount(method?: string): number {
    return this.webApi.rateLimitedCount(method);
  }

  /**
   * Waits until `check` returns something other than undefined/false/null, re-checking on every
   * workspace change and Web API call; rejects with `what` after `timeoutMs`.
   */
  async waitFor<T>(check: () => T | undefined | null | false, timeoutMs = 5000, what = 'the condition'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined && value !== null && value !== false) return value;
      if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.workspace.off('change', done);
          resolve();
        };
        // Web API calls that change nothing (errors) do not emit; a short poll covers them.
        const timer = setTimeout(done, Math.min(25, Math.max(0, deadline - Date.now())));
        this.workspace.on('change', done);
      });
    }
  }
}

/** Creates a stand-in without listening: mount its requestListener and upgrade in another server. */
export function createSlackStandIn(options: SlackStandInOptions): SlackStandIn {
  return new SlackStandIn(options);
}

/** Creates a stand-in and listens on loopback (port 0: a free port). */
export async function startSlackStandIn(options: SlackStandInOptions & { port?: number; host?: string }): Promise<SlackStandIn> {
  const standIn = new SlackStandIn(options);
  await standIn.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  return standIn;
}
