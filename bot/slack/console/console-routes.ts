/**
 * The local Slack console's server side: the page and its ES modules (plain files, no build
 * step), a small JSON API over the stand-in's workspace, and Server-Sent Events announcing every
 * change. What a person does in the console (a slash command, a message, a click) goes to the bot
 * through the stand-in's driver, so the bot sees exactly what Slack would send.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { readBody, sendJson } from '../stand-in/http-io.js';
import type { HomeView, StandInMessage, Workspace, WorkspaceChange } from '../stand-in/workspace.js';
import { CONSOLE_TOKEN_PARAM, createConsoleAccess, type AccessRefusal } from './console-access.js';

/** What the console needs from the stand-in (SlackStandIn provides it). */
export interface ConsoleBackend {
  readonly workspace: Workspace;
  /** Where the console is served (`http://127.0.0.1:<port>`); read per request, as it is known late when mounted. */
  readonly url: string;
  slashCommand(input: { userId: string; channelId: string; text: string; command: string }): Promise<{ status: number; immediateReplyError?: { error: string; errors?: string[] } }>;
  clickButton(input: { userId: string; actionId: string; blockId?: string; channelId?: string; messageTs?: string; home?: boolean }): Promise<{ status: number }>;
  postUserMessage(input: { userId: string; channelId: string; text: string; threadTs?: string }): Promise<{ reply?: { status: number } }>;
  openHome(userId: string): Promise<{ status: number }>;
}

export type ConsoleHandler = ((req: IncomingMessage, res: ServerResponse, pathname: string) => Promise<void>) & { close(): void };

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};
/** The page may load only its own files; nothing inline, nothing from elsewhere. */
const CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/** The pages are served only through the routes that check the token; the files route serves the rest. */
const PAGES = new Set(['index.html', 'sign-in.html']);

/** Uploaded files the console shows inline; anything else is listed by name only, never served. */
const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif']);

/** The only commands this workspace has installed (the manifest's). */
const KNOWN_COMMANDS = new Set(['/acgs']);

const UserId = z.string().regex(/^[UW][A-Z0-9]{2,20}$/, 'must be a user ID');
const ChannelId = z.string().regex(/^[CGD][A-Z0-9]{2,20}$/, 'must be a channel ID');
const Ts = z.string().regex(/^\d{10}\.\d{6}$/, 'must be a message ts such as 1700000000.000100');

const ComposeBody = z.strictObject({
  as: UserId,
  channel: ChannelId,
  text: z.string().trim().min(1, 'type a message or /acgs ...').max(40_000),
  threadTs: Ts.optional(),
});
const ClickBody = z.strictObject({
  as: UserId,
  actionId: z.string().min(1).max(255),
  blockId: z.string().max(255).optional(),
  channel: ChannelId.optional(),
  messageTs: Ts.optional(),
  home: z.boolean().optional(),
});
const OpenHomeBody = z.strictObject({ as: UserId });

function loadPublicFiles(): Map<string, { body: Buffer; type: string }> {
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(PUBLIC_DIR)) {
    const type = CONTENT_TYPES[extname(name)];
    if (type) files.set(name, { body: readFileSync(join(PUBLIC_DIR, name)), type });
  }
  return files;
}

/** A request refused for the console token (a wrong one in the URL, none on an API call). */
export type ConsoleAuthFailure = (attempt: { reason: string; remoteAddress: string | undefined }) => void;

