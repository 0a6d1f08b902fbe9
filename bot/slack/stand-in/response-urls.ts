/**
 * response_url endpoints as Slack keeps them: each slash command and message click gets one; it
 * takes JSON, works five times within thirty minutes, posts ephemeral (the default) or in-channel
 * messages, in a thread with thread_ts, and can replace or delete the message it belongs to.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { validateBlocks } from './block-kit.js';
import { BLOCK_KIT_LIMITS } from './block-kit-limits.js';
import { mediaType, readBody, sendJson } from './http-io.js';
import type { StandInMessage, Workspace } from './workspace.js';

export const RESPONSE_URL_MAX_USES = 5;
export const RESPONSE_URL_LIFETIME_MS = 30 * 60 * 1000;
/**
 * At most this many response_urls are remembered (the oldest are forgotten first), and one is
 * forgotten a lifetime after it expired: until then it answers expired_url, afterwards invalid_url.
 * Every slash command and click makes one, so a long-running console must not keep them all.
 */
export const MAX_RESPONSE_URLS = 10_000;

interface ResponseTarget {
  channel: string;
  userId: string;
  /** The message whose button was clicked; replace_original and delete_original act on it. */
  originalTs?: string;
  createdAt: number;
  uses: number;
}

/** What a bot may send to a response_url (and, for slash commands, in its ack body). */
export interface ResponsePayload {
  text?: unknown;
  blocks?: unknown;
  response_type?: unknown;
  replace_original?: unknown;
  delete_original?: unknown;
  thread_ts?: unknown;
}

export type ResponseOutcome = { ok: true; message?: StandInMessage } | { ok: false; status: number; error: string; errors?: string[] };

export class ResponseUrls {
  private readonly targets = new Map<string, ResponseTarget>();
  /** Injectable so a test can age a URL past its lifetime without waiting thirty minutes. */
  now: () => number = Date.now;

  constructor(private readonly workspace: Workspace) {}

  create(baseUrl: string, target: Omit<ResponseTarget, 'createdAt' | 'uses'>): string {
    this.forgetOld();
    const id = randomBytes(12).toString('hex');
    this.targets.set(id, { ...target, createdAt: this.now(), uses: 0 });
    return `${baseUrl}/response/${id}`;
  }

  /** How many response_urls are remembered. */
  get size(): number {
    return this.targets.size;
  }

  /** The map keeps creation order, so the old ones are at its start. */
  private forgetOld(): void {
    const forgetBefore = this.now() - 2 * RESPONSE_URL_LIFETIME_MS;
    for (const [id, target] of this.targets) {
      if (this.targets.size < MAX_RESPONSE_URLS && target.createdAt >= forgetBefore) break;
      this.targets.delete(id);
    }
  }

  async handle(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    if (req.method !== 'POST') return sendJson(res, 405, { ok: false, error: 'method_not_allowed' });
    const target = this.targets.get(id);
    if (!target) return sendJson(res, 404, { ok: false, error: 'invalid_url' });
    if (this.now() - target.createdAt > RESPONSE_URL_LIFETIME_MS) return sendJson(res, 404, { ok: false, error: 'expired_url' });
    if (target.uses >= RESPONSE_URL_MAX_USES) return sendJson(res, 404, { ok: false, error: 'used_url' });
    const raw = (await readBody(req)).toString('utf8');
    if (mediaType(req) !== 'application/json') return sendJson(res, 400, { ok: false, error: 'invalid_payload' });
    let payload: unknown;
    try {
      payload = JSON.parse(raw);
    } catch {
      return sendJson(res, 400, { ok: false, error: 'invalid_payload' });
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return sendJson(res, 400, { ok: false, error: 'invalid_payload' });
    target.uses += 1;
    const outcome = this.apply(target, payload as ResponsePayload);
    if (!outcome.ok) return sendJson(res, outcome.status, { ok: false, error: outcome.error, ...(outcome.errors ? { errors: outcome.errors } : {}) });
    sendJson(res, 200, { ok: true });
  }

  /**
   * Applies a response to the workspace. Also used for a slash command's ack body, which Slack
   * treats like a first response to the command's response_url.
   */
  apply(target: Pick<ResponseTarget, 'channel' | 'userId' | 'originalTs'>, payload: ResponsePayload): ResponseOutcome {
    const { workspace } = this;
    if (payload.delete_original === true) {
      if (target.originalTs === undefined || !workspace.remove(target.channel, target.originalTs)) return { ok: false, status: 404, error: 'message_not_found' };
      return { ok: true };
    }
    const text = typeof payload.text === 'string' ? payload.text : '';
    if (text.length > BLOCK_KIT_LIMITS.messageText) return { ok: false, status: 400, error: 'msg_too_long' };
    if (payload.blocks !== undefined) {
      const errors = validateBlocks(payload.blocks, 'message');
      if (errors.length > 0) return { ok: false, status: 400, error: 'invalid_blocks', errors };
    }
    const blocks = Array.isArray(payload.blocks) ? payload.blocks : undefined;
    if (text === '' && (blocks === undefined || blocks.length === 0)) return { ok: false, status: 400, error: 'no_text' };
    if (payload.replace_original === true && target.originalTs !== undefined) {
      const original = workspace.find(target.channel, target.originalTs);
      if (!original) return { ok: false, status: 404, error: 'message_not_found' };
      // Replacing drops the old blocks unless new ones come, as in Slack.
      const edited = workspace.edit(target.channel, target.originalTs, { text, blocks: blocks ?? [] }, workspace.bot.userId);
      return { ok: true, ...(edited ? { message: edited } : {}) };
    }
    const inChannel = payload.response_type === 'in_channel';
    const threadTs = typeof payload.thread_ts === 'string' && payload.thread_ts !== '' ? payload.thread_ts : undefined;
    const message = workspace.post({
      channel: target.channel,
      user: workspace.bot.userId,
      botId: workspace.bot.botId,
      text,
      ...(blocks ? { blocks } : {}),
      ...(threadTs ? { threadTs } : {}),
      ...(inChannel ? {} : { visibleTo: target.userId }),
      responseType: inChannel ? 'in_channel' : 'ephemeral',
    });
    return { ok: true, message };
  }
}
