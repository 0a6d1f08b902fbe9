/**
 * Connections to the stack's own PostgreSQL and Redis, opened the way read-only commands need
 * them: fail fast while the server is down (a status command must answer, not queue), never crash
 * the process on a lost connection, and remember why the last attempt failed so that a check can
 * say "connection refused at 127.0.0.1:6379" instead of a client library's internal state.
 */
import { Redis } from 'ioredis';
import pg from 'pg';

const lastRedisError = new WeakMap<Redis, Error>();

export function openStackRedis(url: string, options: { connectTimeoutMs?: number } = {}): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: options.connectTimeoutMs ?? 2000,
    // Keeps trying in the background (the bot lives long), without holding a CLI run open.
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
  redis.on('error', (error: Error) => lastRedisError.set(redis, error));
  redis.on('ready', () => lastRedisError.delete(redis));
  return redis;
}

/** Why the client is not connected, in words, or undefined while it is. */
export function redisConnectionProblem(redis: Redis): string | undefined {
  if (redis.status === 'ready') return undefined;
  const error = lastRedisError.get(redis);
  return error ? error.message : `not connected (${redis.status})`;
}

/** Connects a lazy client once; later calls are no-ops while it is connected or reconnecting. */
export async function ensureRedisConnected(redis: Redis): Promise<void> {
  if (redis.status !== 'wait') return;
  // A refused connection reaches the 'error' listener first; connect() then only says "Connection is closed".
  await redis.connect().catch((error: Error) => {
    if (!lastRedisError.has(redis)) lastRedisError.set(redis, error);
  });
}

export function openStackPostgres(url: string, options: { connectTimeoutMs?: number } = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    // Status queries only: two connections are plenty and leave the services their share.
    max: 2,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 2000,
    idleTimeoutMillis: 10_000,
    application_name: 'acgs-chatops',
  });
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** `host:port/database` of a pool, for messages; never the password. */
export function postgresLocation(pool: pg.Pool): string {
  const options = (pool as unknown as { options: { connectionString?: string; host?: string; port?: number; database?: string } }).options;
  if (options.connectionString) {
    try {
      const url = new URL(options.connectionString);
      return `${url.hostname}:${url.port || '5432'}${url.pathname}`;
    } catch {
      return 'the configured PostgreSQL';
    }
  }
  return `${options.host ?? 'localhost'}:${options.port ?? 5432}/${options.database ?? ''}`;
}

/** `host:port` of a Redis client, for messages. */
export function redisLocation(redis: Redis): string {
  const { host, port, path } = redis.options;
  return path ? path : `${host ?? '127.0.0.1'}:${port ?? 6379}`;
}
