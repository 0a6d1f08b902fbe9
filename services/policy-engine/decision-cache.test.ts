import { createHmac } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { requireRedis } from '../../test/testing/redis.js';
import { CONSTITUTIONAL_HASH } from '../kit/constitution.js';
import { type Decision, PolicyInput } from './contract.js';
import { DecisionCache, type DecisionCacheOptions, cachedDecision, decisionCacheKey } from './decision-cache.js';
import { deriveL2SigningKey, openL2Entry, sealL2Entry } from './l2-entry-signature.js';

const NORMAL = { strict: false, lockdown: false };
const SIGNING_KEY = deriveL2SigningKey('decision-cache-test-admin-token-0123456789');

function decision(allow: boolean): Decision {
  return {
    allow,
    compliance_score: allow ? 1 : 0.2,
    threshold: 0.95,
    reasons: [allow ? 'all constitutional principles satisfied' : 'denied'],
    violations: [],
    safety_violation: false,
    mode: NORMAL,
    constitutional_hash: CONSTITUTIONAL_HASH,
  };
}

const input = PolicyInput.parse({
  constitutional_hash: CONSTITUTIONAL_HASH,
  action: 'data.read',
  context: { agent: { id: 'a', trust_level: 0.9 }, environment: { audit_enabled: true, sandbox_enabled: true } },
});

