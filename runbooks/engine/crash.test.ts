/**
 * Real crashes: a runner in a child process is SIGKILLed mid-step, and another runner takes the
 * run over once the lease runs out. And two runner processes on one database share out runs
 * without ever running a step of one run at the same time.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRunbookRegistry } from './registry.js';
import { checkRequest } from './requests.js';
import { createRunExecutor } from './run-executor.js';
import { createGateStore } from './gate-store.js';
import { createRunbookRuns } from '../../bot/runbook-runs/runbook-runs.js';
import { runStatusDocument } from '../../commands/run-documents.js';
import { runbookTestDatabase, type RunbookTestDatabase } from './testing/database.js';
import { startRunnerProcess } from './testing/runner-events.js';
import { crashRunbooks } from './testing/scripted-runbooks.js';

const RUNNER_PROCESS = fileURLToPath(new URL('./testing/runner-process.ts', import.meta.url));
const LEASE_MS = 2000;
const RENEW_EVERY_MS = 400;
/** Takeover within one lease plus this (the goal is lease + 5 s): a scan, a claim, a step start. */
const TAKEOVER_MARGIN_MS = 3000;

let t: RunbookTestDatabase;
const children: ChildProcessWithoutNullStreams[] = [];
beforeAll(async () => {
  t = await runbookTestDatabase();
});
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
  }
});
afterAll(async () => {
  await t?.close();
});

function startRunner(owner: string, options: { leaseMs?: number; renewEveryMs?: number; scanEveryMs?: number; shutdownGraceMs?: number } = {}) {
  const runner = startRunnerProcess({
    script: RUNNER_PROCESS,
    options: {
      databaseUrl: t.db.url,
      owner,
      leaseMs: options.leaseMs ?? LEASE_MS,
      renewEveryMs: options.renewEveryMs ?? RENEW_EVERY_MS,
      scanEveryMs: options.scanEveryMs ?? 200,
      ...(options.shutdownGraceMs === undefined ? {} : { shutdownGraceMs: options.shutdownGraceMs }),
    },
    name: owner,
    children,
    waitMs: 15_000,
  });
  return {
    ...runner,
    async versions(): Promise<Record<string, string>> {
      return (await runner.waitFor((event) => event.event === 'started')).versions!;
    },
  };
}

/**
 * Records a run the way submit does, on the version this process computes, after checking that
 * the runner process (tsx) computes the same one: a version must not depend on the loader.
 */
async function submit(runbook: string, args: unknown, versions: Record<string, string>) {
  const { runbook: here, args: parsed } = checkRequest(createRunbookRegistry(crashRunbooks(t.pool)), runbook, args);
  expect(versions[runbook]).toBe(here.version);
  return t.store.create({ runbook, version: here.version, args: parsed, requester: 'U0ONCALL', origin: 'test' });
}

/**
 * Runner A runs the run and is killed mid-step; runner B, already up (as another replica would
 * be), must take it over. Returns B with the run and the moment A died.
 */
async function killMidStep(runbook: string, stepId: string, args: Record<string, unknown> = {}, beforeKill?: (runId: string) => Promise<void>) {
  const a = startRunner('runner-a');
  const run = await submit(runbook, { holdMs: { [stepId]: 60_000 }, ...args }, await a.versions());
  await a.waitFor((event) => event.event === 'stepStarted' && event.runId === run.id && event.stepId === stepId);
  // The step is really under way in the child: its mark is there and has not ended.
  await expect
    .poll(async () => (await t.pool.query('SELECT pid, finished_at FROM runbook_test_marks WHERE run_id = $1 AND step_id = $2', [run.id, stepId])).rows, { timeout: 5000, interval: 20 })
    .toEqual([{ pid: a.child.pid, finished_at: null }]);
  const b = startRunner('runner-b');
  await b.versions();
  await beforeKill?.(run.id);
  a.child.kill('SIGKILL');
  expect(await a.exited).toBe('SIGKILL');
  return { run, b, killedAt: Date.now(), childPid: a.child.pid! };
}

async function attemptsOf(runId: string) {
  return (await t.store.attempts(runId)).map((a) => `${a.stepId}#${a.attempt} ${a.outcome} ${a.owner}`);
}

async function marksOf(runId: string) {
  const { rows } = await t.pool.query<{ step_id: string; attempt: number; pid: number; outcome: string | null }>(
    'SELECT step_id, attempt, pid, outcome FROM runbook_test_marks WHERE run_id = $1 ORDER BY id',
    [runId],
  );
  return rows;
}

