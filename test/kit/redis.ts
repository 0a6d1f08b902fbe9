import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A unique key prefix per test file, and a check that fails (never skips) when Redis is down. */
export async function requireRedis(): Promise<{ url: string; prefix: string; cleanup(): Promise<void> }> {
  const prefix = `acgs-test:${randomBytes(4).toString('hex')}:`;
  const client = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw new Error(`Redis is not reachable at ${TEST_REDIS_URL} (${(error as Error).message}); run scripts/provision.sh or npm test`);
  }
  return {
    url: TEST_REDIS_URL,
    prefix,
    async cleanup() {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length > 0) await client.del(...keys);
      client.disconnect();
    },
  };
}
