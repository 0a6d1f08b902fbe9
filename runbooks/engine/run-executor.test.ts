import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineRunbook } from './definition.js';
import { RunbookInputError, RunFailedError } from './errors.js';
import type { RunAuditSink, StepFinishedEvent } from './ports.js';
import { createRunbookRegistry, type RunbookRegistry } from './registry.js';
import { createRunExecutor, type RunExecutor } from './run-executor.js';
import type { RunRecord } from './run-store.js';
import { runbookTestDatabase, type RunbookTestDatabase } from './testing/database.js';
import { scriptedRunbook } from './testing/scripted-runbooks.js';

let t: RunbookTestDatabase;
beforeAll(async () => {
  t = await runbookTestDatabase();
});
afterAll(async () => {
  await t?.close();
});

interface Harness {
  executor: RunExecutor;
  registry: RunbookRegistry;
  events: string[];
  /** Submits, lets the runner drive it to where it stops, and returns the run. */
  runToStop(runbook: string, args?: unknown): Promise<RunRecord>;
  /** Drives what is claimable now to where it stops. */
  settle(runId: string): Promise<RunRecord>;
}

function harness(registry: RunbookRegistry, options: { leaseMs?: number; renewEveryMs?: number; audit?: Partial<RunAuditSink> } = {}): Harness {
  const events: string[] = [];
  const audit: RunAuditSink = {
    async stepStarted(event) {
      events.push(`start ${event.action} ${event.stepId}#${event.attempt}`);
    },
    async stepFinished(event: StepFinishedEvent) {
      events.push(`end ${event.action} ${event.stepId}#${event.attempt} ${event.outcome}`);
    },
    async runStateChanged(event) {
      events.push(`run ${event.state}`);
    },
    ...options.audit,
  };
  const executor = createRunExecutor({ store: t.store, registry, leaseMs: options.leaseMs ?? 2000, renewEveryMs: options.renewEveryMs ?? 200, audit });
  const settle = async (runId: string) => {
    await executor.scanNow();
    await executor.idle();
    return executor.get(runId);
  };
  return {
    executor,
    registry,
    events,
    settle,
    async runToStop(runbook, args = {}) {
      const run = await executor.submit({ runbook, args, requester: 'U0ONCALL', origin: 'test' });
      return settle(run.id);
    },
  };
}

async function attemptsOf(runId: string): Promise<string[]> {
  return (await t.store.attempts(runId)).map((a) => `${a.action} ${a.stepId}#${a.attempt} ${a.outcome}`);
}

