/**
 * The stand-in's own rate limits (Slack's documented ones): the counting on a clock the test
 * moves, then the 429s through HTTP and the real WebClient.
 */
import { ErrorCode, WebClient } from '@slack/web-api';
import { afterEach, describe, expect, it } from 'vitest';
import { startSlackStandIn, type SlackStandIn } from './index.js';
import { RateLimiter, SLACK_RATE_LIMITS, slackRateLimits } from './rate-limits.js';

const BOT_TOKEN = 'xoxb-rate-limits-test';
const APP_TOKEN = 'xapp-rate-limits-test';
const OPS = 'C0ACGSOPS01';
const ALERTS = 'C0ACGSALERT';

function clock() {
  let now = 0;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function takeMany(limiter: RateLimiter, count: number, method: string, channel?: string): number {
  let allowed = 0;
  for (let index = 0; index < count; index += 1) if (!limiter.take(method, channel)) allowed += 1;
  return allowed;
}

describe('counting Slack\'s limits', () => {
  it('lets a burst of 20 posts into one channel through, answers the 21st with Retry-After 1, and one more a second later', () => {
    const time = clock();
    const limiter = new RateLimiter(SLACK_RATE_LIMITS, time.now);
    expect(takeMany(limiter, 20, 'chat.postMessage', OPS)).toBe(20);
    expect(limiter.take('chat.postMessage', OPS)).toEqual({ retryAfterS: 1 });
    time.advance(1000);
    expect(limiter.take('chat.postMessage', OPS)).toBeUndefined();
    expect(limiter.take('chat.postMessage', OPS)).toEqual({ retryAfterS: 1 });
  });

  it('keeps one message a second per channel over time: 60 more in a minute after the burst, not 61', () => {
    const time = clock();
    const limiter = new RateLimiter(SLACK_RATE_LIMITS, time.now);
    takeMany(limiter, 20, 'chat.postMessage', OPS);
    let allowed = 0;
    for (let tick = 0; tick < 600; tick += 1) {
      time.advance(100);
      allowed += takeMany(limiter, 1, 'chat.postMessage', OPS);
    }
    expect(allowed).toBe(60);
  });

  it('counts each channel on its own, under the workspace-wide ceiling', () => {
    const time = clock();
    const limiter = new RateLimiter(SLACK_RATE_LIMITS, time.now);
    expect(takeMany(limiter, 20, 'chat.postMessage', OPS)).toBe(20);
    expect(takeMany(limiter, 20, 'chat.postMessage', ALERTS)).toBe(20);
    let channels = 0;
    while (!limiter.take('chat.postMessage', `C0OTHER${channels}`)) channels += 1;
    // 100 at once in the workspace: 40 went into the first two channels.
    expect(channels).toBe(60);
    expect(limiter.take('chat.postMessage', 'C0FRESH')).toEqual({ retryAfterS: 1 });
  });

  it('counts a tiered method across channels: Tier 3 chat.update takes 50 at once, then about one every 1.2 s (Retry-After 2)', () => {
    const time = clock();
    const limiter = new RateLimiter(SLACK_RATE_LIMITS, time.now);
    expect(takeMany(limiter, 25, 'chat.update') + takeMany(limiter, 25, 'chat.update')).toBe(50);
    expect(limiter.take('chat.update')).toEqual({ retryAfterS: 2 });
    time.advance(1200);
    expect(limiter.take('chat.update')).toBeUndefined();
    // chat.postMessage has its own budget.
    expect(limiter.take('chat.postMessage', OPS)).toBeUndefined();
  });

  it('answers Tier 1 apps.connections.open after its small burst with a wait of a minute', () => {
    const limiter = new RateLimiter(SLACK_RATE_LIMITS, clock().now);
    expect(takeMany(limiter, 5, 'apps.connections.open')).toBe(5);
    expect(limiter.take('apps.connections.open')).toEqual({ retryAfterS: 60 });
  });

  it('does not count a refused call against the limit', () => {
    const time = clock();
    const limiter = new RateLimiter(slackRateLimits({ postMessagePerChannel: { perMinute: 60, burst: 1 } }), time.now);
    expect(limiter.take('chat.postMessage', OPS)).toBeUndefined();
    for (let index = 0; index < 10; index += 1) expect(limiter.take('chat.postMessage', OPS)).toEqual({ retryAfterS: 1 });
    time.advance(1000);
    expect(limiter.take('chat.postMessage', OPS)).toBeUndefined();
  });

  it('refuses, by name, an allowance that could never refill or never hold a call', () => {
    expect(() => slackRateLimits({ methods: { 'chat.update': { perMinute: 0, burst: 5 } } })).toThrow(/chat\.update: perMinute must be a number above 0, got 0/);
    expect(() => slackRateLimits({ postMessagePerChannel: { perMinute: 60, burst: 0 } })).toThrow(/postMessagePerChannel: burst must be a whole number of at least 1, got 0/);
    expect(() => slackRateLimits({ postMessagePerWorkspace: { perMinute: Number.NaN, burst: 1 } })).toThrow(/postMessagePerWorkspace: perMinute/);
    expect(() => slackRateLimits({ methods: { 'views.publish': { perMinute: 10, burst: 1.5 } } })).toThrow(/views\.publish: burst/);
  });
});

describe('the stand-in over HTTP', () => {
  let slack: SlackStandIn | undefined;
  afterEach(async () => {
    await slack?.close();
    slack = undefined;
  });

  it('answers the call over the limit with 429, error ratelimited and Retry-After, as Slack does', async () => {
    const time = clock();
    slack = await startSlackStandIn({ botToken: BOT_TOKEN, console: false, rateLimitClock: time.now });
    const client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } });
    for (let index = 0; index < 20; index += 1) await client.chat.postMessage({ channel: OPS, text: `burst ${index}` });
    const raw = await fetch(`${slack.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${BOT_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: OPS, text: 'one too many' }),
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('1');
    expect(await raw.json()).toEqual({ ok: false, error: 'ratelimited' });
    const error = await client.chat.postMessage({ channel: 'acgs-ops', text: 'by name, same channel' }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 1 });
    expect(slack.messages(OPS).filter((message) => /one too many|by name/.test(message.text))).toEqual([]);
    expect(slack.rateLimitedCount('chat.postMessage')).toBe(2);
    expect(slack.calls('chat.postMessage').slice(-2).map((call) => call.status)).toEqual([429, 429]);
    // Another channel still has its burst.
    await expect(client.chat.postMessage({ channel: ALERTS, text: 'elsewhere' })).resolves.toMatchObject({ ok: true });
    time.advance(1000);
    await expect(client.chat.postMessage({ channel: OPS, text: 'a second later' })).resolves.toMatchObject({ ok: true });
  });

  it('lets the WebClient wait out Retry-After: every post of an overlong burst lands, the late ones a second apart', async () => {
    slack = await startSlackStandIn({ botToken: BOT_TOKEN, console: false, rateLimits: { postMessagePerChannel: { perMinute: 60, burst: 2 } } });
    const client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 5, factor: 1, minTimeout: 10, maxTimeout: 10 } });
    const started = performance.now();
    await Promise.all([1, 2, 3].map((index) => client.chat.postMessage({ channel: OPS, text: `post ${index}` })));
    expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
    expect(slack.messages(OPS).map((message) => message.text).sort()).toEqual(['post 1', 'post 2', 'post 3']);
    expect(slack.rateLimitedCount('chat.postMessage')).toBeGreaterThanOrEqual(1);
  });

  it('limits nothing with rateLimits: false, and limits neither unknown methods nor response_urls', async () => {
    slack = await startSlackStandIn({ botToken: BOT_TOKEN, appToken: APP_TOKEN, console: false, rateLimits: false });
    const client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } });
    await Promise.all(Array.from({ length: 40 }, (_, index) => client.chat.postMessage({ channel: OPS, text: `unlimited ${index}` })));
    expect(slack.rateLimitedCount()).toBe(0);
    const appClient = new WebClient(APP_TOKEN, { slackApiUrl: slack.apiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } });
    for (let index = 0; index < 8; index += 1) await appClient.apps.connections.open();
    expect(slack.rateLimitedCount()).toBe(0);
  });

  it('answers an unknown method unknown_method however often it is called, never 429', async () => {
    slack = await startSlackStandIn({ botToken: BOT_TOKEN, console: false, rateLimits: { methods: { 'chat.update': { perMinute: 1, burst: 1 } } } });
    for (let index = 0; index < 30; index += 1) {
      const answer = await fetch(`${slack.apiUrl}chat.scheduleNothing`, { method: 'POST', headers: { authorization: `Bearer ${BOT_TOKEN}` } });
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual({ ok: false, error: 'unknown_method' });
    }
    expect(slack.rateLimitedCount()).toBe(0);
  });

  it('applies an override to its method only, the others keeping Slack\'s values', async () => {
    slack = await startSlackStandIn({ botToken: BOT_TOKEN, console: false, rateLimits: { methods: { 'chat.update': { perMinute: 1, burst: 1 } } } });
    const client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } });
    const posted = await client.chat.postMessage({ channel: OPS, text: 'v0' });
    await client.chat.update({ channel: OPS, ts: posted.ts!, text: 'v1' });
    await expect(client.chat.update({ channel: OPS, ts: posted.ts!, text: 'v2' })).rejects.toMatchObject({ code: ErrorCode.RateLimitedError, retryAfter: 60 });
    for (let index = 0; index < 5; index += 1) await client.users.info({ user: 'U0ONCALL' });
    expect(slack.rateLimitedCount()).toBe(1);
    expect(slack.messages(OPS).find((message) => message.ts === posted.ts)?.text).toBe('v1');
  });

  it('refuses to start with a limit that makes no sense', async () => {
    await expect(startSlackStandIn({ botToken: BOT_TOKEN, console: false, rateLimits: { postMessagePerChannel: { perMinute: -1, burst: 1 } } })).rejects.toThrow(/postMessagePerChannel: perMinute/);
  });
});