describe('a runner SIGKILLed mid-step', () => {
  it('in an idempotent step: another runner takes over within the lease, runs that step again, and the run succeeds', { timeout: 60_000 }, async () => {
    const { run, b, killedAt, childPid } = await killMidStep('copy-files', 'copy');
    // Still "running" under the dead runner's lease until it runs out: never a run without a holder.
    expect(await t.store.get(run.id)).toMatchObject({ state: 'running', leaseOwner: 'runner-a' });

    await expect.poll(async () => (await t.store.get(run.id))?.state, { timeout: LEASE_MS + TAKEOVER_MARGIN_MS + 10_000, interval: 100 }).toBe('succeeded');
    const rerun = b.events.find((event) => event.event === 'stepStarted' && event.stepId === 'copy')!;
    expect(rerun.attempt).toBe(2);
    expect(rerun.receivedAt - killedAt).toBeLessThan(LEASE_MS + TAKEOVER_MARGIN_MS);
    expect(await attemptsOf(run.id)).toEqual(['prepare#1 done runner-a', 'copy#1 interrupted runner-a', 'copy#2 done runner-b', 'verify#1 done runner-b']);
    // The completed step was not run again; the interrupted one ran once in each process.
    expect((await marksOf(run.id)).map((mark) => [mark.step_id, mark.attempt, mark.pid === childPid ? 'killed' : 'takeover', mark.outcome])).toEqual([
      ['prepare', 1, 'killed', 'done'],
      ['copy', 1, 'killed', null],
      ['copy', 2, 'takeover', 'done'],
      ['verify', 1, 'takeover', 'done'],
    ]);
  });

  it('in a non-idempotent step: the next runner does not run it again but stops for a decision saying what is known', { timeout: 60_000 }, async () => {
    const { run, b, killedAt } = await killMidStep('send-once', 'send');
    await b.waitFor((event) => event.event === 'runStateChanged' && event.runId === run.id, LEASE_MS + TAKEOVER_MARGIN_MS + 10_000);
    const decided = b.events.find((event) => event.event === 'runStateChanged' && event.runId === run.id)!;
    expect(decided.state).toBe('needs_decision');
    expect(decided.receivedAt - killedAt).toBeLessThan(LEASE_MS + TAKEOVER_MARGIN_MS);
    const stopped = (await t.store.get(run.id))!;
    expect(stopped).toMatchObject({
      leaseOwner: null,
      reason: 'step "send" (Do send) was interrupted and is not safe to run again by itself: retry, skip or abort',
      detail: { step: { id: 'send', index: 1, attempt: 1, idempotent: false, outcome: 'interrupted', owner: 'runner-a', interruptedByTakeover: true } },
    });
    expect(await attemptsOf(run.id)).toEqual(['prepare#1 done runner-a', 'send#1 interrupted runner-a']);
    expect(b.events.filter((event) => event.event === 'stepStarted')).toEqual([]);

    // A person decides to retry: now it runs again, once.
    await t.store.decide(run.id, 'retry', 'U0LEAD');
    await expect.poll(async () => (await t.store.get(run.id))?.state, { timeout: 10_000, interval: 100 }).toBe('succeeded');
    expect(await attemptsOf(run.id)).toEqual(['prepare#1 done runner-a', 'send#1 interrupted runner-a', 'send#2 done runner-b', 'verify#1 done runner-b']);
  });
});

describe('a step\'s progress when its runner is SIGKILLed', () => {
  it('stays on the interrupted attempt: after the takeover, run status shows how far the step got', { timeout: 60_000 }, async () => {
    // The last of three quick reports is written an interval (2 s) after the first: killed once it is.
    const { run, b } = await killMidStep('send-once', 'send', { progress: { send: { count: 3, everyMs: 0 } } }, async (runId) => {
      await expect.poll(async () => (await t.store.attempts(runId)).find((attempt) => attempt.stepId === 'send')?.progress?.text, { timeout: 5000, interval: 20 }).toBe('report 3 of 3');
    });
    await b.waitFor((event) => event.event === 'runStateChanged' && event.runId === run.id, LEASE_MS + TAKEOVER_MARGIN_MS + 10_000);
    const [, send] = await t.store.attempts(run.id);
    expect(send).toMatchObject({ stepId: 'send', outcome: 'interrupted', owner: 'runner-a', progress: { text: 'report 3 of 3', data: { k: 3, count: 3 } } });

    // `run status` as the bot answers it: the port over the store, read by another process than the dead one.
    const registry = createRunbookRegistry(crashRunbooks(t.pool));
    const runs = createRunbookRuns({ registry, store: t.store, executor: createRunExecutor({ store: t.store, registry }), gates: createGateStore(t.pool) });
    const status = runStatusDocument(await runs.get(run.id));
    expect(status.summary).toContain('is waiting for a decision');
    expect(status.blocks).toContainEqual({ type: 'text', text: expect.stringMatching(/^Step 2 \(Do send\), attempt 1, last progress at .+: report 3 of 3$/) });
  });
});

