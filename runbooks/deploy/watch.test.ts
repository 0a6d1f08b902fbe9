/**
 * The watch's rules on scripted samples and a clock the test drives: each rule, exactly three
 * breaching samples in a row, samples not taken counted apart, four of them asking a person, and
 * the window ending.
 */
import { describe, expect, it } from 'vitest';
import { watchDeployment, type WatchClock, type WatchFigures, type WatchProgress, type WatchSampler } from './watch.js';

const HEALTHY = [
  { name: 'policy-engine', failing: false, status: 'healthy' },
  { name: 'audit-engine', failing: false, status: 'healthy' },
];
const GOOD: WatchFigures = { policyP99Ms: 0.8, errorRate: 0, safetyViolationsPerMinute: 0, health: HEALTHY };
const SLOW: WatchFigures = { ...GOOD, policyP99Ms: 7.5 };
const FAILING_REQUESTS: WatchFigures = { ...GOOD, errorRate: 0.002 };
const AUDIT_DOWN: WatchFigures = { ...GOOD, health: [HEALTHY[0]!, { name: 'audit-engine', failing: true, status: 'unreachable' }] };
const VIOLATIONS: WatchFigures = { ...GOOD, safetyViolationsPerMinute: 12 };
const QUERY_ERROR = new Error('policy engine metrics: connection refused');

const WALL_START = Date.parse('2026-12-07T03:00:00.000Z');

/** A clock whose sleeps pass at once; it records each wait. Its wall clock keeps pace unless stepped (as NTP may). */
function testClock(): WatchClock & { waits: number[]; pass(ms: number): void; stepWall(ms: number): void } {
  let now = 1_000_000;
  let wallStep = 0;
  const waits: number[] = [];
  return {
    waits,
    now: () => now,
    wallNow: () => WALL_START + (now - 1_000_000) + wallStep,
    async sleep(ms, signal) {
      signal.throwIfAborted();
      waits.push(ms);
      now += ms;
    },
    pass(ms) {
      now += ms;
    },
    stepWall(ms) {
      wallStep += ms;
    },
  };
}

/** Answers the scripted readings in order (the first is the counters' start, taken before sample 1); then GOOD. */
function scripted(...readings: Array<WatchFigures | Error>): WatchSampler & { calls: number } {
  const sampler = {
    calls: 0,
    async sample() {
      const reading = readings[sampler.calls++] ?? GOOD;
      if (reading instanceof Error) throw reading;
      return reading;
    },
  };
  return sampler;
}

const SMALL = { everyMs: 15_000, windowMs: 150_000 };

async function watch(sampler: WatchSampler, settings: object = SMALL) {
  const progress: WatchProgress[] = [];
  const clock = testClock();
  const verdict = await watchDeployment({ sampler, clock, settings, signal: new AbortController().signal, baseline: GOOD, onProgress: (each) => progress.push(each) });
  return { verdict, progress, clock };
}

