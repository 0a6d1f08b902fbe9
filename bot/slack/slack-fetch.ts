/**
 * The fetch that Slack calls of the app go through (the Web API client and Bolt's `respond` to a
 * response_url both take it), so failures and rate limits are counted in one place whatever made
 * the call. Waiting out a 429 stays with the Web API client, which honours Retry-After. A slash
 * command's answer takes the cheaper path of response-url.ts, counted in the same metrics.
 */
import type { BotMetrics } from './metrics.js';

export function instrumentedSlackFetch(apiUrl: string, metrics: BotMetrics, fetchImpl: typeof fetch = fetch): typeof fetch {
  const methodOf = (url: string) => (url.startsWith(apiUrl) ? url.slice(apiUrl.length).split(/[?#]/)[0] || 'unknown' : 'response_url');

  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = methodOf(url);
    let response: Response;
    try {
      response = await fetchImpl(input, init);
    } catch (error) {
      metrics.slackApiErrors.inc({ method, error: (error as Error).name === 'TimeoutError' ? 'timeout' : 'network' });
      throw error;
    }
    if (response.status === 429) {
      const seconds = Number.parseInt(response.headers.get('retry-after') ?? '', 10);
      metrics.rateLimitWaits.inc({ method });
      if (Number.isFinite(seconds) && seconds >= 0) metrics.rateLimitWaitSeconds.inc({ method }, seconds);
      return response;
    }
    if (!response.ok) {
      metrics.slackApiErrors.inc({ method, error: `http_${response.status}` });
      return response;
    }
    if (method !== 'response_url') {
      // The Web API answers 200 with {ok: false, error} for its own refusals.
      const answer = (await response.clone().json().catch(() => undefined)) as { ok?: unknown; error?: unknown } | undefined;
      if (answer && answer.ok === false) metrics.slackApiErrors.inc({ method, error: typeof answer.error === 'string' ? answer.error.slice(0, 60) : 'unknown' });
    }
    return response;
  };
}
