/**
 * A step's progress: checked where it is reported, paced per run, recorded on its attempt (the last
 * one at the latest with the step's end), on the real PostgreSQL with a real RunExecutor.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineRunbook } from './definition.js';
import { throttleProgress } from './progress-throttle.js';
import { createRunbookRegistry } from './registry.js';
import { createRunExecutor, type RunExecutor } from './run-executor.js';
import { checkedProgress, PROGRESS_TEXT_MAX } from './step-progress.js';
import { runbookTestDatabase, type RunbookTestDatabase } from './testing/database.js';
import { scriptedRunbook } from './testing/scripted-runbooks.js';

const EVERY_MS = 400;
let t: RunbookTestDatabase;
let executor: RunExecutor;

/** A step that reports what its arguments say, to see what a bad report does. */
const badReports = defineRunbook({
  source: import.meta.url,
  name: 'bad-reports',
  summary: 'reports what it is told to',
  level: 1,
  args: z.object({ report: z.enum(['empty-text', 'no-object', 'bigint-data', 'huge-data']) }),
  steps: [
    {
      id: 'report',
      kind: 'act',
      title: 'Report badly',
      timeoutMs: 5000,
      idempotent: true,
      async run(context) {
        const reports: Record<typeof context.args.report, unknown> = {
          'empty-text': { text: '   ' },
          'no-object': 'half way',
          'bigint-data': { text: 'counting', data: { n: 10n } },
          'huge-data': { text: 'counting', data: { samples: 'x'.repeat(20_000) } },
        };
        context.progress(reports[context.args.report] as never);
        return { reported: true };
      },
      async dryRun() {
        return { mode: 'description', text: 'reports' };
      },
    },
  ],
});

beforeAll(async () => {
  t = await runbookTestDatabase();
  const registry = createRunbookRegistry([scriptedRunbook(t.pool, 'reporting', [{ id: 'count', title: 'Count up' }, { id: 'after' }]), badReports]);
  executor = createRunExecutor({ store: t.store, registry, leaseMs: 2000, renewEveryMs: 200, progressEveryMs: EVERY_MS });
});
afterAll(async () => {
  await executor?.stop();
  await t?.close();
});

async function runToStop(runbook: string, args: unknown) {
  const run = await executor.submit({ runbook, args, requester: 'U0ONCALL', origin: 'test' });
  await executor.scanNow();
  return run;
}

describe('a step reporting progress', () => {
  it('is recorded on its attempt at most once per interval, and its last report lands with its end', { timeout: 20_000 }, async () => {
    // 12 reports 100 ms apart: 1.2 s of reports, paced to one write per 400 ms.
    const run = await runToStop('reporting', { progress: { count: { count: 12, everyMs: 100 } } });
    const seen: Array<{ text: string; at: number; outcome: string }> = [];
    while ((await t.store.get(run.id))?.state !== 'succeeded') {
      const count = (await t.store.attempts(run.id)).find((attempt) => attempt.stepId === 'count');
      const last = seen.at(-1);
      if (count?.progress && count.progress.text !== last?.text) seen.push({ text: count.progress.text, at: count.progress.at.getTime(), outcome: count.outcome });
      await sleep(10);
    }
    await executor.idle();
    const [count, after] = await t.store.attempts(run.id);
    expect(count).toMatchObject({ outcome: 'done', progress: { text: 'report 12 of 12', data: { k: 12, count: 12 } } });
    expect(after!.progress).toBeNull();
    // Written while it ran: the first at once, then about one per interval, never closer.
    const whileRunning = seen.filter((each) => each.outcome === 'running');
    expect(whileRunning[0]!.text).toBe('report 1 of 12');
    expect(whileRunning.length).toBeGreaterThanOrEqual(2);
    expect(whileRunning.length).toBeLessThanOrEqual(4);
    for (let index = 1; index < whileRunning.length; index += 1) expect(whileRunning[index]!.at - whileRunning[index - 1]!.at).toBeGreaterThanOrEqual(EVERY_MS - 20);
  });

  it('a report the step made last while it still runs is written when its interval is over', { timeout: 20_000 }, async () => {
    // Three quick reports, then the step holds: the third must land while it holds.
    const run = await runToStop('reporting', { progress: { count: { count: 3, everyMs: 0 } }, holdMs: { count: 3000 } });
    await expect
      .poll(async () => (await t.store.attempts(run.id)).find((attempt) => attempt.stepId === 'count'), { timeout: 3000, interval: 20 })
      .toMatchObject({ outcome: 'running', progress: { text: 'report 3 of 3' } });
    await executor.abort(run.id, 'U0ONCALL');
    await executor.idle();
  });

  for (const [report, message] of [
    ['empty-text', 'progress: text is a non-empty sentence'],
    ['no-object', 'progress: report an object { text, data? }'],
    ['bigint-data', 'progress: data must be JSON (Do not know how to serialize a BigInt)'],
    ['huge-data', 'progress: data is over 8192 bytes as JSON; report a summary'],
  ] as const) {
    it(`a bad report (${report}) fails the step at that line with a clear error, and nothing is recorded as progress`, async () => {
      const run = await runToStop('bad-reports', { report });
      await executor.idle();
      expect(await t.store.get(run.id)).toMatchObject({ state: 'needs_decision', reason: `step "report" (Report badly) failed: ${message}` });
      expect((await t.store.attempts(run.id)).map((attempt) => [attempt.outcome, attempt.progress, attempt.output])).toEqual([['failed', null, null]]);
    });
  }
});

