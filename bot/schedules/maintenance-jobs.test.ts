/**
 * The DR test job: only the scheduler's own runs may reach the runbook, whose failover gate
 * passes on the config's standing approval for them. `schedule run dr-test` (a person's Level 1
 * command) is refused before anything is asked of the command path.
 */
import { describe, expect, it } from 'vitest';
import type { ExecutionDeps } from '../command-path/index.js';
import { drTestJob } from './maintenance-jobs.js';
import type { RunTrigger, ScheduleRun } from './schedule-store.js';

/** Execution dependencies that record every property the job reads. */
function watchedExecution(): { execution: ExecutionDeps; touched: string[] } {
  const touched: string[] = [];
  const watch = (name: string): object => new Proxy({}, { get: (_target, key) => (touched.push(`${name}.${String(key)}`), undefined) });
  return { execution: { registry: watch('registry'), services: watch('services') } as unknown as ExecutionDeps, touched };
}

const runOf = (trigger: RunTrigger): ScheduleRun => ({
  id: 'run-1',
  job: 'dr-test',
  scheduledFor: new Date('2026-12-06T03:00:00Z'),
  dueAt: new Date('2026-12-06T03:00:00Z'),
  trigger,
  requestedBy: trigger === 'manual' ? 'U0ONCALL' : undefined,
  holder: 'replica-a',
  startedAt: new Date('2026-12-06T03:00:01Z'),
  endedAt: undefined,
  outcome: 'running',
  detail: undefined,
});

describe('the dr-test job', () => {
  it('refuses a run asked for now (schedule run dr-test), naming the command that asks an approver, and starts nothing', async () => {
    const { execution, touched } = watchedExecution();
    await expect(drTestJob(execution)({ signal: new AbortController().signal, run: runOf('manual') })).rejects.toThrow(
      'dr-test not started: a DR test asked for now is a person\'s run; start it with `dr-test`, which asks an approver before its failover',
    );
    expect(touched).toEqual([]);
  });

  it('hands the scheduler\'s own run to the command path', async () => {
    const { execution, touched } = watchedExecution();
    await expect(drTestJob(execution)({ signal: new AbortController().signal, run: runOf('schedule') })).rejects.toThrow();
    expect(touched.length).toBeGreaterThan(0);
  });
});
