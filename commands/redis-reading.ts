/**
 * What `redis status` and `redis memory` share: reaching the stack's Redis (REDIS_URL) within the
 * check timeout, the answers when it is not configured or not reachable, and the two findings
 * both show: memory against maxmemory and the eviction policy.
 */
import type { StackRedis } from '../services/stack/stack-redis.js';
import type { CommandContext } from './command.js';
import { formatBytes, formatPercent } from './format.js';
import { DeadlineError, describeRedisError, probeRedis, withDeadline } from './health-probes.js';
import type { CheckLine, ResultDocument, Tone } from './result.js';
import { RUNBOOK_THRESHOLDS, markUpperBound } from './thresholds.js';

/** The eviction policy the stack's compose file gives Redis (docker-compose.yml). */
export const EXPECTED_EVICTION_POLICY = 'allkeys-lru';

const WHAT_TO_TRY =
  "The runbook's diagnosis: `docker-compose ps redis`, `docker-compose logs redis`; restart with `docker-compose restart redis`. The Policy Engine keeps answering from its L1 cache meanwhile.";

/** Used memory against maxmemory, marked against the runbook's memory threshold; `share` is null without a limit. */
export function redisMemoryLine(name: string, usedBytes: number, maxmemory: number): CheckLine & { share: number | null } {
  const share = maxmemory > 0 ? usedBytes / maxmemory : null;
  return {
    name,
    tone: share === null ? 'info' : markUpperBound(share, RUNBOOK_THRESHOLDS.memoryUtilization),
    text:
      share === null
        ? `${formatBytes(usedBytes)} used; no maxmemory limit (production sets one)`
        : `${formatBytes(usedBytes)} of ${formatBytes(maxmemory)} (${formatPercent(share)}) · target under ${formatPercent(RUNBOOK_THRESHOLDS.memoryUtilization.target, 0)}`,
    share,
  };
}

/** The eviction policy: the expected one is ok; `noeviction` under a limit fails writes once it is reached. */
export function evictionPolicyLine(policy: string, maxmemory: number): CheckLine {
  const tone: Tone = policy === EXPECTED_EVICTION_POLICY ? 'ok' : maxmemory > 0 && policy === 'noeviction' ? 'warn' : 'info';
  return {
    name: 'Eviction policy',
    tone,
    text:
      tone === 'warn'
        ? `${policy}: writes fail once maxmemory is reached; the stack expects ${EXPECTED_EVICTION_POLICY}`
        : `${policy}${tone === 'ok' ? '' : ` (the stack's compose file uses ${EXPECTED_EVICTION_POLICY})`}`,
  };
}

export interface RedisReading<T> {
  /** The document's title, also when Redis is absent or down. */
  title: string;
  /** What the command shows, for "Set REDIS_URL ... to see its <what> here". */
  what: string;
  /** The reading asked for, for "<request> got no answer within ...". */
  request: string;
  read(redis: StackRedis): Promise<T>;
  document(value: T, location: string, latencyMs: number): ResultDocument;
}

/** Probes the stack's Redis, then reads it within the check timeout; absent or unreachable Redis gets its own answer. */
export async function readRedis<T>(context: CommandContext, reading: RedisReading<T>): Promise<ResultDocument> {
  const { redis, checkTimeoutMs } = context.services;
  if (!redis) {
    return {
      title: reading.title,
      tone: 'info',
      summary: 'No Redis is configured for the bot: REDIS_URL is not set.',
      blocks: [
        {
          type: 'text',
          text: `The local stack runs without Redis: the Policy Engine uses its in-process cache only. Set REDIS_URL to the stack's Redis to see ${reading.what} here.`,
        },
      ],
      data: { configured: false },
    };
  }
  const { location } = redis;
  const down = (problem: string): ResultDocument => ({
    title: reading.title,
    tone: 'fail',
    summary: `Redis at ${location} is not reachable.`,
    blocks: [{ type: 'checks', items: [{ name: 'Redis', tone: 'fail', text: problem }] }],
    footer: WHAT_TO_TRY,
    data: { configured: true, reachable: false, location, problem },
  });
  const probe = await probeRedis(redis, checkTimeoutMs, context.signal);
  if (!probe.ok) return down(probe.problem);
  try {
    const value = await withDeadline(checkTimeoutMs, context.signal, () => reading.read(redis));
    return reading.document(value, location, probe.latencyMs);
  } catch (error) {
    return down(error instanceof DeadlineError ? `${reading.request} got ${error.message}` : describeRedisError(error));
  }
}