export function createConsoleHandler(backend: ConsoleBackend, options: { token: string; onAuthFailure?: ConsoleAuthFailure }): ConsoleHandler {
  // Read once: the set of files is fixed, so no request path ever reaches the file system.
  const files = loadPublicFiles();
  const access = createConsoleAccess({ token: options.token, ownUrl: () => backend.url });
  const streams = new Set<ServerResponse>();
  const { workspace } = backend;
  const onChange = (change: WorkspaceChange) => {
    const frame = `event: change\ndata: ${JSON.stringify(change)}\n\n`;
    for (const stream of streams) stream.write(frame);
  };
  workspace.on('change', onChange);
  // A fixed-rate keep-alive write, not a periodic job: nothing to wait for, nothing that can fail.
  const heartbeat = setInterval(() => {
    for (const stream of streams) stream.write(': keep-alive\n\n');
  }, 15_000);
  heartbeat.unref();

  const serveFile = (res: ServerResponse, name: string, status = 200, headers: Record<string, string> = {}) => {
    const file = files.get(name);
    if (!file) return sendJson(res, 404, { ok: false, error: 'not_found' });
    // no-referrer: the page's URL may still hold the token when it loads its files.
    res.writeHead(status, { 'content-type': file.type, 'content-length': file.body.length, 'cache-control': 'no-cache', 'content-security-policy': CONTENT_SECURITY_POLICY, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer', ...headers });
    res.end(file.body);
  };
  const refuse = (req: IncomingMessage, res: ServerResponse, refusal: AccessRefusal) => {
    // Nothing of a refused request is read or passed on; the body is drained only to close cleanly.
    req.resume();
    return sendJson(res, 403, { ok: false, error: `Forbidden: ${refusal.message}` }, { 'referrer-policy': 'no-referrer' });
  };

  /**
   * The page: with the token in the URL (the link npm start printed) it sets the cookie and opens;
   * with the cookie it opens; otherwise a page that says how to get in, not a bare 403.
   */
  const servePage = (req: IncomingMessage, res: ServerResponse, query: URLSearchParams) => {
    const token = query.get(CONSOLE_TOKEN_PARAM);
    if (token !== null) {
      if (!access.isToken(token)) {
        options.onAuthFailure?.({ reason: 'the console page opened with a token that is not this start\'s', remoteAddress: req.socket.remoteAddress });
        return serveFile(res, 'sign-in.html', 403, { 'cache-control': 'no-store' });
      }
      return serveFile(res, 'index.html', 200, { 'cache-control': 'no-store', 'set-cookie': access.cookie() });
    }
    if (access.hasTokenCookie(req)) return serveFile(res, 'index.html');
    return serveFile(res, 'sign-in.html', 403, { 'cache-control': 'no-store' });
  };

  const handler = async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> => {
    const query = new URL(req.url ?? '/', 'http://console').searchParams;
    const source = access.checkSource(req);
    if (source) return refuse(req, res, source);
    const isPage = pathname === '/' || pathname === '/console' || pathname === '/console/';
    if (isPage && req.method === 'GET') return servePage(req, res, query);
    if (pathname.startsWith('/console/api/')) {
      const call = access.checkApiCall(req);
      if (call?.reason === 'token') options.onAuthFailure?.({ reason: 'a console API call without this start\'s token', remoteAddress: req.socket.remoteAddress });
      if (call) return refuse(req, res, call);
    }
    if (req.method === 'GET') {
      if (pathname === '/console/api/workspace') return sendJson(res, 200, describeWorkspace(workspace));
      if (pathname === '/console/api/messages') {
        const channel = ChannelId.safeParse(query.get('channel'));
        if (!channel.success || !workspace.findChannel(channel.data)) return sendJson(res, 404, { ok: false, error: 'channel_not_found' });
        const viewer = query.get('as') ?? undefined;
        return sendJson(res, 200, { messages: workspace.channelMessages(channel.data, viewer).map((message) => messageView(workspace, message)) });
      }
      if (pathname === '/console/api/thread') {
        const channel = ChannelId.safeParse(query.get('channel'));
        const ts = Ts.safeParse(query.get('ts'));
        if (!channel.success || !ts.success) return sendJson(res, 400, { ok: false, error: 'channel and ts are required' });
        const viewer = query.get('as') ?? undefined;
        return sendJson(res, 200, { messages: workspace.threadMessages(channel.data, ts.data, viewer).map((message) => messageView(workspace, message)) });
      }
      if (pathname === '/console/api/home') {
        const home: HomeView | undefined = workspace.home(query.get('as') ?? '');
        return sendJson(res, 200, { view: home ? { id: home.id, blocks: home.view.blocks ?? [] } : null });
      }
      if (pathname.startsWith('/console/api/files/')) {
        const file = workspace.findFile(decodeURIComponent(pathname.slice('/console/api/files/'.length)));
        if (!file?.bytes || !INLINE_IMAGE_TYPES.has(file.mimetype)) return sendJson(res, 404, { ok: false, error: 'file_not_found' });
        res.writeHead(200, { 'content-type': file.mimetype, 'content-length': file.bytes.length, 'cache-control': 'private, max-age=3600', 'content-security-policy': "default-src 'none'", 'x-content-type-options': 'nosniff' });
        res.end(file.bytes);
        return;
      }
      if (pathname === '/console/api/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        res.write('retry: 1000\n\n');
        streams.add(res);
        req.on('close', () => streams.delete(res));
        return;
      }
      const name = pathname.slice('/console/'.length);
      if (pathname.startsWith('/console/') && !name.includes('/') && !PAGES.has(name)) return serveFile(res, name);
      return sendJson(res, 404, { ok: false, error: 'not_found' });
    }
    if (req.method !== 'POST') return sendJson(res, 405, { ok: false, error: 'method_not_allowed' });
    const body = await readJson(req);
    if (pathname === '/console/api/compose') return compose(res, backend, ComposeBody.safeParse(body));
    if (pathname === '/console/api/click') {
      const click = ClickBody.safeParse(body);
      if (!click.success) return sendJson(res, 400, { ok: false, error: describeIssues(click.error) });
      const { as, actionId, blockId, channel, messageTs, home } = click.data;
      return relay(res, () =>
        backend.clickButton({ userId: as, actionId, ...(blockId === undefined ? {} : { blockId }), ...(channel ? { channelId: channel } : {}), ...(messageTs ? { messageTs } : {}), ...(home ? { home } : {}) }),
      );
    }
    if (pathname === '/console/api/open-home') {
      const open = OpenHomeBody.safeParse(body);
      if (!open.success) return sendJson(res, 400, { ok: false, error: describeIssues(open.error) });
      return relay(res, () => backend.openHome(open.data.as));
    }
    return sendJson(res, 404, { ok: false, error: 'not_found' });
  };

  return Object.assign(handler, {
    close() {
      clearInterval(heartbeat);
      workspace.off('change', onChange);
      for (const stream of streams) stream.end();
      streams.clear();
    },
  });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  try {
    return JSON.parse((await readBody(req)).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ');
}

/** Runs a delivery to the bot and tells the page how the bot answered, in words. */
async function relay(res: ServerResponse, deliver: () => Promise<{ status: number; immediateReplyError?: { error: string; errors?: string[] } }>): Promise<void> {
  try {
    const reply = await deliver();
    if (reply.immediateReplyError) {
      const details = reply.immediateReplyError.errors?.join('; ');
      return sendJson(res, 200, { ok: false, error: `Slack refused the bot's reply: ${reply.immediateReplyError.error}${details ? ` (${details})` : ''}` });
    }
    if (reply.status !== 200) return sendJson(res, 200, { ok: false, error: `the bot answered HTTP ${reply.status}` });
    sendJson(res, 200, { ok: true });
  } catch (error) {
    sendJson(res, 200, { ok: false, error: `could not deliver it: ${(error as Error).message}` });
  }
}

async function compose(res: ServerResponse, backend: ConsoleBackend, parsed: z.ZodSafeParseResult<z.infer<typeof ComposeBody>>): Promise<void> {
  if (!parsed.success) return sendJson(res, 400, { ok: false, error: describeIssues(parsed.error) });
  const { as, channel, text, threadTs } = parsed.data;
  const { workspace } = backend;
  if (text.startsWith('/')) {
    const [command = '', ...rest] = text.split(/\s+/);
    // Slack's own answer to a command no installed app provides.
    if (!KNOWN_COMMANDS.has(command)) return sendJson(res, 200, { ok: false, error: `${command} is not a valid command. In Slack, messages that start with "/" are interpreted as commands.` });
    return relay(res, () => backend.slashCommand({ userId: as, channelId: channel, command, text: rest.join(' ') }));
  }
  return relay(res, async () => {
    const { reply } = await backend.postUserMessage({ userId: as, channelId: channel, text: encodeMentions(workspace, text), ...(threadTs ? { threadTs } : {}) });
    return reply ?? { status: 200 };
  });
}

/**
 * What Slack's composer does before sending: `@name` becomes `<@ID>`, `#channel` becomes
 * `<#ID|name>`, and &, <, > are escaped so typed text never turns into markup.
 */
export function encodeMentions(workspace: Workspace, text: string): string {
  const escaped = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return escaped
    .replace(/(^|[\s(])@([a-z0-9._-]+)/gi, (whole, before: string, name: string) => {
      const user = workspace.listUsers().find((candidate) => candidate.name.toLowerCase() === name.toLowerCase());
      return user ? `${before}<@${user.id}>` : whole;
    })
    .replace(/(^|[\s(])#([a-z0-9_-]+)/gi, (whole, before: string, name: string) => {
      const channel = workspace.findChannel(name);
      return channel ? `${before}<#${channel.id}|${channel.name}>` : whole;
    });
}

function describeWorkspace(workspace: Workspace) {
  return {
    team: { id: workspace.teamId, name: workspace.teamName },
    bot: { userId: workspace.bot.userId, name: workspace.bot.name },
    // A private channel's members let the page show it only to the people in it, as Slack does.
    channels: workspace
      .listChannels()
      .filter((channel) => !channel.id.startsWith('D'))
      .map((channel) => ({ id: channel.id, name: channel.name, isPrivate: channel.isPrivate === true, archived: channel.archived === true, members: channel.isPrivate && channel.members ? [...channel.members] : null })),
    users: workspace.listUsers().map((user) => ({ id: user.id, name: user.name, realName: user.realName, roleLabel: user.roleLabel, isBot: user.isBot === true })),
  };
}

function messageView(workspace: Workspace, message: StandInMessage) {
  return {
    ts: message.ts,
    user: message.user,
    isBot: message.botId !== undefined,
    text: message.text,
    blocks: message.blocks ?? null,
    threadTs: message.threadTs ?? null,
    ephemeral: message.visibleTo !== undefined,
    edited: message.edited !== undefined,
    replyCount: message.threadTs === undefined || message.threadTs === message.ts ? workspace.replyCount(message.channel, message.ts) : 0,
    files: (message.files ?? []).map((file) => ({
      id: file.id,
      name: file.name,
      title: file.title,
      size: file.size,
      // Only images whose bytes are still kept have a picture to show.
      imageUrl: INLINE_IMAGE_TYPES.has(file.mimetype) && workspace.findFile(file.id)?.bytes ? `/console/api/files/${encodeURIComponent(file.id)}` : null,
    })),
  };
}
