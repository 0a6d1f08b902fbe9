import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireRedis } from '../../test/testing/redis.js';
import type { AuditOutbox } from '../kit/audit-outbox.js';
import { CONSTITUTIONAL_HASH } from '../kit/constitution.js';
import { type Decision, PolicyInput } from './contract.js';
import { DecisionCache } from './decision-cache.js';
import { DecisionService } from './decision-service.js';
import { EngineStats } from './engine-stats.js';
import { deriveL2SigningKey } from './l2-entry-signature.js';
import type { PolicyRuntime } from './policy-runtime.js';
import { compliantInput } from './testing/policy-fixtures.js';

const NORMAL = { strict: false, lockdown: false };
const ALLOW: Decision = {
  allow: true,
  compliance_score: 1,
  threshold: 0.95,
  reasons: ['all constitutional principles satisfied'],
  violations: [],
  safety_violation: false,
  mode: NORMAL,
  constitutional_hash: CONSTITUTIONAL_HASH,
};

/** Blocks the thread without using the CPU, as a preempted process on a busy machine does. */
function sleepWithoutCpu(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A policy whose evaluations take `wallMs` of wall-clock time but almost no CPU. */
function stalledPolicy(wallMs: number): PolicyRuntime {
  return {
    version: 'v-test',
    appliedModes: NORMAL,
    decide: () => {
      sleepWithoutCpu(wallMs);
      return ALLOW;
    },
  } as unknown as PolicyRuntime;
}

const noAudit = { record: () => undefined } as unknown as AuditOutbox;

describe('decision service on the real Redis', () => {
  let redisInfo: Awaited<ReturnType<typeof requireRedis>>;
  let redis: Redis;

  beforeAll(async () => {
    redisInfo = await requireRedis();
    redis = new Redis(redisInfo.url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 200, lazyConnect: true });
    await redis.connect();
  });
  afterAll(async () => {
    redis?.disconnect();
    await redisInfo?.cleanup();
  });

  it('judges the cost of an evaluation by its CPU time, so a busy machine does not switch the L2 lookups on', async () => {
    const cache = new DecisionCache({ l1Max: 100, l2: { redis, signingKey: deriveL2SigningKey('decision-service-test-admin-token-0123456789') }, keyPrefix: `${redisInfo.prefix}cpu:`, l2TtlSeconds: 60 });
    const stats = new EngineStats(new Registry(), {
      cache: () => cache.stats(),
      policyVersion: () => 'v-test',
      modes: () => NORMAL,
      startedAt: Date.now(),
    });
    const service = new DecisionService({ policy: stalledPolicy(5), cache, stats, audit: noAudit, l2LookupMinEvalMs: 0.5 });
    for (let i = 0; i < 5; i++) {
      const input = PolicyInput.parse(compliantInput({ context: { agent: { id: `stalled-${i}`, trust_level: 0.9 } } }));
      expect((await service.decide(input)).source).toBe('policy');
    }
    expect(cache.stats().l2).toMatchObject({ bypassed: 5, hits: 0, misses: 0 });
    expect(service.averageEvaluationMs).toBeLessThan(0.5);
  });
});
