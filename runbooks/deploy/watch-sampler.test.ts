/**
 * The watch's sampler against the real Policy Engine (in-process, the committed policy) with real
 * decisions sent to it, and a real Redis of its own that the test stops: figures from the engine's
 * counters between two samples, a health check failing as a breach, and metrics that cannot be
 * read, or a health check answered after its deadline, as a sample not taken (an error, never a
 * breach).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommandDependencies } from '../../commands/dependencies.js';
import { compliantInput, dangerousInput } from '../../services/policy-engine/testing/policy-fixtures.js';
import { openStackRedis } from '../../services/stack/stack-connections.js';
import { stackRedisOn } from '../../services/stack/stack-redis-on-ioredis.js';
import { startPolicyEngine, type RunningPolicyEngine } from '../../test/testing/policy-engine.js';
import { startPasswordRedis, type PasswordRedis } from '../../test/testing/redis-server.js';
import { startSlowHttpProxy } from '../../test/testing/slow-http-proxy.js';
import { breachesOf, systemWatchClock, watchDeployment } from './watch.js';
import { createWatchSampler, MIN_DECISIONS_FOR_P99 } from './watch-sampler.js';

const NOTHING = 'http://127.0.0.1:9';
let engine: RunningPolicyEngine | undefined;
let redisServer: PasswordRedis | undefined;
let redis: ReturnType<typeof openStackRedis> | undefined;
let services: ReturnType<typeof createCommandDependencies>;

beforeAll(async () => {
  engine = await startPolicyEngine();
  redisServer = await startPasswordRedis();
  redis = openStackRedis(redisServer.url, { connectTimeoutMs: 500 });
  services = createCommandDependencies({
    endpoints: { 'policy-engine': engine.url, 'audit-engine': NOTHING, 'evolution-oversight': NOTHING, 'sandbox-controller': NOTHING },
    redis: stackRedisOn(redis),
    checkTimeoutMs: 1500,
  });
}, 30_000);

afterAll(async () => {
  redis?.disconnect();
  await redisServer?.stop();
  await engine?.close();
});

const sampler = () => createWatchSampler({ services, healthTargets: ['policy-engine', 'redis'] });
const never = () => new AbortController().signal;

describe('the watch sampler', () => {
  it('reads p99 from the engine\'s window and the error rate from its counters between two samples; a healthy stack breaks no rule', async () => {
    const watch = sampler();
    await watch.sample(never());
    for (let index = 0; index < 200; index += 1) await services.policyEngine.decide(compliantInput());
    const figures = await watch.sample(never());
    expect(figures.policyP99Ms).toBeGreaterThan(0);
    expect(figures.errorRate).toBe(0);
    expect(figures.safetyViolationsPerMinute).toBe(0);
    expect(figures.health.map((check) => [check.name, check.failing])).toEqual([
      ['policy-engine', false],
      ['policy-engine policy', false],
      ['redis', false],
    ]);
    expect(breachesOf({ ...figures, policyP99Ms: null }).map((breach) => breach.rule)).toEqual([]);

    // No request since: no error rate to judge (and not a zero that hides nothing was measured).
    expect((await watch.sample(never())).errorRate).toBeNull();
    // Too few decisions since the last sample: their p99 is merely the slowest of them, not judged.
    for (let index = 0; index < MIN_DECISIONS_FOR_P99 - 1; index += 1) await services.policyEngine.decide(compliantInput());
    expect((await watch.sample(never())).policyP99Ms).toBeNull();
  });

  it('counts safety violations per minute between two samples: a burst of dangerous requests breaches', async () => {
    const watch = sampler();
    await watch.sample(never());
    for (let index = 0; index < 15; index += 1) await services.policyEngine.decide(dangerousInput(`agent-burst-${index}`));
    const figures = await watch.sample(never());
    // 15 violations in well under a minute of the engine's uptime.
    expect(figures.safetyViolationsPerMinute).toBeGreaterThan(15);
    expect(breachesOf(figures).map((breach) => breach.rule)).toContain('safety-violations');
  });

  it('a stopped service fails its health check: a breach, while the engine\'s figures are still read', async () => {
    const watch = sampler();
    await watch.sample(never());
    await redisServer!.stop();
    const figures = await watch.sample(never());
    expect(figures.health.find((check) => check.name === 'redis')).toMatchObject({ failing: true });
    expect(breachesOf(figures).find((breach) => breach.rule === 'health')?.detail).toMatch(/^failing: redis unreachable /);
  });

  it('a health check answered after its deadline makes a sample not taken, never a breach: the watch asks a person rather than rolling back', async () => {
    // A real service whose /health answers late, as the Sandbox Controller did under load.
    const slow = await startSlowHttpProxy({ target: engine!.url, slow: (path) => path === '/health', delayMs: 900 });
    try {
      const busy = createCommandDependencies({
        endpoints: { 'policy-engine': engine!.url, 'audit-engine': NOTHING, 'evolution-oversight': NOTHING, 'sandbox-controller': slow.url },
        checkTimeoutMs: 300,
      });
      const watch = createWatchSampler({ services: busy, healthTargets: ['policy-engine', 'sandbox-controller'] });
      await expect(watch.sample(never())).rejects.toThrow(/^sandbox-controller did not answer its health check within 300 ms$/);

      const verdict = await watchDeployment({ sampler: watch, clock: systemWatchClock, settings: { everyMs: 1, windowMs: 6 }, signal: never() });
      expect(verdict).toMatchObject({ verdict: 'needs-decision', counts: { samples: 0, breachingSamples: 0, queryErrors: 4 } });
      expect(verdict.summary).toBe('4 samples in a row could not be taken (last: sandbox-controller did not answer its health check within 300 ms); a person decides whether the release stays');

      // The baseline before a deploy takes it as a failing figure instead: it must not stop the deploy.
      const baseline = await createWatchSampler({ services: busy, healthTargets: ['policy-engine', 'sandbox-controller'], lateChecks: 'failing' }).sample(never());
      expect(baseline.health.find((check) => check.name === 'sandbox-controller')).toMatchObject({ failing: true });

      // Slow but within the deadline is an answer like any other.
      slow.delayMs = 50;
      const figures = await watch.sample(never());
      expect(figures.health.map((check) => [check.name, check.failing])).toEqual([
        ['policy-engine', false],
        ['policy-engine policy', false],
        ['sandbox-controller', false],
      ]);
    } finally {
      await slow.close();
    }
  });

  it('metrics that cannot be read are an error saying so (the watch counts it apart), not figures', async () => {
    const watch = sampler();
    await watch.sample(never());
    await engine!.close();
    engine = undefined;
    await expect(watch.sample(never())).rejects.toThrow(/^the Policy Engine's metrics could not be read \(.+\)$/);
  });
});
