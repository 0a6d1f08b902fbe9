/**
 * Remembers which Slack deliveries were already taken, so that a retry (X-Slack-Retry-Num, Socket
 * Mode retry_attempt) or a replayed envelope never runs a command a second time. In-process by
 * default; in Redis (`SET NX PX`) when the bot has one, so that several replicas share it.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';

/** Slack retries an event after about 1 and 5 minutes; an hour covers them with room to spare. */
export const DELIVERY_TTL_MS = 60 * 60 * 1000;

export interface DeliveryLedger {
  /** True the first time a key is seen within the window; false for every repeat. */
  claim(key: string): Promise<boolean>;
}

export function memoryLedger(options: { max?: number; ttlMs?: number } = {}): DeliveryLedger {
  const seen = new LRUCache<string, true>({ max: options.max ?? 50_000, ttl: options.ttlMs ?? DELIVERY_TTL_MS });
  return {
    async claim(key) {
      if (seen.has(key)) return false;
      seen.set(key, true);
      return true;
    },
  };
}

export interface RedisLedgerOptions {
  prefix?: string;
  ttlMs?: number;
  /**
   * Called when Redis fails; the ledger then answers from memory, so a Redis outage costs
   * cross-replica de-duplication for a while but never the bot's answers.
   */
  onError?: (error: unknown) => void;
}

export function redisLedger(redis: Redis, options: RedisLedgerOptions = {}): DeliveryLedger {
  const prefix = options.prefix ?? 'acgs:bot:delivery:';
  const ttlMs = options.ttlMs ?? DELIVERY_TTL_MS;
  const fallback = memoryLedger({ ttlMs });
  return {
    async claim(key) {
      try {
        const answer = await redis.set(`${prefix}${key}`, '1', 'PX', ttlMs, 'NX');
        return answer === 'OK';
      } catch (error) {
        options.onError?.(error);
        return fallback.claim(key);
      }
    },
  };
}

/**
 * The identity of one delivery: the event's id for Events API payloads, the trigger id for slash
 * commands and button clicks (one per invocation), otherwise a hash of the whole payload.
 */
export function deliveryKey(body: Record<string, unknown>): string {
  if (typeof body.event_id === 'string' && body.event_id) return `event:${body.event_id}`;
  if (typeof body.trigger_id === 'string' && body.trigger_id) return `trigger:${body.trigger_id}`;
  return `payload:${createHash('sha256').update(JSON.stringify(body)).digest('base64url')}`;
}
