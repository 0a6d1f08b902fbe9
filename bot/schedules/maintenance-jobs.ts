/**
 * What the built-in jobs do (scheduled-jobs.ts names them and their times). The backup goes
 * through the bot's command path as the scheduler's actor (origin `schedule`, role `scheduler`):
 * the same authorization, audit trail and runbook engine as a person's `backup`, and the job waits for
 * the run's end so that its outcome is the backup's.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { FINAL_RUN_STATES } from '../../runbooks/engine/run-store.js';
import type { RunbookRuns, RunInfo } from '../../commands/ports.js';
import { executeCommandLine, type ExecutionDeps } from '../command-path/index.js';
import type { ScheduledPostKey, ScheduledReports } from '../reports/scheduled-report-posts.js';
import type { ScheduleStore } from './schedule-store.js';
import type { JobRunContext } from './scheduler.js';

/** Who the audit trail says ran a scheduled job's commands. */
export const SCHEDULER_ACTOR = { id: 'acgs-bot:scheduler', name: 'ACGS bot (scheduled maintenance)' } as const;
/**
 * The role the scheduler acts with: its own, holding exactly the commands its jobs run
 * (authorization `scheduler.commands`), so the trail and every decision say who acted.
 */
export const SCHEDULER_ROLE = 'scheduler';

/** The config's roles with the scheduler's actor added to the scheduler's role (the config may name more members). */
export function withSchedulerActor(roles: Readonly<Record<string, readonly string[]>>): Record<string, string[]> {
  const merged: Record<string, string[]> = Object.fromEntries(Object.entries(roles).map(([role, members]) => [role, [...members]]));
  merged[SCHEDULER_ROLE] = [...(merged[SCHEDULER_ROLE] ?? []), SCHEDULER_ACTOR.id];
  return merged;
}

/** How long the scheduler keeps its own run records. */
export const RUN_RECORDS_KEPT_MS = 90 * 86_400_000;

/**
 * The scheduler's own run of `runbook` for this due time, if one was started: a run the scheduler
 * started at or after the time this job run answers for. A retry of a job run whose replica died
 * after starting the runbook finds it here and follows it instead of starting a second backup or
 * DR test. A daily or monthly job's run for an earlier due time started before this one was due;
 * the minute's margin is for the database's clock (the run's time) behind the bot's (the due time).
 */
const CLOCK_MARGIN_MS = 60_000;
async function startedForThisDueTime(runs: RunbookRuns, runbook: string, dueAt: Date): Promise<RunInfo | undefined> {
  const candidates = await runs.activeAndRecent(50);
  return candidates
    .filter((run) => run.runbook === runbook && run.requester === SCHEDULER_ACTOR.id && run.origin === 'schedule' && Date.parse(run.createdAt) >= dueAt.getTime() - CLOCK_MARGIN_MS)
    .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt))[0];
}

/** Runs `line` (a runbook's short form, starting `runbook`) as the scheduler and waits for the run's end: the job's outcome is the run's. */
function runbookJob(execution: ExecutionDeps, line: string, runbook: string, pollMs: number): (context: JobRunContext) => Promise<string> {
  return async ({ signal, run: jobRun }) => {
    const runs = execution.services.runs;
    // A person's `schedule run` asks for a run now, whatever the schedule started before.
    const earlier = runs && jobRun.trigger !== 'manual' ? await startedForThisDueTime(runs, runbook, jobRun.dueAt) : undefined;
    let started = earlier?.id;
    if (!started) {
      const outcome = await executeCommandLine(execution, { line, actor: { ...SCHEDULER_ACTOR }, origin: 'schedule', signal });
      started = (outcome.document.data as { run?: { id?: string } } | undefined)?.run?.id;
      if (outcome.outcome === 'rejected' || outcome.outcome === 'error' || outcome.outcome === 'fail' || !started) {
        throw new Error(`${line} not started: ${outcome.document.title}${outcome.document.summary ? `: ${outcome.document.summary}` : ''}`);
      }
    }
    const following = earlier ? ` (started ${earlier.createdAt} for this due time by an earlier attempt, followed rather than started again)` : '';
    if (!runs) return `${line} run ${started} started`;
    for (;;) {
      const { run } = await runs.get(started);
      if ((FINAL_RUN_STATES as readonly string[]).includes(run.state)) {
        if (run.state !== 'succeeded') throw new Error(`${line} run ${started}${following} ${run.state}${run.reason ? `: ${run.reason}` : ''}`);
        return `${line} run ${started}${following} succeeded`;
      }
      await sleep(pollMs, undefined, { signal });
    }
  };
}

