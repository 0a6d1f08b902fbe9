/**
 * Replies to a slash command's response_url on the keep-alive pool (services/clients/pooled-http.ts)
 * instead of Bolt's `respond`, which goes through `fetch`: this runs after every ack, on the event
 * loop that acks the next request, so its CPU matters. Counted in the same metrics as every other
 * Slack call (bot/slack/slack-fetch.ts), and a refusal throws Bolt's RespondError as `respond` does,
 * so it reaches the app's error boundary.
 */
import { RespondError } from '@slack/bolt';
import { describeRequestError, isTimeout, requestText } from '../../services/clients/pooled-http.js';
import type { BotMetrics } from './metrics.js';

/** What a response_url takes: a message, and whether it is private or replaces the original. */
export type ResponseUrlMessage = Record<string, unknown> & { text?: string };

export type ResponseUrlPoster = (responseUrl: string, message: ResponseUrlMessage) => Promise<void>;

const METHOD = 'response_url';

export function responseUrlPoster(metrics: BotMetrics, timeoutMs: number): ResponseUrlPoster {
  return async (responseUrl, message) => {
    let status: number;
    let headers: Record<string, string | string[] | undefined>;
    try {
      ({ status, headers } = await requestText(responseUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(message),
        timeoutMs,
      }));
    } catch (error) {
      metrics.slackApiErrors.inc({ method: METHOD, error: isTimeout(error) ? 'timeout' : 'network' });
      throw new Error(`the reply to the response_url failed: ${describeRequestError(error)}`, { cause: error });
    }
    if (status >= 200 && status < 300) return;
    if (status === 429) {
      const seconds = Number.parseInt(String(headers['retry-after'] ?? ''), 10);
      metrics.rateLimitWaits.inc({ method: METHOD });
      if (Number.isFinite(seconds) && seconds >= 0) metrics.rateLimitWaitSeconds.inc({ method: METHOD }, seconds);
    } else {
      metrics.slackApiErrors.inc({ method: METHOD, error: `http_${status}` });
    }
    throw new RespondError(`Failed to respond to the response_url: HTTP ${status}`, status);
  };
}
