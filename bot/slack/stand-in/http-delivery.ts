/**
 * Delivers Slack's requests to the bot's HTTP endpoint (`/slack/events`), signed as Slack signs
 * them, with switches for what a test needs to provoke: retries, a bad signature, a stale
 * timestamp, the wrong content type.
 */
import { signedHeaders } from './signing.js';

export interface HttpDeliveryOptions {
  /** Adds `X-Slack-Retry-Num` (and `X-Slack-Retry-Reason`), as Slack does on redelivery. */
  retry?: { num: number; reason?: string };
  /** Signs with a wrong secret. */
  badSignature?: boolean;
  /** Shifts the signed timestamp; -600 makes a request ten minutes old. */
  timestampSkewS?: number;
  /** Sends this content type instead of the right one (the body and signature stay as they are). */
  contentType?: string;
  /** Leaves the signature headers out. */
  unsigned?: boolean;
}

export interface HttpRequestToBot {
  body: string;
  contentType: string;
}

export interface HttpBotAnswer {
  status: number;
  headers: Record<string, string>;
  /** The body as text; `json` is set when it parses. */
  text: string;
  json?: unknown;
}

export async function deliverOverHttp(url: string, signingSecret: string, request: HttpRequestToBot, options: HttpDeliveryOptions = {}): Promise<HttpBotAnswer> {
  const timestamp = Math.floor(Date.now() / 1000) + (options.timestampSkewS ?? 0);
  const headers: Record<string, string> = {
    'content-type': options.contentType ?? request.contentType,
    'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    ...(options.unsigned ? {} : signedHeaders(options.badSignature ? `${signingSecret}-wrong` : signingSecret, request.body, timestamp)),
  };
  if (options.retry) {
    headers['x-slack-retry-num'] = String(options.retry.num);
    headers['x-slack-retry-reason'] = options.retry.reason ?? 'http_timeout';
  }
  const response = await fetch(url, { method: 'POST', headers, body: request.body, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: Object.fromEntries(response.headers.entries()), text, ...(json === undefined ? {} : { json }) };
}