describe('the post-deploy watch', () => {
  it('ends at once when the check before a sample throws (the run lost the stack), taking no further sample', async () => {
    const sampler = scripted();
    const lost = new Error('the deploy lock was taken over');
    let checks = 0;
    const clock = testClock();
    const beforeSample = async () => {
      checks += 1;
      if (checks === 3) throw lost;
    };
    await expect(watchDeployment({ sampler, clock, settings: SMALL, signal: new AbortController().signal, beforeSample })).rejects.toBe(lost);
    // The counters' start and samples 1 and 2; none after the check that threw.
    expect(sampler.calls).toBe(3);
    expect(checks).toBe(3);
  });

  it('passes when the window ends clean, with the figures it passed with, sampling every 15 s for 15 minutes by default', async () => {
    const sampler = scripted(GOOD, GOOD, { ...GOOD, policyP99Ms: 4.9, errorRate: 0.001, safetyViolationsPerMinute: 10 });
    const { verdict, progress, clock } = await watch(sampler, {});
    expect(verdict).toMatchObject({
      verdict: 'passed',
      counts: { samples: 60, breachingSamples: 0, queryErrors: 0 },
      // At the thresholds is not above them.
      worst: { policyP99Ms: 4.9, errorRate: 0.001, safetyViolationsPerMinute: 10 },
      baseline: GOOD,
      last: { number: 60, atMs: 900_000 },
    });
    expect(verdict.summary).toBe('the watch passed: 60 samples over 15 min, 0 breaching (never 3 in a row), 0 not taken');
    expect(sampler.calls).toBe(61);
    expect(clock.waits).toEqual(Array.from({ length: 60 }, () => 15_000));
    expect(progress).toHaveLength(60);
    expect(progress[0]!.text).toBe('Sample 1 of 60, 14 min 45 s left: p99 0.8 ms, errors 0 %, 2/2 health checks passing, 0 violations/min · 0 breaching, 0 in a row · 0 not taken');
    expect(progress[1]!.data).toMatchObject({ sample: 2, of: 60, leftMs: 870_000, counts: { samples: 2 } });
    expect(progress.at(-1)!.text).toMatch(/^Sample 60 of 60, 0 s left: /);
  });

  for (const [rule, figures, detail] of [
    ['policy-p99', SLOW, 'p99 7.5 ms > 5 ms'],
    ['error-rate', FAILING_REQUESTS, 'error rate 0.2 % > 0.1 %'],
    ['health', AUDIT_DOWN, 'failing: audit-engine unreachable'],
    ['safety-violations', VIOLATIONS, '12 violations/min > 10'],
  ] as const) {
    it(`calls for a rollback on three breaching samples in a row (${rule}), with the samples and the rule`, async () => {
      const { verdict, progress } = await watch(scripted(GOOD, GOOD, figures, figures, figures));
      expect(verdict).toMatchObject({ verdict: 'rollback', rules: [rule], counts: { samples: 4, breachingSamples: 3, queryErrors: 0 } });
      if (verdict.verdict !== 'rollback') throw new Error('unreachable');
      expect(verdict.breaching.map((sample) => sample.number)).toEqual([2, 3, 4]);
      expect(verdict.breaching[0]!.breaches).toEqual([{ rule, detail }]);
      expect(progress.at(-1)!.text).toContain(`breaching: ${detail} · 3 breaching, 3 in a row`);
    });
  }

  it('records the wall-clock time each sample was read: slow reads and a stepped wall clock show, the window keeps its pace', async () => {
    const clock = testClock();
    const readings = [GOOD, GOOD, SLOW, SLOW, SLOW];
    let calls = 0;
    const sampler: WatchSampler = {
      async sample() {
        const reading = readings[calls++]!;
        // Each read takes 1.5 s; during sample 2's (the third, after the counters' start) the wall clock is set back a minute.
        clock.pass(1500);
        if (calls === 3) clock.stepWall(-60_000);
        return reading;
      },
    };
    const verdict = await watchDeployment({ sampler, clock, settings: SMALL, signal: new AbortController().signal });
    if (verdict.verdict !== 'rollback') throw new Error(`expected a rollback, got ${verdict.summary}`);
    expect(verdict.breaching.map((sample) => [sample.number, sample.atMs, sample.at])).toEqual([
      [2, 30_000, '2026-12-07T02:59:31.500Z'],
      [3, 45_000, '2026-12-07T02:59:46.500Z'],
      [4, 60_000, '2026-12-07T03:00:01.500Z'],
    ]);
    expect(clock.waits).toEqual([13_500, 13_500, 13_500, 13_500]);
  });

  it('needs exactly three in a row: two breaches then a good sample start the count again', async () => {
    const { verdict } = await watch(scripted(GOOD, SLOW, SLOW, GOOD, AUDIT_DOWN, SLOW, GOOD, SLOW, SLOW));
    expect(verdict).toMatchObject({ verdict: 'passed', counts: { samples: 10, breachingSamples: 6, queryErrors: 0 } });
  });

  it('names every rule broken across the three, the most often broken first', async () => {
    const { verdict } = await watch(scripted(GOOD, SLOW, { ...SLOW, errorRate: 0.01 }, { ...AUDIT_DOWN, policyP99Ms: 9 }));
    expect(verdict).toMatchObject({ verdict: 'rollback', rules: ['policy-p99', 'error-rate', 'health'] });
    expect(verdict.summary).toBe('3 breaching samples in a row (Policy Engine p99 above 5 ms; error rate above 0.1 %; a health check failing): roll back');
  });

  it('counts a sample it could not take apart: never a breach, and it does not end a run of breaches either', async () => {
    const { verdict, progress } = await watch(scripted(GOOD, SLOW, QUERY_ERROR, SLOW, QUERY_ERROR, QUERY_ERROR, GOOD, SLOW, QUERY_ERROR, SLOW, SLOW));
    expect(verdict).toMatchObject({ verdict: 'rollback', counts: { samples: 6, breachingSamples: 5, queryErrors: 4 } });
    if (verdict.verdict !== 'rollback') throw new Error('unreachable');
    expect(verdict.breaching.map((sample) => sample.number)).toEqual([7, 9, 10]);
    expect(progress[1]!.text).toBe('Sample 2 of 10, 2 min 0 s left: sample not taken (policy engine metrics: connection refused) · 1 breaching, 1 in a row · 1 not taken');
  });

  it('asks a person after four samples in a row it could not take, saying what failed', async () => {
    const { verdict } = await watch(scripted(GOOD, SLOW, QUERY_ERROR, QUERY_ERROR, QUERY_ERROR, GOOD, QUERY_ERROR, QUERY_ERROR, QUERY_ERROR, QUERY_ERROR));
    expect(verdict).toMatchObject({ verdict: 'needs-decision', counts: { samples: 2, breachingSamples: 1, queryErrors: 7 } });
    if (verdict.verdict !== 'needs-decision') throw new Error('unreachable');
    expect(verdict.errors.map((each) => each.number)).toEqual([6, 7, 8, 9]);
    expect(verdict.summary).toBe('4 samples in a row could not be taken (last: policy engine metrics: connection refused); a person decides whether the release stays');
  });

  it('does not judge rates it could not measure: without the counters\' start, the first sample\'s rates are not known', async () => {
    const { verdict } = await watch(scripted(QUERY_ERROR, FAILING_REQUESTS, FAILING_REQUESTS, GOOD));
    expect(verdict).toMatchObject({ verdict: 'passed', counts: { samples: 10, breachingSamples: 1, queryErrors: 0 } });
  });

  it('stops at once when its signal fires (the run is aborted), judging nothing', async () => {
    const controller = new AbortController();
    const sampler = scripted(GOOD, SLOW);
    const stopping = watchDeployment({ sampler, clock: testClock(), settings: SMALL, signal: controller.signal, onProgress: () => controller.abort(new Error('aborted')) });
    await expect(stopping).rejects.toThrow('aborted');
    expect(sampler.calls).toBe(2);
  });

  for (const [settings, message] of [
    [{ everyMs: 0 }, 'watch: everyMs must be a whole number of at least 1, not 0'],
    [{ windowMs: 1.5 }, 'watch: windowMs must be a whole number of at least 1, not 1.5'],
    [{ breachesForRollback: -1 }, 'watch: breachesForRollback must be a whole number of at least 1, not -1'],
    [{ everyMs: 60_000, windowMs: 30_000 }, 'watch: a sample every 60000 ms does not fit in a window of 30000 ms'],
  ] as const) {
    it(`refuses settings that cannot work (${JSON.stringify(settings)}) before sampling anything`, async () => {
      const sampler = scripted();
      await expect(watchDeployment({ sampler, clock: testClock(), settings, signal: new AbortController().signal })).rejects.toThrow(message);
      expect(sampler.calls).toBe(0);
    });
  }
});