describe('decision cache key', () => {
  it('is the same for the same input whatever the order of its keys', () => {
    const reordered = PolicyInput.parse({
      context: { environment: { sandbox_enabled: true, audit_enabled: true }, agent: { trust_level: 0.9, id: 'a' } },
      action: 'data.read',
      constitutional_hash: CONSTITUTIONAL_HASH,
    });
    expect(decisionCacheKey(reordered, 'v1', NORMAL)).toBe(decisionCacheKey(input, 'v1', NORMAL));
  });

  it('changes with the input, the policy version and each mode', () => {
    const keys = new Set([
      decisionCacheKey(input, 'v1', NORMAL),
      decisionCacheKey({ ...input, action: 'data.write' }, 'v1', NORMAL),
      decisionCacheKey(input, 'v2', NORMAL),
      decisionCacheKey(input, 'v1', { strict: true, lockdown: false }),
      decisionCacheKey(input, 'v1', { strict: false, lockdown: true }),
    ]);
    expect(keys.size).toBe(5);
    for (const key of keys) expect(key).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('decision cache without Redis', () => {
  it('counts L1 hits and misses and evicts beyond its size', async () => {
    const cache = new DecisionCache({ l1Max: 2, keyPrefix: 'unused:', l2TtlSeconds: 60 });
    expect(cache.lookupL1('a')).toBeUndefined();
    await cache.store('a', cachedDecision(decision(true)));
    expect(cache.lookupL1('a')?.decision.allow).toBe(true);
    await cache.store('b', cachedDecision(decision(false)));
    await cache.store('c', cachedDecision(decision(false)));
    expect(cache.hasL1('b')).toBe(true);
    expect(cache.stats().l1).toEqual({ size: 2, max: 2, hits: 1, misses: 1 });
    expect(cache.stats().l2.enabled).toBe(false);
    expect(await cache.lookupL2('a')).toBeUndefined();
  });

  it('keeps the serialized response body beside the decision', () => {
    const entry = cachedDecision(decision(true));
    expect(JSON.parse(entry.body)).toEqual({ result: entry.decision });
  });
});

describe('decision cache on the real Redis', () => {
  let redisInfo: Awaited<ReturnType<typeof requireRedis>>;
  let clients: Redis[] = [];

  beforeAll(async () => {
    redisInfo = await requireRedis();
  });
  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await redisInfo?.cleanup();
  });

  function client(url = redisInfo.url): Redis {
    const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 200, lazyConnect: true });
    redis.on('error', () => undefined);
    clients.push(redis);
    return redis;
  }

  async function connected(url = redisInfo.url): Promise<Redis> {
    const redis = client(url);
    await redis.connect();
    return redis;
  }

  function signedCache(l1Max: number, redis: Redis, keyPrefix: string, l2TtlSeconds: number, more: Partial<DecisionCacheOptions> = {}): DecisionCache {
    return new DecisionCache({ l1Max, l2: { redis, signingKey: SIGNING_KEY }, keyPrefix, l2TtlSeconds, ...more });
  }

  /** Where a cache signing with SIGNING_KEY keeps `key` in Redis. */
  function l2Name(prefix: string, key: string): string {
    return `${prefix}decision:${SIGNING_KEY.id}:${key}`;
  }

  /** The decision JSON of a stored entry, after checking its MAC. */
  async function storedDecision(redis: Redis, prefix: string, key: string): Promise<unknown> {
    const opened = openL2Entry(SIGNING_KEY, key, (await redis.get(l2Name(prefix, key)))!);
    if (!opened.ok) throw new Error(`the stored entry of ${key} is ${opened.problem}`);
    return JSON.parse(opened.json);
  }

  it('serves a decision stored by one cache as an L2 hit of another sharing Redis', async () => {
    const prefix = `${redisInfo.prefix}share:`;
    const first = signedCache(10, await connected(), prefix, 60);
    const second = signedCache(10, await connected(), prefix, 60);
    const key = decisionCacheKey(input, 'v1', NORMAL);
    await first.store(key, cachedDecision(decision(true)));
    expect(second.lookupL1(key)).toBeUndefined();
    const hit = await second.lookupL2(key);
    expect(hit?.decision).toEqual(decision(true));
    expect(second.lookupL1(key)?.decision.allow).toBe(true);
    expect(second.stats().l2).toEqual({ enabled: true, hits: 1, misses: 0, errors: 0, bypassed: 0, rejected: 0 });
  });

  it('stores in L1 at once and sends the L2 writes of one turn after it, together in one pipeline', async () => {
    const redis = await connected();
    const prefix = `${redisInfo.prefix}deferred:`;
    const cache = signedCache(10, redis, prefix, 60);
    const pipeline = vi.spyOn(redis, 'pipeline');
    const stored = ['a', 'b', 'c'].map((key) => cache.store(key, cachedDecision(decision(key !== 'b'))));
    expect(cache.hasL1('a')).toBe(true);
    expect(pipeline).not.toHaveBeenCalled();
    await Promise.all(stored);
    expect(pipeline).toHaveBeenCalledTimes(1);
    expect(await storedDecision(redis, prefix, 'b')).toEqual(decision(false));
    expect(await storedDecision(redis, prefix, 'c')).toEqual(decision(true));
    await cache.store('d', cachedDecision(decision(true)));
    expect(pipeline).toHaveBeenCalledTimes(2);
    expect(cache.stats().l2.errors).toBe(0);
  });

  it('sets a TTL on L2 entries', async () => {
    const redis = await connected();
    const prefix = `${redisInfo.prefix}ttl:`;
    const cache = signedCache(10, redis, prefix, 120);
    await cache.store('k', cachedDecision(decision(true)));
    const ttl = await redis.ttl(l2Name(prefix, 'k'));
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);
  });

  it('treats a correctly signed but corrupt L2 entry as an error and a miss, never as a decision', async () => {
    const redis = await connected();
    const prefix = `${redisInfo.prefix}corrupt:`;
    await redis.set(l2Name(prefix, 'k'), sealL2Entry(SIGNING_KEY, 'k', '{"allow":"yes"}'));
    const cache = signedCache(10, redis, prefix, 60);
    expect(await cache.lookupL2('k')).toBeUndefined();
    expect(cache.stats().l2.errors).toBe(1);
    expect(cache.hasL1('k')).toBe(false);
  });

  describe('refuses a forged L2 entry: never served, counted as rejected and a miss, reported', () => {
    // What the attack plants: "allow" where the cache holds "deny".
    const key = decisionCacheKey(input, 'v1', NORMAL);
    const forgedAllow = JSON.stringify(decision(true));

    /** Stores the real "deny", lets `plant` overwrite it in Redis, then asks a fresh cache. */
    async function lookupAfterPlanting(name: string, plant: (redis: Redis, entryName: string) => Promise<unknown>) {
      const redis = await connected();
      const prefix = `${redisInfo.prefix}${name}:`;
      await signedCache(10, redis, prefix, 60).store(key, cachedDecision(decision(false)));
      await plant(redis, l2Name(prefix, key));
      const reported: Array<[string, string]> = [];
      const reader = signedCache(10, redis, prefix, 60, { onL2Rejected: (cacheKey, problem) => reported.push([cacheKey, problem]) });
      const found = await reader.lookupL2(key);
      return { found, reader, reported };
    }

    function expectRefused(result: Awaited<ReturnType<typeof lookupAfterPlanting>>, problem: string): void {
      expect(result.found).toBeUndefined();
      expect(result.reader.hasL1(key)).toBe(false);
      expect(result.reader.stats().l2).toMatchObject({ hits: 0, misses: 1, errors: 0, rejected: 1 });
      expect(result.reported).toEqual([[key, problem]]);
    }

    it('when the entry has no MAC', async () => {
      expectRefused(await lookupAfterPlanting('unsigned', (redis, name) => redis.set(name, forgedAllow)), 'unsigned');
    });

    it('when the MAC is not hex', async () => {
      expectRefused(await lookupAfterPlanting('not-hex', (redis, name) => redis.set(name, `${'z'.repeat(64)}.${forgedAllow}`)), 'unsigned');
    });

    it('when the MAC was made with another key', async () => {
      const other = deriveL2SigningKey('another-admin-token-0123456789abcdefghij');
      expectRefused(await lookupAfterPlanting('other-key', (redis, name) => redis.set(name, sealL2Entry(other, key, forgedAllow))), 'wrong MAC');
    });

    it('when the MAC was made with the admin token itself (the mode-signing key), not the derived key', async () => {
      const token = 'decision-cache-test-admin-token-0123456789';
      const withToken = `${createHmac('sha256', token).update(key).update('\n').update(forgedAllow).digest('hex')}.${forgedAllow}`;
      expectRefused(await lookupAfterPlanting('token-key', (redis, name) => redis.set(name, withToken)), 'wrong MAC');
    });

    it('when a validly signed entry of another input is copied onto this key', async () => {
      const otherKey = decisionCacheKey({ ...input, action: 'health.check' }, 'v1', NORMAL);
      const copied = sealL2Entry(SIGNING_KEY, otherKey, forgedAllow);
      expectRefused(await lookupAfterPlanting('copied', (redis, name) => redis.set(name, copied)), 'wrong MAC');
    });

    it('when the decision was changed after signing', async () => {
      const tampered = sealL2Entry(SIGNING_KEY, key, JSON.stringify(decision(false))).replace('"allow":false', '"allow":true');
      expectRefused(await lookupAfterPlanting('tampered', (redis, name) => redis.set(name, tampered)), 'wrong MAC');
    });
  });

  it('looks only at the entries of its own signing key, so another key\'s are plain misses', async () => {
    const redis = await connected();
    const prefix = `${redisInfo.prefix}rotated:`;
    const key = decisionCacheKey(input, 'v1', NORMAL);
    await signedCache(10, redis, prefix, 60).store(key, cachedDecision(decision(true)));
    const rotated = new DecisionCache({
      l1Max: 10,
      l2: { redis, signingKey: deriveL2SigningKey('rotated-admin-token-0123456789abcdefghij') },
      keyPrefix: prefix,
      l2TtlSeconds: 60,
    });
    expect(await rotated.lookupL2(key)).toBeUndefined();
    expect(rotated.stats().l2).toMatchObject({ hits: 0, misses: 1, rejected: 0 });
  });

  it('clears only its own prefix in Redis, using SCAN', async () => {
    const redis = await connected();
    const prefix = `${redisInfo.prefix}clear:`;
    const foreign = `${redisInfo.prefix}other-service:decision:keep`;
    await redis.set(foreign, 'not ours');
    const cache = signedCache(10, redis, prefix, 60);
    for (let i = 0; i < 25; i++) await cache.store(`k${i}`, cachedDecision(decision(i % 2 === 0)));
    const cleared = await cache.clear();
    expect(cleared).toEqual({ l1: 10, l2: 25 });
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
    expect(await redis.get(foreign)).toBe('not ours');
  });

  it('counts Redis failures and answers "not cached" instead of failing', async () => {
    // Port 1 on loopback: nothing listens, so every command fails.
    const dead = client('redis://127.0.0.1:1');
    await dead.connect().catch(() => undefined);
    const cache = signedCache(10, dead, 'dead:', 60);
    await cache.store('k', cachedDecision(decision(true)));
    expect(await cache.lookupL2('missing')).toBeUndefined();
    expect(cache.stats().l2.errors).toBe(2);
    expect(cache.lookupL1('k')?.decision.allow).toBe(true);
    await expect(cache.clear()).rejects.toThrow();
    expect(cache.stats().l1.size).toBe(0);
  });
});