describe('a progress report as it is kept', () => {
  it('is one line, cut to its limit, with its figures as the JSON they become', () => {
    expect(checkedProgress({ text: '  two\n lines ', data: { at: new Date(0), skip: undefined } })).toEqual({ text: 'two lines', data: { at: '1970-01-01T00:00:00.000Z' } });
    const long = checkedProgress({ text: 'y'.repeat(PROGRESS_TEXT_MAX + 50) });
    expect(long.text).toHaveLength(PROGRESS_TEXT_MAX);
    expect(long.text.endsWith('…')).toBe(true);
    expect(checkedProgress({ text: 'no data' })).toEqual({ text: 'no data' });
  });
});

describe('the progress throttle', () => {
  it('writes the first report at once, the latest of a burst an interval later, and hands back what it did not write', async () => {
    const written: Array<{ value: number; at: number }> = [];
    const throttle = throttleProgress<number>({ everyMs: 150, write: async (value) => void written.push({ value, at: performance.now() }), onError: () => undefined });
    for (let value = 1; value <= 5; value += 1) throttle.report(value);
    await expect.poll(() => written.map((each) => each.value), { timeout: 1000, interval: 10 }).toEqual([1, 5]);
    expect(written[1]!.at - written[0]!.at).toBeGreaterThanOrEqual(145);
    throttle.report(6);
    throttle.report(7);
    // Not written yet (the interval is not over): the caller gets it, and it is not written after.
    expect(await throttle.takePending()).toBe(7);
    await sleep(250);
    expect(written.map((each) => each.value)).toEqual([1, 5]);
    expect(await throttle.takePending()).toBeUndefined();
  });

  it('tries a failed write again an interval later, unless a newer report replaced it', async () => {
    const written: number[] = [];
    const errors: unknown[] = [];
    let failNext = true;
    const throttle = throttleProgress<number>({
      everyMs: 100,
      write: async (value) => {
        if (failNext) {
          failNext = false;
          throw new Error('database away');
        }
        written.push(value);
      },
      onError: (error) => errors.push(error),
    });
    throttle.report(1);
    await expect.poll(() => written, { timeout: 1000, interval: 10 }).toEqual([1]);
    expect(errors).toHaveLength(1);
    failNext = true;
    throttle.report(2);
    await sleep(20);
    throttle.report(3);
    await expect.poll(() => written, { timeout: 1000, interval: 10 }).toEqual([1, 3]);
  });
});