/**
 * Runner A runs the run, holding `stepId` for `holdMs`, and gets SIGTERM as soon as the step has
 * started; runner B starts once A has gone (starting it before would let a slow start outlast a
 * short hold, and A would be stopped after the step instead of in it). Returns how long A took to
 * exit after the signal, and its exit code.
 */
async function stopMidStep(runbook: string, stepId: string, holdMs: number, shutdownGraceMs?: number) {
  const a = startRunner('runner-a', shutdownGraceMs === undefined ? {} : { shutdownGraceMs });
  const run = await submit(runbook, { holdMs: { [stepId]: holdMs } }, await a.versions());
  await a.waitFor((event) => event.event === 'stepStarted' && event.runId === run.id && event.stepId === stepId);
  const asked = Date.now();
  a.child.kill('SIGTERM');
  // Bounded so that a shutdown that waits for the step fails here rather than at the test's timeout.
  const exit = await Promise.race([a.exited, new Promise((resolve) => setTimeout(() => resolve('still running'), (shutdownGraceMs ?? 0) + 5000))]);
  const tookMs = Date.now() - asked;
  const b = startRunner('runner-b');
  await b.versions();
  return { run, b, exit, tookMs };
}

describe('a runner process stopped (SIGTERM) mid-step', () => {
  it('in an idempotent step: stops it at once, hands the run back, and another runner runs that step again', { timeout: 60_000 }, async () => {
    const { run, exit, tookMs } = await stopMidStep('copy-files', 'copy', 60_000);
    expect(exit).toBe(0);
    expect(tookMs).toBeLessThan(3000);
    // Until it ends, however it ends: a run that stops otherwise says why (its reason, its attempts).
    const ended = await vi.waitFor(
      async () => {
        const current = await t.store.get(run.id);
        if (current?.state === 'pending' || current?.state === 'running') throw new Error(`still ${current.state}`);
        return current;
      },
      { timeout: 15_000, interval: 100 },
    );
    expect(ended?.state, `${ended?.reason ?? ''} ${JSON.stringify(ended?.detail)} ${(await attemptsOf(run.id)).join(', ')}`).toBe('succeeded');
    expect(await attemptsOf(run.id)).toEqual(['prepare#1 done runner-a', 'copy#1 interrupted runner-a', 'copy#2 done runner-b', 'verify#1 done runner-b']);
    // The completed step was not run again; the stopped one ran once in each process.
    expect((await marksOf(run.id)).map((mark) => [mark.step_id, mark.attempt])).toEqual([
      ['prepare', 1],
      ['copy', 1],
      ['copy', 2],
      ['verify', 1],
    ]);
  });

  it('in a non-idempotent step that outlasts the grace: abandons it after the grace, and the next runner stops the run for a decision', { timeout: 60_000 }, async () => {
    const { run, exit, tookMs } = await stopMidStep('send-once', 'send', 60_000, 1000);
    expect(exit).toBe(0);
    expect(tookMs).toBeGreaterThanOrEqual(1000);
    expect(tookMs).toBeLessThan(1000 + 3000);
    await expect.poll(async () => (await t.store.get(run.id))?.state, { timeout: 15_000, interval: 100 }).toBe('needs_decision');
    expect(await t.store.get(run.id)).toMatchObject({
      leaseOwner: null,
      reason: 'step "send" (Do send) was interrupted and is not safe to run again by itself: retry, skip or abort',
      detail: { step: { id: 'send', attempt: 1, outcome: 'interrupted', owner: 'runner-a', interruptedByTakeover: true } },
    });
    expect(await attemptsOf(run.id)).toEqual(['prepare#1 done runner-a', 'send#1 interrupted runner-a']);
  });

  it('in a non-idempotent step that ends within the grace: records it, hands the run back, and the next runner goes on after it', { timeout: 60_000 }, async () => {
    const { run, exit, tookMs } = await stopMidStep('send-once', 'send', 2000, 10_000);
    expect(exit).toBe(0);
    expect(tookMs).toBeLessThan(5000);
    await expect.poll(async () => (await t.store.get(run.id))?.state, { timeout: 15_000, interval: 100 }).toBe('succeeded');
    expect(await attemptsOf(run.id)).toEqual(['prepare#1 done runner-a', 'send#1 done runner-a', 'verify#1 done runner-b']);
  });
});

