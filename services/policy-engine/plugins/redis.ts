import { Redis } from 'ioredis';
import type { PolicyEngineConfig } from '../config.js';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    /** The shared Redis (L2 cache, shared modes); undefined when REDIS_URL is not set. */
    redis: Redis | undefined;
  }
}

const CONNECT_WAIT_MS = 2000;

/** `ready`, `unreachable` (configured but down) or `disabled` (no REDIS_URL). */
export function redisStatus(redis: Redis | undefined): 'ready' | 'unreachable' | 'disabled' {
  if (!redis) return 'disabled';
  return redis.status === 'ready' ? 'ready' : 'unreachable';
}

function safeUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/**
 * Redis is optional and never required for an answer: commands fail fast while it is down
 * (no offline queue, short timeout) and the client keeps reconnecting in the background.
 */
export const redisPlugin = fp<{ config: PolicyEngineConfig }>(async (app, { config }) => {
  if (!config.redisUrl) {
    app.decorate('redis', undefined);
    return;
  }
  const redis = new Redis(config.redisUrl, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: config.redisCommandTimeoutMs,
    connectTimeout: CONNECT_WAIT_MS,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  let down = false;
  redis.on('error', (error: Error) => {
    if (!down) app.log.warn({ err: error, redis: safeUrl(config.redisUrl!) }, 'Redis is unreachable; serving without L2');
    down = true;
  });
  redis.on('ready', () => {
    if (down) app.log.info({ redis: safeUrl(config.redisUrl!) }, 'Redis is back');
    down = false;
  });
  await redis.connect().catch(() => undefined);
  app.decorate('redis', redis);
  app.addHook('onClose', async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
});