describe('a run', () => {
  it("runs its steps in order, once each, and hands each step the outputs of the earlier ones and the run's requester and origin", async () => {
    const h = harness(createRunbookRegistry([scriptedRunbook(t.pool, 'in-order', [{ id: 'first' }, { id: 'second' }, { id: 'third' }])]));
    const run = await h.runToStop('in-order');
    expect(run).toMatchObject({ state: 'succeeded', reason: null, leaseOwner: null, leaseExpiresAt: null });
    expect(await attemptsOf(run.id)).toEqual(['run first#1 done', 'run second#1 done', 'run third#1 done']);
    const attempts = await t.store.attempts(run.id);
    expect(attempts[2]!.output).toEqual({ step: 'third', attempt: 1, saw: ['first', 'second'], requester: 'U0ONCALL', origin: 'test' });
    expect(h.events).toEqual([
      'start run first#1',
      'end run first#1 done',
      'start run second#1',
      'end run second#1 done',
      'start run third#1',
      'end run third#1 done',
      'run succeeded',
    ]);
  });

  it('stops for a decision when a step fails, and a retry runs that step again but not the ones before it', async () => {
    const h = harness(createRunbookRegistry([scriptedRunbook(t.pool, 'flaky', [{ id: 'first' }, { id: 'flaky' }, { id: 'last' }])]));
    const stopped = await h.runToStop('flaky', { failAttempts: { flaky: 1 } });
    expect(stopped.state).toBe('needs_decision');
    expect(stopped.reason).toBe('step "flaky" (Do flaky) failed: flaky failed on attempt 1 as scripted');
    expect(stopped.detail).toMatchObject({ step: { index: 1, id: 'flaky', attempt: 1, timedOut: false } });
    expect(stopped.leaseOwner).toBeNull();

    await h.executor.decide(stopped.id, 'retry', 'U0LEAD');
    const run = await h.settle(stopped.id);
    expect(run.state).toBe('succeeded');
    expect(await attemptsOf(run.id)).toEqual(['run first#1 done', 'run flaky#1 failed', 'run flaky#2 done', 'run last#1 done']);
  });

  it('a step that fails in a runbook that says `fail` ends the run as failed', async () => {
    const h = harness(createRunbookRegistry([scriptedRunbook(t.pool, 'strict', [{ id: 'only' }], { onStepFailure: 'fail' })]));
    const run = await h.runToStop('strict', { failAttempts: { only: 1 } });
    expect(run).toMatchObject({ state: 'failed', reason: 'step "only" (Do only) failed: only failed on attempt 1 as scripted' });
  });

  it('a step that dealt with its failure itself (RunFailedError) ends the run as failed with its sentence: no decision, no compensation, no later step', async () => {
    const undone: string[] = [];
    const handled = {
      definition: {
        id: 'deploy',
        kind: 'act' as const,
        title: 'Deploy and roll back on failure',
        timeoutMs: 5000,
        idempotent: true,
        async run() {
          throw new RunFailedError('9.2.0 was rolled back: policy-engine was not healthy; every service runs 9.1.0 again');
        },
        async compensate() {
          undone.push('deploy');
        },
        async dryRun() {
          return { mode: 'description' as const, text: 'deploys' };
        },
      },
    };
    const h = harness(createRunbookRegistry([scriptedRunbook(t.pool, 'self-healing', [{ id: 'first' }, handled, { id: 'after' }])]));
    const run = await h.runToStop('self-healing', {});
    expect(run).toMatchObject({ state: 'failed', reason: '9.2.0 was rolled back: policy-engine was not healthy; every service runs 9.1.0 again' });
    expect(await attemptsOf(run.id)).toEqual(['run first#1 done', 'run deploy#1 failed']);
    expect(undone).toEqual([]);
  });

  it('a step past its timeout is stopped through its signal and the run waits for a decision; skip goes on after it', async () => {
    const h = harness(createRunbookRegistry([scriptedRunbook(t.pool, 'slow', [{ id: 'slow', timeoutMs: 300 }, { id: 'after' }])]));
    const started = Date.now();
    const stopped = await h.runToStop('slow', { holdMs: { slow: 10_000 } });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(stopped).toMatchObject({ state: 'needs_decision', reason: 'step "slow" (Do slow) failed: step "slow" timed out after 300 ms' });
    expect(stopped.detail).toMatchObject({ step: { id: 'slow', timedOut: true } });
    // The step saw its signal fire: its mark ended as failed rather than running on.
    const marks = await t.pool.query('SELECT outcome FROM runbook_test_marks WHERE run_id = $1', [stopped.id]);
    expect(marks.rows).toEqual([{ outcome: 'failed' }]);

    await h.executor.decide(stopped.id, 'skip', 'U0LEAD');
    const run = await h.settle(stopped.id);
    expect(run.state).toBe('succeeded');
    expect(await attemptsOf(run.id)).toEqual(['run slow#1 failed', 'run slow#2 skipped', 'run after#1 done']);
    expect((await t.store.attempts(run.id))[1]).toMatchObject({ owner: 'decision:U0LEAD', error: 'skipped by U0LEAD' });
  });

  it('a step later steps need cannot be skipped: a clear refusal, nothing changed; retry still runs it again', async () => {
    const h = harness(createRunbookRegistry([scriptedRunbook(t.pool, 'needed', [{ id: 'make', skippable: false }, { id: 'use' }])]));
    const stopped = await h.runToStop('needed', { failAttempts: { make: 1 } });
    expect(stopped).toMatchObject({ state: 'needs_decision', detail: { step: { id: 'make', skippable: false } } });
    const refusal = await h.executor.decide(stopped.id, 'skip', 'U0LEAD').catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RunbookInputError);
    expect(refusal).toMatchObject({ code: 'cannot-skip', message: `Step "make" of run ${stopped.id} (needed) cannot be skipped: later steps need its output; retry or abort.` });
    expect(await h.executor.get(stopped.id)).toEqual(stopped);
    expect(await attemptsOf(stopped.id)).toEqual(['run make#1 failed']);

    await h.executor.decide(stopped.id, 'retry', 'U0LEAD');
    expect((await h.settle(stopped.id)).state).toBe('succeeded');
  });

  it('a step whose output cannot be stored as JSON stops the run for a decision instead of breaking the runner', async () => {
    const unstorable = defineRunbook({
      source: import.meta.url,
      name: 'unstorable',
      summary: 'Returns what JSON cannot hold',
      level: 0,
      args: z.object({}),
      steps: [
        {
          id: 'count',
          kind: 'check',
          title: 'Count things',
          timeoutMs: 1000,
          idempotent: true,
          async run() {
            return { count: 10n };
          },
          async dryRun() {
            return { mode: 'description', text: 'would count' };
          },
        },
      ],
    });
    const h = harness(createRunbookRegistry([unstorable]));
    const run = await h.runToStop('unstorable');
    expect(run.state).toBe('needs_decision');
    expect(run.reason).toMatch(/^step "count" \(Count things\) failed: it finished, but its output could not be stored as JSON \(.*BigInt/);
    expect(await attemptsOf(run.id)).toEqual(['run count#1 failed']);
  });

  it('a step whose start the audit trail refuses does not run', async () => {
    const h = harness(createRunbookRegistry([scriptedRunbook(t.pool, 'unaudited', [{ id: 'act' }])]), {
      audit: {
        async stepStarted() {
          throw new Error('trail unavailable');
        },
      },
    });
    const run = await h.runToStop('unaudited');
    expect(run.state).toBe('needs_decision');
    expect(run.reason).toMatch(/the audit trail did not record the step's start \(trail unavailable\), so it did not run/);
    expect((await t.pool.query('SELECT 1 FROM runbook_test_marks WHERE run_id = $1', [run.id])).rowCount).toBe(0);
  });
});

describe('abort', () => {
  const steps = [
    { id: 'one', undoable: true },
    { id: 'two' },
    { id: 'three', undoable: true },
    { id: 'four', undoable: true },
    { id: 'five', undoable: true },
  ];

  it('undoes the completed steps in reverse order and says which had no undo and which failed to undo', async () => {
    const h = harness(createRunbookRegistry([scriptedRunbook(t.pool, 'undo', steps)]));
    const stopped = await h.runToStop('undo', { failAttempts: { five: 1 }, failCompensation: ['three'] });
    expect(stopped.state).toBe('needs_decision');
    await h.executor.decide(stopped.id, 'abort', 'U0LEAD');
    const run = await h.settle(stopped.id);
    expect(run.state).toBe('aborted');
    expect(run.reason).toBe('aborted; undone: four, one; no way to undo: two; could not undo: three (undoing three failed as scripted)');
    expect(run.detail).toEqual({ undone: ['four', 'one'], nothingToUndo: ['two'], couldNotUndo: [{ step: 'three', error: 'undoing three failed as scripted' }] });
    const undo = await t.pool.query<{ step_id: string }>(`SELECT step_id FROM runbook_test_marks WHERE run_id = $1 AND action = 'compensate' ORDER BY id`, [run.id]);
    expect(undo.rows.map((row) => row.step_id)).toEqual(['four', 'three', 'one']);
    expect(await attemptsOf(run.id)).toContain('compensate four#2 compensated');
    expect(await attemptsOf(run.id)).toContain('compensate three#2 failed');
  });

  it('of a running run stops the step at hand through its signal, then undoes what completed', async () => {
    const h = harness(createRunbookRegistry([scriptedRunbook(t.pool, 'undo-live', steps)]));
    h.executor.start();
    try {
      const run = await h.executor.submit({ runbook: 'undo-live', args: { holdMs: { three: 30_000 } }, requester: 'U0ONCALL', origin: 'test' });
      await expect.poll(() => h.events.includes('start run three#1'), { timeout: 5000 }).toBe(true);
      const asked = Date.now();
      await h.executor.abort(run.id, 'U0LEAD');
      await expect.poll(async () => (await h.executor.get(run.id)).state, { timeout: 5000 }).toBe('aborted');
      expect(Date.now() - asked).toBeLessThan(3000);
      const ended = await h.executor.get(run.id);
      expect(ended.reason).toBe('aborted; undone: one; no way to undo: two');
      expect(await attemptsOf(run.id)).toEqual(['run one#1 done', 'run two#1 done', 'run three#1 interrupted', 'compensate one#2 compensated']);
    } finally {
      await h.executor.stop();
    }
  });

  it('of a step that undoes a partial run waits for it to come to rest, then undoes it too', async () => {
    const log: string[] = [];
    const partial = defineRunbook({
      source: import.meta.url,
      name: 'partial-undo',
      summary: 'Moves things one at a time',
      level: 0,
      args: z.object({}),
      steps: [
        {
          id: 'move',
          kind: 'act',
          title: 'Move three things, one at a time',
          timeoutMs: 30_000,
          idempotent: true,
          undoesPartialRun: true,
          async run({ signal }) {
            for (const thing of ['a', 'b', 'c']) {
              signal.throwIfAborted();
              log.push(`moving ${thing}`);
              // The stop comes while b moves; each move runs to its end (a while after the stop).
              if (thing === 'b') await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
              await new Promise((resolve) => setTimeout(resolve, 200));
              log.push(`moved ${thing}`);
            }
            return { moved: 3 };
          },
          async compensate() {
            log.push('putting back');
            return { putBack: true };
          },
          async dryRun() {
            return { mode: 'description', text: 'would move' };
          },
        },
      ],
    });
    const h = harness(createRunbookRegistry([partial]));
    h.executor.start();
    try {
      const run = await h.executor.submit({ runbook: 'partial-undo', args: {}, requester: 'U0ONCALL', origin: 'test' });
      await expect.poll(() => log.includes('moving b'), { timeout: 5000 }).toBe(true);
      await h.executor.abort(run.id, 'U0LEAD');
      await expect.poll(async () => (await h.executor.get(run.id)).state, { timeout: 5000 }).toBe('aborted');
      expect(log).toEqual(['moving a', 'moved a', 'moving b', 'moved b', 'putting back']);
      expect((await h.executor.get(run.id)).reason).toBe('aborted; undone: move');
      expect(await attemptsOf(run.id)).toEqual(['run move#1 interrupted', 'compensate move#2 compensated']);
    } finally {
      await h.executor.stop();
    }
  });

  it('of a step that finishes when aborted waits for it to end before the run reads aborted; a shutdown does not wait', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let started = false;
    let h!: Harness;
    const cleaning = defineRunbook({
      source: import.meta.url,
      name: 'finishes-when-aborted',
      summary: 'Cleans up after itself when stopped',
      level: 0,
      args: z.object({}),
      steps: [
        {
          id: 'ask',
          kind: 'act',
          title: 'Ask, and withdraw what was asked once stopped',
          timeoutMs: 30_000,
          idempotent: true,
          finishesWhenAborted: true,
          async run({ signal }) {
            started = true;
            // Ignores its signal until the test lets it end: the cleanup it does then must come first.
            await released;
            if (signal.aborted) h.events.push('cleaned up');
            signal.throwIfAborted();
            return {};
          },
          async dryRun() {
            return { mode: 'description', text: 'would ask' };
          },
        },
      ],
    });
    h = harness(createRunbookRegistry([cleaning]));
    h.executor.start();
    try {
      const run = await h.executor.submit({ runbook: 'finishes-when-aborted', args: {}, requester: 'U0ONCALL', origin: 'test' });
      await expect.poll(() => started, { timeout: 5000 }).toBe(true);
      await h.executor.abort(run.id, 'U0LEAD');
      // Two renewals later the runner still drives the run, waiting for the step.
      const renewals = new Set<number>();
      await expect.poll(async () => (renewals.add((await h.executor.get(run.id)).leaseExpiresAt?.getTime() ?? 0), renewals.size), { timeout: 5000, interval: 20 }).toBeGreaterThan(2);
      expect((await h.executor.get(run.id)).state).toBe('aborting');
      release();
      await expect.poll(async () => (await h.executor.get(run.id)).state, { timeout: 5000 }).toBe('aborted');
      expect(h.events.slice(h.events.indexOf('cleaned up'))).toEqual(['cleaned up', 'end run ask#1 interrupted', 'run aborted']);
      expect(await attemptsOf(run.id)).toEqual(['run ask#1 interrupted']);
    } finally {
      release();
      await h.executor.stop();
    }

    // A shutdown hands the run back at once, however long the step takes to end.
    let hold!: () => void;
    const held = new Promise<void>((resolve) => (hold = resolve));
    const stopping = harness(createRunbookRegistry([{ ...cleaning, steps: [{ ...cleaning.steps[0]!, run: () => held.then(() => ({})) }] }]));
    stopping.executor.start();
    try {
      const run = await stopping.executor.submit({ runbook: 'finishes-when-aborted', args: {}, requester: 'U0ONCALL', origin: 'test' });
      await expect.poll(async () => (await t.store.attempts(run.id)).length, { timeout: 5000 }).toBe(1);
      await stopping.executor.stop();
      expect(await stopping.executor.get(run.id)).toMatchObject({ state: 'pending', leaseOwner: null });
      expect(await attemptsOf(run.id)).toEqual(['run ask#1 running']);
      // The next runner (its step ends at once) takes it over, so no run is left for the other tests.
      const next = harness(createRunbookRegistry([{ ...cleaning, steps: [{ ...cleaning.steps[0]!, run: async () => ({}) }] }]));
      expect(await next.settle(run.id)).toMatchObject({ state: 'succeeded' });
    } finally {
      hold();
      await stopping.executor.stop();
    }
  });

  it('asked in the process that drives the run reaches its step at once, not at the next lease renewal', async () => {
    let stepSignal: AbortSignal | undefined;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const waiting = defineRunbook({
      source: import.meta.url,
      name: 'abort-at-once',
      summary: 'Waits for the test, then looks at its signal',
      level: 0,
      args: z.object({}),
      steps: [
        {
          id: 'wait',
          kind: 'act',
          title: 'Wait for the test',
          timeoutMs: 30_000,
          idempotent: true,
          async run({ signal }) {
            stepSignal = signal;
            await released;
            signal.throwIfAborted();
            return {};
          },
          async dryRun() {
            return { mode: 'description', text: 'would wait' };
          },
        },
      ],
    });
    // A renewal a minute away: only the abort asked here can have fired the signal.
    const h = harness(createRunbookRegistry([waiting]), { leaseMs: 120_000, renewEveryMs: 60_000 });
    const run = await h.executor.submit({ runbook: 'abort-at-once', args: {}, requester: 'U0ONCALL', origin: 'test' });
    await h.executor.scanNow();
    try {
      await expect.poll(() => stepSignal !== undefined, { timeout: 5000 }).toBe(true);
      expect(stepSignal!.aborted).toBe(false);
      await h.executor.abort(run.id, 'U0LEAD');
      expect(stepSignal!.aborted).toBe(true);
    } finally {
      release();
    }
    await h.executor.idle();
    expect(await h.executor.get(run.id)).toMatchObject({ state: 'aborted' });
  });

  it('of a run that never started ends it with nothing to undo', async () => {
    const h = harness(createRunbookRegistry([scriptedRunbook(t.pool, 'undo-early', steps)]));
    const run = await h.executor.submit({ runbook: 'undo-early', args: {}, requester: 'U0ONCALL', origin: 'test' });
    expect((await h.executor.abort(run.id, 'U0ONCALL')).state).toBe('aborting');
    const ended = await h.settle(run.id);
    expect(ended).toMatchObject({ state: 'aborted', reason: 'aborted; nothing was undone' });
    expect(await attemptsOf(run.id)).toEqual([]);
  });
});

