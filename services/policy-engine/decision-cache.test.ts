import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { requireRedis } from '../../test/kit/redis.js';
import { CONSTITUTIONAL_HASH } from '../kit/constitution.js';
import { type Decision, PolicyInput } from './contract.js';
import { DecisionCache, cachedDecision, decisionCacheKey } from './decision-cache.js';

const NORMAL = { strict: false, lockdown: false };

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

  it('serves a decision stored by one cache as an L2 hit of another sharing Redis', async () => {
    const prefix = `${redisInfo.prefix}share:`;
    const first = new DecisionCache({ l1Max: 10, redis: await connected(), keyPrefix: prefix, l2TtlSeconds: 60 });
    const second = new DecisionCache({ l1Max: 10, redis: await connected(), keyPrefix: prefix, l2TtlSeconds: 60 });
    const key = decisionCacheKey(input, 'v1', NORMAL);
    await first.store(key, cachedDecision(decision(true)));
    expect(second.lookupL1(key)).toBeUndefined();
    const hit = await second.lookupL2(key);
    expect(hit?.decision).toEqual(decision(true));
    expect(second.lookupL1(key)?.decision.allow).toBe(true);
    expect(second.stats().l2).toEqual({ enabled: true, hits: 1, misses: 0, errors: 0, bypassed: 0 });
  });

  it('stores in L1 at once and sends the L2 writes of one turn after it, together in one pipeline', async () => {
    const redis = await connected();
    const prefix = `${redisInfo.prefix}deferred:`;
    const cache = new DecisionCache({ l1Max: 10, redis, keyPrefix: prefix, l2TtlSeconds: 60 });
    const pipeline = vi.spyOn(redis, 'pipeline');
    const stored = ['a', 'b', 'c'].map((key) => cache.store(key, cachedDecision(decision(key !== 'b'))));
    expect(cache.hasL1('a')).toBe(true);
    expect(pipeline).not.toHaveBeenCalled();
    await Promise.all(stored);
    expect(pipeline).toHaveBeenCalledTimes(1);
    expect(JSON.parse((await redis.get(`${prefix}decision:b`))!)).toEqual(decision(false));
    expect(JSON.parse((await redis.get(`${prefix}decision:c`))!)).toEqual(decision(true));
    await cache.store('d', cachedDecision(decision(true)));
    expect(pipeline).toHaveBeenCalledTimes(2);
    expect(cache.stats().l2.errors).toBe(0);
  });

  it('sets a TTL on L2 entries', async () => {
    const redis = await connected();
    const prefix = `${redisInfo.prefix}ttl:`;
    const cache = new DecisionCache({ l1Max: 10, redis, keyPrefix: prefix, l2TtlSeconds: 120 });
    await cache.store('k', cachedDecision(decision(true)));
    const ttl = await redis.ttl(`${prefix}decision:k`);
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);
  });

  it('treats a corrupt L2 entry as an error and a miss, never as a decision', async () => {
    const redis = await connected();
    const prefix = `${redisInfo.prefix}corrupt:`;
    await redis.set(`${prefix}decision:k`, '{"allow":"yes"}');
    const cache = new DecisionCache({ l1Max: 10, redis, keyPrefix: prefix, l2TtlSeconds: 60 });
    expect(await cache.lookupL2('k')).toBeUndefined();
    expect(cache.stats().l2.errors).toBe(1);
    expect(cache.hasL1('k')).toBe(false);
  });

  it('clears only its own prefix in Redis, using SCAN', async () => {
    const redis = await connected();
    const prefix = `${redisInfo.prefix}clear:`;
    const foreign = `${redisInfo.prefix}other-service:decision:keep`;
    await redis.set(foreign, 'not ours');
    const cache = new DecisionCache({ l1Max: 10, redis, keyPrefix: prefix, l2TtlSeconds: 60 });
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
    const cache = new DecisionCache({ l1Max: 10, redis: dead, keyPrefix: 'dead:', l2TtlSeconds: 60 });
    await cache.store('k', cachedDecision(decision(true)));
    expect(await cache.lookupL2('missing')).toBeUndefined();
    expect(cache.stats().l2.errors).toBe(2);
    expect(cache.lookupL1('k')?.decision.allow).toBe(true);
    await expect(cache.clear()).rejects.toThrow();
    expect(cache.stats().l1.size).toBe(0);
  });
});
