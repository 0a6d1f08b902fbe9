/**
 * A token bucket: how Slack's rate limits let short bursts through while keeping a rate over time.
 * The Slack stand-in counts Slack's limits with it and the channel write queue paces the bot's own
 * writes with it, so both sides mean the same thing by "60 a minute, bursts of 10".
 */

export interface RateAllowance {
  /** The sustained rate. */
  perMinute: number;
  /** How many calls may come at once after a quiet spell. */
  burst: number;
}

/** Refills add up in floating point: ten tenths of a call are one call. */
const EPSILON = 1e-9;

/** Refuses, by name, an allowance that could never refill or never hold a call. */
export function checkAllowance(name: string, { perMinute, burst }: RateAllowance): void {
  if (!(Number.isFinite(perMinute) && perMinute > 0)) throw new Error(`rate limit ${name}: perMinute must be a number above 0, got ${perMinute}`);
  if (!(Number.isInteger(burst) && burst >= 1)) throw new Error(`rate limit ${name}: burst must be a whole number of at least 1, got ${burst}`);
}

export class TokenBucket {
  private tokens: number;
  private at: number;

  /** Starts full: a quiet spell is assumed before the first call. */
  constructor(
    readonly allowance: RateAllowance,
    now: number,
  ) {
    this.tokens = allowance.burst;
    this.at = now;
  }

  /** Milliseconds until one more call fits; 0 when it fits now. */
  waitMs(now: number): number {
    this.refill(now);
    return this.tokens >= 1 - EPSILON ? 0 : ((1 - this.tokens) * 60_000) / this.allowance.perMinute;
  }

  /** Counts one call (the caller checked waitMs first). */
  take(now: number): void {
    this.refill(now);
    this.tokens -= 1;
  }

  /** True when the bucket is as good as a new one, so it can be forgotten. */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.allowance.burst - EPSILON;
  }

  private refill(now: number): void {
    if (now <= this.at) return;
    this.tokens = Math.min(this.allowance.burst, this.tokens + ((now - this.at) * this.allowance.perMinute) / 60_000);
    this.at = now;
  }
}