describe('a runner shutting down', () => {
  it('lets a non-idempotent step at hand end within the grace and hands the run back for another runner, which goes on from the next step', async () => {
    const registry = createRunbookRegistry([scriptedRunbook(t.pool, 'handed-back', [{ id: 'first', idempotent: false }, { id: 'second' }])]);
    const leaving = harness(registry);
    leaving.executor.start();
    const run = await leaving.executor.submit({ runbook: 'handed-back', args: { holdMs: { first: 300 } }, requester: 'U0', origin: 'test' });
    await expect.poll(() => leaving.events.includes('start run first#1'), { timeout: 5000 }).toBe(true);
    await leaving.executor.stop();
    const handed = await t.store.get(run.id);
    expect(handed).toMatchObject({ state: 'pending', leaseOwner: null, reason: `handed back by ${leaving.executor.owner}, which is shutting down` });
    expect(await attemptsOf(run.id)).toEqual(['run first#1 done']);
    const ended = await harness(registry).settle(run.id);
    expect(ended.state).toBe('succeeded');
    expect(await attemptsOf(run.id)).toEqual(['run first#1 done', 'run second#1 done']);
  });
});

describe('a runner shutting down while undoing', () => {
  it('stops the compensation at hand at once and hands the run back; the next runner undoes that step again and ends the abort', async () => {
    const registry = createRunbookRegistry([scriptedRunbook(t.pool, 'undo-stopped', [{ id: 'one', undoable: true }, { id: 'two' }])]);
    const leaving = harness(registry);
    const stopped = await leaving.runToStop('undo-stopped', { failAttempts: { two: 1 }, holdCompensationMs: { one: 30_000 } });
    expect(stopped.state).toBe('needs_decision');
    leaving.executor.start();
    await leaving.executor.decide(stopped.id, 'abort', 'U0LEAD');
    await expect.poll(() => leaving.events.includes('start compensate one#2'), { timeout: 5000 }).toBe(true);
    const asked = Date.now();
    await leaving.executor.stop();
    expect(Date.now() - asked).toBeLessThan(3000);
    expect(await t.store.get(stopped.id)).toMatchObject({ state: 'aborting', leaseOwner: null });

    const ended = await harness(registry).settle(stopped.id);
    expect(ended).toMatchObject({ state: 'aborted', reason: 'aborted; undone: one' });
    expect(await attemptsOf(stopped.id)).toEqual(['run one#1 done', 'run two#1 failed', 'compensate one#2 interrupted', 'compensate one#3 compensated']);
  });
});

