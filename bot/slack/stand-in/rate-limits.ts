/**
 * Slack's Web API rate limits, as the stand-in enforces them by itself
 * (https://docs.slack.dev/apis/web-api/rate-limits): each method has a tier counted per app per
 * workspace (Tier 1 1+/min, Tier 2 20+/min, Tier 3 50+/min, Tier 4 100+/min), and chat.postMessage
 * has its special limit of about one message per second per channel, short bursts allowed, under
 * a workspace-wide ceiling of several hundred a minute.
 *
 * Slack tolerates bursts above the rate ("sporadic bursts are welcome") without publishing their
 * size, so each limit is a token bucket: `burst` calls at once, refilled at `perMinute`. The burst
 * sizes are ours, at what Slack is observed to let through (about 20 posts into one channel at
 * once, a minute's worth for a tier); a call over the limit is answered 429 with Retry-After in
 * whole seconds until the bucket holds a call again, and does not count against it.
 */
import { checkAllowance, TokenBucket, type RateAllowance } from '../token-bucket.js';

export type { RateAllowance };

export interface SlackRateLimits {
  /** Per method, per app per workspace: the method's tier. Methods not listed are not limited. */
  methods: Record<string, RateAllowance>;
  /** chat.postMessage into one channel (thread replies included). */
  postMessagePerChannel: RateAllowance;
  /** chat.postMessage across the workspace. */
  postMessagePerWorkspace: RateAllowance;
}

export const SLACK_TIERS = {
  tier1: { perMinute: 1, burst: 5 },
  tier2: { perMinute: 20, burst: 20 },
  tier3: { perMinute: 50, burst: 50 },
  tier4: { perMinute: 100, burst: 100 },
} as const satisfies Record<string, RateAllowance>;

/** The limits of the methods the stand-in plays, as Slack documents them for each method. */
export const SLACK_RATE_LIMITS: SlackRateLimits = {
  methods: {
    // auth.test is "Special": hundreds a minute.
    'auth.test': { perMinute: 600, burst: 100 },
    'chat.postEphemeral': SLACK_TIERS.tier4,
    'chat.update': SLACK_TIERS.tier3,
    'chat.delete': SLACK_TIERS.tier3,
    // chat.getPermalink is "Special" as well: far more than a bot asks for.
    'chat.getPermalink': { perMinute: 600, burst: 100 },
    'views.publish': SLACK_TIERS.tier4,
    'users.info': SLACK_TIERS.tier4,
    'conversations.info': SLACK_TIERS.tier3,
    // Tier 3 for an app installed in its own workspace; Slack cut it for apps distributed outside the Marketplace (2025).
    'conversations.history': SLACK_TIERS.tier3,
    'conversations.open': SLACK_TIERS.tier3,
    'conversations.create': SLACK_TIERS.tier2,
    'conversations.invite': SLACK_TIERS.tier3,
    'conversations.setTopic': SLACK_TIERS.tier2,
    'conversations.archive': SLACK_TIERS.tier2,
    'usergroups.users.list': SLACK_TIERS.tier2,
    'files.getUploadURLExternal': SLACK_TIERS.tier4,
    'files.completeUploadExternal': SLACK_TIERS.tier4,
    'apps.connections.open': SLACK_TIERS.tier1,
  },
  postMessagePerChannel: { perMinute: 60, burst: 20 },
  postMessagePerWorkspace: { perMinute: 300, burst: 100 },
};

/** Replaces some of Slack's limits (a method's entry replaces that method's only). */
export interface RateLimitOverrides {
  methods?: Record<string, RateAllowance>;
  postMessagePerChannel?: RateAllowance;
  postMessagePerWorkspace?: RateAllowance;
}

/** Slack's limits with `overrides` applied; an allowance that could never refill or hold a call is refused by name. */
export function slackRateLimits(overrides: RateLimitOverrides = {}): SlackRateLimits {
  const limits: SlackRateLimits = {
    methods: { ...SLACK_RATE_LIMITS.methods, ...overrides.methods },
    postMessagePerChannel: overrides.postMessagePerChannel ?? SLACK_RATE_LIMITS.postMessagePerChannel,
    postMessagePerWorkspace: overrides.postMessagePerWorkspace ?? SLACK_RATE_LIMITS.postMessagePerWorkspace,
  };
  for (const [method, allowance] of Object.entries(limits.methods)) checkAllowance(method, allowance);
  checkAllowance('postMessagePerChannel', limits.postMessagePerChannel);
  checkAllowance('postMessagePerWorkspace', limits.postMessagePerWorkspace);
  return limits;
}

/** Buckets kept before the full ones (as good as new) are dropped: one per channel posted to. */
const MAX_BUCKETS = 10_000;

export class RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly limits: SlackRateLimits,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * Counts one call of `method` (`channel` for chat.postMessage) when every limit it falls under
   * has room; otherwise counts nothing and says how long to wait, as Retry-After does.
   */
  take(method: string, channel?: string): { retryAfterS: number } | undefined {
    const limits: Array<[string, RateAllowance]> = [];
    const tier = this.limits.methods[method];
    if (tier) limits.push([`method ${method}`, tier]);
    if (method === 'chat.postMessage') {
      limits.push(['chat.postMessage workspace', this.limits.postMessagePerWorkspace]);
      if (channel !== undefined) limits.push([`chat.postMessage ${channel}`, this.limits.postMessagePerChannel]);
    }
    const now = this.now();
    const buckets = limits.map(([key, allowance]) => this.bucket(key, allowance, now));
    const waitMs = Math.max(0, ...buckets.map((bucket) => bucket.waitMs(now)));
    // Whole seconds, as Slack gives them; a hair over a second from rounding is still one.
    if (waitMs > 0) return { retryAfterS: Math.max(1, Math.ceil(waitMs / 1000 - 1e-6)) };
    for (const bucket of buckets) bucket.take(now);
    return undefined;
  }

  private bucket(key: string, allowance: RateAllowance, now: number): TokenBucket {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= MAX_BUCKETS) {
        for (const [oldKey, old] of this.buckets) if (old.isFull(now)) this.buckets.delete(oldKey);
      }
      bucket = new TokenBucket(allowance, now);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }
}