export function backupJob(execution: ExecutionDeps, pollMs = 5_000): (context: JobRunContext) => Promise<string> {
  return runbookJob(execution, 'backup', 'backup', pollMs);
}

/**
 * The monthly DR test (`dr-test` as the scheduler). Its failover passes its gate on the config's
 * standing approval, else it waits there for an approver until the job's timeout: the run is left
 * waiting (a person may still approve it), the job is recorded as timed out.
 */
export function drTestJob(execution: ExecutionDeps, pollMs = 5_000): (context: JobRunContext) => Promise<string> {
  const scheduled = runbookJob(execution, 'dr-test', 'dr-test', pollMs);
  return (context) => {
    // `schedule run dr-test` is a person's Level 1 command: the runbook would take it for the
    // scheduler's own run and pass the failover gate on the standing approval, unapproved.
    if (context.run.trigger === 'manual') {
      return Promise.reject(new Error('dr-test not started: a DR test asked for now is a person\'s run; start it with `dr-test`, which asks an approver before its failover'));
    }
    return scheduled(context);
  };
}

/** This run's reports (bot/reports/scheduled-report-posts.ts): posted once per job and due time. */
export type ScheduledReportsFor = (key: ScheduledPostKey) => ScheduledReports;

/**
 * A report (issue 15) posted to channels.reports by its `report` command run as the scheduler:
 * `report daily`, `report weekly`, `report security` and `report capacity`. The command runs with
 * this run's reports, so a retry of a run whose replica died after posting does not post again,
 * and the run's record says what was posted, or that nothing was and why (a failure then).
 */
export function reportJob(execution: ExecutionDeps, line: `report ${string}`, what: string, reportsFor: ScheduledReportsFor): (context: JobRunContext) => Promise<string> {
  return async ({ signal, run }) => {
    const scheduled = reportsFor({ job: run.job, dueAt: run.dueAt, runId: run.id });
    const outcome = await executeCommandLine({ ...execution, services: { ...execution.services, reports: scheduled.reports } }, { line, actor: { ...SCHEDULER_ACTOR }, origin: 'schedule', signal });
    if (outcome.outcome === 'rejected' || outcome.outcome === 'error') {
      throw new Error(`${what} not made: ${outcome.document.title}${outcome.document.summary ? `: ${outcome.document.summary}` : ''}`);
    }
    const posted = scheduled.outcome() ?? { kind: 'not-posted', reason: 'the report command did not make it' };
    if (posted.kind === 'not-posted') throw new Error(`${what} made but nothing posted: ${posted.reason}`);
    if (posted.kind === 'posted-before') {
      return `${what} not posted again: an earlier attempt posted it at ${posted.postedAt.toISOString()} (channel ${posted.channel}, message ${posted.ts})`;
    }
    const missing = posted.missing.length ? `; missing: ${posted.missing.join('; ')}` : '';
    const again = posted.again ? `; posted again: ${posted.again}` : '';
    return `${what} posted to channel ${posted.channel} (message ${posted.ts}): ${outcome.document.title}${missing}${again}`;
  };
}

/** The daily health report, posted by `report daily` run as the scheduler. */
export const dailyReportJob = (execution: ExecutionDeps, reportsFor: ScheduledReportsFor) => reportJob(execution, 'report daily', 'daily report', reportsFor);

/** The weekly performance report, posted by `report weekly` run as the scheduler. */
export const weeklyPerformanceReportJob = (execution: ExecutionDeps, reportsFor: ScheduledReportsFor) => reportJob(execution, 'report weekly', 'weekly performance report', reportsFor);

/** The monthly capacity report, posted by `report capacity` run as the scheduler. */
export const capacityReportJob = (execution: ExecutionDeps, reportsFor: ScheduledReportsFor) => reportJob(execution, 'report capacity', 'capacity report', reportsFor);

/** The weekly security report, posted by `report security` run as the scheduler. */
export const weeklySecurityReportJob = (execution: ExecutionDeps, reportsFor: ScheduledReportsFor) => reportJob(execution, 'report security', 'weekly security report', reportsFor);

export function cleanupJob(store: ScheduleStore, clock: () => Date = () => new Date()): (context: JobRunContext) => Promise<string> {
  return async () => {
    const removed = await store.pruneRuns(new Date(clock().getTime() - RUN_RECORDS_KEPT_MS));
    // Backups keep their own retention: the backup runbook applies ACGS_BACKUP_KEEP_* after each backup.
    return `removed ${removed} run record(s) older than 90 days`;
  };
}