describe('versions', () => {
  it('an in-flight run finishes on the version it started with after the runbook changed', async () => {
    const registry = createRunbookRegistry([scriptedRunbook(t.pool, 'changing', [{ id: 'a' }, { id: 'b' }])]);
    const h = harness(registry);
    const run = await h.executor.submit({ runbook: 'changing', args: {}, requester: 'U0ONCALL', origin: 'test' });
    const first = run.version;
    registry.register(scriptedRunbook(t.pool, 'changing', [{ id: 'a' }, { id: 'b' }, { id: 'c' }]));
    expect(registry.current('changing').version).not.toBe(first);
    const ended = await h.settle(run.id);
    expect(ended).toMatchObject({ state: 'succeeded', version: first });
    expect(await attemptsOf(run.id)).toEqual(['run a#1 done', 'run b#1 done']);
  });

  it('a run whose version is gone stops for a decision; skip is refused, abort ends it saying nothing could be undone', async () => {
    const old = createRunbookRegistry([scriptedRunbook(t.pool, 'gone', [{ id: 'a', undoable: true }])]);
    const run = await harness(old).executor.submit({ runbook: 'gone', args: {}, requester: 'U0ONCALL', origin: 'test' });
    // A restarted process whose code has another version of the runbook.
    const h = harness(createRunbookRegistry([scriptedRunbook(t.pool, 'gone', [{ id: 'a', undoable: true, title: 'Do a, differently' }])]));
    const stopped = await h.settle(run.id);
    expect(stopped.state).toBe('needs_decision');
    expect(stopped.reason).toBe(
      `version gone: the run started on version ${run.version} of "gone", which this process does not have (the current version is ${h.registry.current('gone').version})`,
    );
    await expect(h.executor.decide(run.id, 'skip', 'U0LEAD')).rejects.toMatchObject({ code: 'cannot-skip' });
    expect(await h.executor.get(run.id)).toEqual(stopped);
    await h.executor.decide(run.id, 'abort', 'U0LEAD');
    const ended = await h.settle(run.id);
    expect(ended.state).toBe('aborted');
    expect(ended.reason).toMatch(/nothing could be undone: version [0-9a-f]{16} of "gone" is gone/);
  });
});

