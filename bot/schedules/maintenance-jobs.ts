/**
 * What the built-in jobs do (scheduled-jobs.ts names them and their times). The backup goes
 * through the bot's command path as the scheduler's actor (origin `schedule`): the same
 * authorization, audit trail and runbook engine as a person's `backup`, and the job waits for
 * the run's end so that its outcome is the backup's.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { FINAL_RUN_STATES } from '../../runbooks/engine/run-store.js';
import { executeCommandLine, type ExecutionDeps } from '../command-path/index.js';
import type { ScheduleStore } from './schedule-store.js';
import type { JobRunContext } from './scheduler.js';

/** Who the audit trail says ran a scheduled job's commands. */
export const SCHEDULER_ACTOR = { id: 'acgs-bot:scheduler', name: 'ACGS bot (scheduled maintenance)' } as const;
/** The role the scheduler acts with: the runbook's daily maintenance is the on-call's work. */
export const SCHEDULER_ROLE = 'oncall';

/** The config's roles with the scheduler's actor added to the on-call role. */
export function withSchedulerActor(roles: Readonly<Record<string, readonly string[]>>): Record<string, string[]> {
  const merged: Record<string, string[]> = Object.fromEntries(Object.entries(roles).map(([role, members]) => [role, [...members]]));
  merged[SCHEDULER_ROLE] = [...(merged[SCHEDULER_ROLE] ?? []), SCHEDULER_ACTOR.id];
  return merged;
}

/** How long the scheduler keeps its own run records. */
export const RUN_RECORDS_KEPT_MS = 90 * 86_400_000;

export function backupJob(execution: ExecutionDeps, pollMs = 5_000): (context: JobRunContext) => Promise<string> {
  return async ({ signal }) => {
    const outcome = await executeCommandLine(execution, { line: 'backup', actor: { ...SCHEDULER_ACTOR }, origin: 'schedule', signal });
    const started = (outcome.document.data as { run?: { id?: string } } | undefined)?.run?.id;
    if (outcome.outcome === 'rejected' || outcome.outcome === 'error' || outcome.outcome === 'fail' || !started) {
      throw new Error(`backup not started: ${outcome.document.title}${outcome.document.summary ? `: ${outcome.document.summary}` : ''}`);
    }
    const runs = execution.services.runs;
    if (!runs) return `backup run ${started} started`;
    for (;;) {
      const { run } = await runs.get(started);
      if ((FINAL_RUN_STATES as readonly string[]).includes(run.state)) {
        if (run.state !== 'succeeded') throw new Error(`backup run ${started} ${run.state}`);
        return `backup run ${started} succeeded`;
      }
      await sleep(pollMs, undefined, { signal });
    }
  };
}

/** A report job: `report <kind>` run as the scheduler, which posts it to channels.reports; a report not made fails the run. */
function reportJob(execution: ExecutionDeps, line: string, what: string): (context: JobRunContext) => Promise<string> {
  return async ({ signal }) => {
    const outcome = await executeCommandLine(execution, { line, actor: { ...SCHEDULER_ACTOR }, origin: 'schedule', signal });
    if (outcome.outcome === 'rejected' || outcome.outcome === 'error') {
      throw new Error(`${what} not made: ${outcome.document.title}${outcome.document.summary ? `: ${outcome.document.summary}` : ''}`);
    }
    return `${what} posted: ${outcome.document.title}`;
  };
}

/** The daily health report (issue 15), posted to channels.reports by `report daily` run as the scheduler. */
export function dailyReportJob(execution: ExecutionDeps): (context: JobRunContext) => Promise<string> {
  return reportJob(execution, 'report daily', 'daily report');
}

/** The weekly performance report (issue 15), posted likewise by `report weekly`. */
export function weeklyPerformanceReportJob(execution: ExecutionDeps): (context: JobRunContext) => Promise<string> {
  return reportJob(execution, 'report weekly', 'weekly performance report');
}

export function cleanupJob(store: ScheduleStore, clock: () => Date = () => new Date()): (context: JobRunContext) => Promise<string> {
  return async () => {
    const removed = await store.pruneRuns(new Date(clock().getTime() - RUN_RECORDS_KEPT_MS));
    // Backups keep their own retention: the backup runbook applies ACGS_BACKUP_KEEP_* after each backup.
    return `removed ${removed} run record(s) older than 90 days`;
  };
}
