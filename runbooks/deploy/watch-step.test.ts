/**
 * The watch as a step of a run: scripted runbooks (runbooks/engine/testing/) with a baseline, a
 * deploy, the watch and what follows it, driven by a real RunExecutor on the real PostgreSQL,
 * with scripted samplers and a short window on the real clock. The verdict is the step's output,
 * each sample its progress, and a watch that cannot read the stack stops the run for a person.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StepDefinition } from '../engine/definition.js';
import { createRunbookRegistry } from '../engine/registry.js';
import { createRunExecutor, type RunExecutor } from '../engine/run-executor.js';
import { runbookTestDatabase, type RunbookTestDatabase } from '../engine/testing/database.js';
import { scriptedRunbook, type ScriptArgs } from '../engine/testing/scripted-runbooks.js';
import type { WatchFigures, WatchSampler } from './watch.js';
import { baselineStep, watchStep } from './watch-step.js';

const GOOD: WatchFigures = { policyP99Ms: 0.7, errorRate: 0, safetyViolationsPerMinute: 0, health: [{ name: 'policy-engine', failing: false, status: 'healthy' }] };
const SLOW: WatchFigures = { ...GOOD, policyP99Ms: 8 };
const FAST = { everyMs: 40, windowMs: 240 };

const always = (reading: WatchFigures | Error): (() => WatchSampler) => () => ({
  async sample() {
    if (reading instanceof Error) throw reading;
    return reading;
  },
});

/** What a deploy runbook's rollback step would do: read the watch's verdict. */
const rollBackIfTold: StepDefinition<ScriptArgs> = {
  id: 'roll-back',
  kind: 'act',
  title: 'Roll back when the watch says so',
  timeoutMs: 5000,
  idempotent: true,
  async run(context) {
    return { rolledBack: (context.outputs.watch as { verdict: string }).verdict === 'rollback' };
  },
  async dryRun() {
    return { mode: 'description', text: 'rolls back when the watch says so' };
  },
};

let t: RunbookTestDatabase;
let executor: RunExecutor;

function deployRunbook(name: string, sampler: () => WatchSampler) {
  return scriptedRunbook(t.pool, name, [
    { definition: baselineStep<ScriptArgs>({ sampler: () => always({ ...GOOD, policyP99Ms: 0.5 })() }) },
    { id: 'deploy', title: 'Roll the release out' },
    { definition: watchStep<ScriptArgs>({ settings: FAST, sampler, baselineFrom: 'baseline' }) },
    { definition: rollBackIfTold },
  ]);
}

beforeAll(async () => {
  t = await runbookTestDatabase();
  const registry = createRunbookRegistry([
    deployRunbook('deploy-passes', always(GOOD)),
    deployRunbook('deploy-breaches', always(SLOW)),
    deployRunbook('deploy-blind', always(new Error('connection refused'))),
    scriptedRunbook(t.pool, 'deploy-no-clients', [{ definition: watchStep<ScriptArgs>({ settings: FAST }) }]),
  ]);
  executor = createRunExecutor({ store: t.store, registry, leaseMs: 2000, renewEveryMs: 200, progressEveryMs: 100 });
});
afterAll(async () => {
  await executor?.stop();
  await t?.close();
});

async function runToStop(runbook: string) {
  const run = await executor.submit({ runbook, args: {}, requester: 'U0ONCALL', origin: 'test' });
  await executor.scanNow();
  await executor.idle();
  return { run: (await t.store.get(run.id))!, attempts: await t.store.attempts(run.id) };
}