describe('two runner processes on one database', () => {
  it('share the runs out and never run a step of the same run at the same time', { timeout: 90_000 }, async () => {
    const runners = [startRunner('runner-a', { scanEveryMs: 50 }), startRunner('runner-b', { scanEveryMs: 50 })];
    const versions = await runners[0]!.versions();
    expect(await runners[1]!.versions()).toEqual(versions);
    const runs = await Promise.all(Array.from({ length: 12 }, () => submit('copy-files', { stepMs: 150 }, versions)));
    await expect
      .poll(async () => (await t.pool.query(`SELECT count(*)::int AS n FROM runbook_runs WHERE state = 'succeeded' AND id = ANY($1)`, [runs.map((run) => run.id)])).rows[0].n, {
        timeout: 60_000,
        interval: 200,
      })
      .toBe(runs.length);
    for (const run of runs) expect((await attemptsOf(run.id)).map((line) => line.split(' ').slice(0, 2).join(' '))).toEqual(['prepare#1 done', 'copy#1 done', 'verify#1 done']);
    // Each step ran exactly once overall, and within a run no two step executions overlapped in time.
    const overlaps = await t.pool.query(
      `SELECT a.run_id FROM runbook_test_marks a JOIN runbook_test_marks b
         ON a.run_id = b.run_id AND a.id < b.id AND a.started_at < b.finished_at AND b.started_at < a.finished_at
       WHERE a.run_id = ANY($1)`,
      [runs.map((run) => run.id)],
    );
    expect(overlaps.rows).toEqual([]);
    const perProcess = await t.pool.query<{ pid: number; n: number }>(`SELECT pid, count(*)::int AS n FROM runbook_test_marks WHERE run_id = ANY($1) GROUP BY pid`, [
      runs.map((run) => run.id),
    ]);
    expect(perProcess.rows.reduce((sum, row) => sum + row.n, 0)).toBe(runs.length * 3);
    // Both did some of the work (each holds at most four runs at a time).
    expect(perProcess.rows.map((row) => row.pid).sort()).toEqual(runners.map((runner) => runner.child.pid).sort());
    for (const runner of runners) runner.child.kill('SIGTERM');
    expect(await Promise.all(runners.map((runner) => runner.exited))).toEqual([0, 0]);
  });

  it('when one of them is SIGKILLed mid-run, the other finishes every run, re-running only interrupted steps, never alongside', { timeout: 90_000 }, async () => {
    const runners = [startRunner('runner-a', { scanEveryMs: 50 }), startRunner('runner-b', { scanEveryMs: 50 })];
    const versions = await runners[0]!.versions();
    expect(await runners[1]!.versions()).toEqual(versions);
    const runs = await Promise.all(Array.from({ length: 8 }, () => submit('copy-files', { stepMs: 300 }, versions)));
    const ids = runs.map((run) => run.id);
    const [victim, survivor] = runners as [ReturnType<typeof startRunner>, ReturnType<typeof startRunner>];
    await victim.waitFor((event) => event.event === 'stepStarted' && event.stepId === 'copy');
    victim.child.kill('SIGKILL');
    expect(await victim.exited).toBe('SIGKILL');
    // The moment of death on the database's clock, to close the steps the victim never finished.
    const died = (await t.pool.query<{ at: Date }>('SELECT clock_timestamp() AS at')).rows[0]!.at;
    await expect
      .poll(async () => (await t.pool.query(`SELECT count(*)::int AS n FROM runbook_runs WHERE state = 'succeeded' AND id = ANY($1)`, [ids])).rows[0].n, {
        timeout: 60_000,
        interval: 200,
      })
      .toBe(runs.length);
    const overlaps = await t.pool.query(
      `SELECT a.run_id, a.step_id, b.step_id FROM runbook_test_marks a JOIN runbook_test_marks b
         ON a.run_id = b.run_id AND a.id < b.id
        AND a.started_at < coalesce(b.finished_at, $2) AND b.started_at < coalesce(a.finished_at, $2)
       WHERE a.run_id = ANY($1)`,
      [ids, died],
    );
    expect(overlaps.rows).toEqual([]);
    // Every step completed exactly once; the only repeats are the victim's interrupted attempts.
    for (const id of ids) {
      const attempts = await t.store.attempts(id);
      for (const stepId of ['prepare', 'copy', 'verify']) expect(attempts.filter((a) => a.stepId === stepId && a.outcome === 'done')).toHaveLength(1);
      expect(attempts.filter((a) => a.outcome !== 'done').every((a) => a.outcome === 'interrupted' && a.owner === 'runner-a')).toBe(true);
    }
    expect((await t.pool.query(`SELECT 1 FROM runbook_step_attempts WHERE outcome = 'interrupted' AND run_id = ANY($1)`, [ids])).rowCount).toBeGreaterThan(0);
    survivor.child.kill('SIGTERM');
    expect(await survivor.exited).toBe(0);
  });
});