describe('bad input', () => {
  async function snapshot() {
    const runs = await t.pool.query('SELECT * FROM runbook_runs ORDER BY id');
    const attempts = await t.pool.query('SELECT * FROM runbook_step_attempts ORDER BY run_id, step_index, attempt');
    return { runs: runs.rows, attempts: attempts.rows };
  }

  it('each gets a clear error and changes nothing', async () => {
    const h = harness(createRunbookRegistry([scriptedRunbook(t.pool, 'inputs', [{ id: 'a' }])]));
    const done = await h.runToStop('inputs');
    const before = await snapshot();
    const refusals: Array<[() => Promise<unknown>, string, RegExp]> = [
      [() => h.executor.submit({ runbook: 'nope', args: {}, requester: 'U0', origin: 'test' }), 'unknown-runbook', /^There is no runbook "nope"\. Runbooks: inputs\.$/],
      [() => h.executor.submit({ runbook: 'inputs', args: { stepMs: -1 }, requester: 'U0', origin: 'test' }), 'bad-arguments', /^The arguments for "inputs" are not valid:[\s\S]*stepMs/],
      [() => h.executor.submit({ runbook: 'inputs', args: 'all', requester: 'U0', origin: 'test' }), 'bad-arguments', /not valid/],
      [() => h.executor.get('00000000-0000-4000-8000-000000000000'), 'unknown-run', /^There is no run "00000000-0000-4000-8000-000000000000"\.$/],
      [() => h.executor.get('not-a-run-id'), 'unknown-run', /^There is no run "not-a-run-id"\.$/],
      [() => h.executor.decide('00000000-0000-4000-8000-000000000000', 'retry', 'U0'), 'unknown-run', /There is no run/],
      [() => h.executor.abort('not-a-run-id', 'U0'), 'unknown-run', /There is no run/],
      [() => h.executor.decide(done.id, 'maybe' as never, 'U0'), 'unknown-decision', /^"maybe" is no decision; a run waiting for one can be retried, skipped or aborted\.$/],
      [() => h.executor.decide(done.id, 'retry', 'U0'), 'not-waiting-for-decision', /\(inputs\) has succeeded; it waits for no decision\.$/],
      [() => h.executor.abort(done.id, 'U0'), 'not-abortable', /\(inputs\) has succeeded; there is nothing to abort\.$/],
    ];
    for (const [refused, code, message] of refusals) {
      const error = await refused().catch((failure: unknown) => failure);
      expect(error).toBeInstanceOf(RunbookInputError);
      expect(error).toMatchObject({ code });
      expect((error as Error).message).toMatch(message);
    }
    expect(await snapshot()).toEqual(before);
  });

  it('a decision on a run that is running is refused', async () => {
    const h = harness(createRunbookRegistry([scriptedRunbook(t.pool, 'busy', [{ id: 'hold' }])]));
    h.executor.start();
    try {
      const run = await h.executor.submit({ runbook: 'busy', args: { holdMs: { hold: 1000 } }, requester: 'U0', origin: 'test' });
      await expect.poll(() => h.events.includes('start run hold#1'), { timeout: 5000 }).toBe(true);
      await expect(h.executor.decide(run.id, 'skip', 'U0')).rejects.toMatchObject({ code: 'not-waiting-for-decision', message: expect.stringMatching(/is running; it waits for no decision/) });
      await expect.poll(async () => (await h.executor.get(run.id)).state, { timeout: 5000 }).toBe('succeeded');
    } finally {
      await h.executor.stop();
    }
  });
});