describe('the watch as a step', () => {
  it('passes a clean window: the verdict with the baseline is its output, and its last progress is the last sample', async () => {
    const { run, attempts } = await runToStop('deploy-passes');
    expect(run.state).toBe('succeeded');
    const watch = attempts.find((attempt) => attempt.stepId === 'watch')!;
    expect(watch.output).toMatchObject({ verdict: 'passed', counts: { samples: 6, breachingSamples: 0, queryErrors: 0 }, baseline: { policyP99Ms: 0.5 }, worst: { policyP99Ms: 0.7 } });
    expect(watch.progress).toMatchObject({ text: expect.stringMatching(/^Sample 6 of 6, 0 s left: p99 0\.7 ms, errors 0 %, 1\/1 health checks passing, 0 violations\/min/), data: { sample: 6, of: 6 } });
    expect(attempts.find((attempt) => attempt.stepId === 'roll-back')!.output).toEqual({ rolledBack: false });
  });

  it('calls for a rollback after three breaching samples: the next step reads the verdict and rolls back', async () => {
    const { run, attempts } = await runToStop('deploy-breaches');
    expect(run.state).toBe('succeeded');
    const watch = attempts.find((attempt) => attempt.stepId === 'watch')!;
    expect(watch.output).toMatchObject({ verdict: 'rollback', rules: ['policy-p99'], counts: { samples: 3, breachingSamples: 3 } });
    expect((watch.output as { breaching: unknown[] }).breaching).toHaveLength(3);
    expect(watch.progress?.text).toContain('breaching: p99 8 ms > 5 ms · 3 breaching, 3 in a row');
    expect(attempts.find((attempt) => attempt.stepId === 'roll-back')!.output).toEqual({ rolledBack: true });
  });

  it('stops the run for a person when it cannot read the stack four samples in a row', async () => {
    const { run, attempts } = await runToStop('deploy-blind');
    expect(run.state).toBe('needs_decision');
    expect(run.reason).toBe(
      'step "watch" (Watch the stack for 240 ms after the deploy (a sample every 40 ms)) failed: the watch could not read the stack: 4 samples in a row could not be taken (last: connection refused); a person decides whether the release stays',
    );
    // The window is 240 ms of real time: on a loaded machine the fourth sample may come after it ended.
    expect(attempts.find((attempt) => attempt.stepId === 'watch')!.progress?.text).toMatch(/^Sample 4 of 6, 0 s left: sample not taken \(connection refused\) · 0 breaching, 0 in a row · 4 not taken$/);
    expect(attempts.map((attempt) => attempt.stepId)).not.toContain('roll-back');
    await executor.abort(run.id, 'U0ONCALL');
    await executor.scanNow();
    await executor.idle();
  });

  it('without service clients in this process, fails saying so, having sampled nothing', async () => {
    const { run } = await runToStop('deploy-no-clients');
    expect(run).toMatchObject({ state: 'needs_decision' });
    expect(run.reason).toContain('this process has no service clients (ports.commands) to watch the stack with');
  });

  it('says in its plan what it would do, without sampling', async () => {
    const plan = await executor.plan('deploy-passes', {});
    expect(plan.steps.find((step) => step.id === 'watch')!.dryRun).toMatchObject({
      mode: 'description',
      text: expect.stringMatching(/^Would take a sample every 40 ms for 240 ms; 3 breaching samples in a row \(Policy Engine p99 above 5 ms; error rate above 0\.1 %; a health check failing; safety violations above 10 per minute\) call for a rollback, 4 samples not taken in a row ask a person$/),
    });
  });

  it("binds the approval to the runbook's default watch in the units people set it in", async () => {
    const target = (await watchStep<ScriptArgs>().dryRun!({ ports: {} } as never)).target;
    expect(target).toBe('watch 15 min every 15 s, rollback after 3');
  });

  it("says in the baseline's plan the p99 it reads now, or that there were no decisions to measure", async () => {
    const dryRunOf = async (reading: WatchFigures) => (await baselineStep<ScriptArgs>({ sampler: always(reading) }).dryRun!({} as never)).text;
    expect(await dryRunOf(GOOD)).toBe('now: p99 0.7 ms, every health check passing');
    expect(await dryRunOf({ ...GOOD, policyP99Ms: null })).toBe('now: p99 n/a (no decisions to measure), every health check passing');
  });
});
