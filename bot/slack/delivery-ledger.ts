/**
 * Remembers which Slack deliveries were already taken, so that a retry (X-Slack-Retry-Num, Socket
 * Mode retry_attempt) or a replayed envelope never runs a command a second time. In-process by
 * default; in Redis (`SET NX PX`) when the bot has one, so that several replicas share it.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { ensureRedisConnected } from '../../services/stack/stack-connections.js';
import type { EvictedDeliveries } from './delivery-store.js';

/** Slack retries an event after about 1 and 5 minutes; an hour covers them with room to spare. */
export const DELIVERY_TTL_MS = 60 * 60 * 1000;

export interface DeliveryLedger {
  /** True the first time a key is seen within the window; false for every repeat. */
  claim(key: string): Promise<boolean>;
}

export interface MemoryLedgerOptions {
  /** Keys kept in memory; past it the least recent go (to `evicted` when given). */
  max?: number;
  ttlMs?: number;
  /**
   * Where evicted keys are kept until their window ends, so that a retry of one is still not run
   * again. Without it, an evicted key's retry would run a second time.
   */
  evicted?: EvictedDeliveries;
  /** The durable store failed: the delivery is served (read-only work may repeat; escalated work is guarded by its own claim). */
  onError?: (error: unknown) => void;
}

export function memoryLedger(options: MemoryLedgerOptions = {}): DeliveryLedger {
  const ttlMs = options.ttlMs ?? DELIVERY_TTL_MS;
  const durable = options.evicted;
  /** Keys evicted whose durable write has not finished: a retry arriving meanwhile is still a repeat. */
  const writing = new Map<string, Promise<void>>();
  let evictedAny = false;
  // The value is when the key's window ends, carried to the durable store on eviction.
  const seen = new LRUCache<string, number>({
    max: options.max ?? 50_000,
    ttl: ttlMs,
    ...(durable
      ? {
          dispose: (expiresAt: number, key: string, reason: LRUCache.DisposeReason) => {
            if (reason !== 'evict' || expiresAt <= Date.now()) return;
            evictedAny = true;
            const write = durable
              .remember(key, new Date(expiresAt))
              .catch((error: unknown) => options.onError?.(error))
              .finally(() => writing.delete(key));
            writing.set(key, write);
          },
        }
      : {}),
  });
  return {
    async claim(key) {
      if (seen.has(key) || writing.has(key)) return false;
      if (durable && evictedAny) {
        try {
          if (await durable.seen(key)) return false;
        } catch (error) {
          options.onError?.(error);
        }
        // Another delivery of the key may have claimed it while we asked.
        if (seen.has(key) || writing.has(key)) return false;
      }
      seen.set(key, Date.now() + ttlMs);
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
  /** The memory fallback's durable store of evicted keys (see memoryLedger). */
  evicted?: EvictedDeliveries;
}

export function redisLedger(redis: Redis, options: RedisLedgerOptions = {}): DeliveryLedger {
  const prefix = options.prefix ?? 'acgs:bot:delivery:';
  const ttlMs = options.ttlMs ?? DELIVERY_TTL_MS;
  const fallback = memoryLedger({ ttlMs, ...(options.evicted ? { evicted: options.evicted } : {}), ...(options.onError ? { onError: options.onError } : {}) });
  return {
    async claim(key) {
      try {
        // The bot's client connects lazily and queues nothing offline: unconnected, the first
        // deliveries after a start would fail over to memory and lose cross-replica de-duplication.
        await ensureRedisConnected(redis);
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
