import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** TEST_REDIS_URL with another database number: suites that need a db of their own say which. */
export function testRedisUrl(db: number): string {
  const url = new URL(TEST_REDIS_URL);
  url.pathname = `/${db}`;
  return url.toString();
}

/**
 * A unique key prefix per test file, and a check that fails (never skips) when Redis is down.
 * `db`: a database number of the suite's own (taken: 9, 10, 13, 14 are flushed or watched by
 * the redis flush suites; 11 by the shared modes suites; 12 by the L2 cache signature suite); default TEST_REDIS_URL's.
 */
export async function requireRedis(options: { db?: number } = {}): Promise<{ url: string; prefix: string; cleanup(): Promise<void> }> {
  const prefix = `acgs-test:${randomBytes(4).toString('hex')}:`;
  const url = options.db === undefined ? TEST_REDIS_URL : testRedisUrl(options.db);
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw new Error(`Redis is not reachable at ${url} (${(error as Error).message}); run scripts/provision.sh or npm test`);
  }
  return {
    url,
    prefix,
    async cleanup() {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length > 0) await client.del(...keys);
      client.disconnect();
    },
  };
}
