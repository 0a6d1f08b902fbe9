/**
 * The jobs the bot schedules and how the config changes them. The defaults are the runbook's
 * "Automated Daily Tasks" (../shared/OPERATIONAL_RUNBOOK.md); `schedules:` in the config moves a
 * job's time or turns it off. Pure data and validation: what a job does is given by main.ts.
 */
import { z } from 'zod';
import { cronProblem } from './cron-times.js';

/** What happens to a scheduled time that passed while no replica ran the scheduler. */
export type MissedRunPolicy = 'run-once' | 'skip';

export interface ScheduledJobDefaults {
  name: string;
  summary: string;
  cron: string;
  timeoutMs: number;
  missed: MissedRunPolicy;
}

/**
 * The runbook's daily tasks that the bot does. Its 03:00 log rotation is not one: the local
 * stack's log files rotate themselves at their size cap (services/stack/local/local-log-file.ts)
 * and Docker rotates its own. Its 05:00 health check report is the daily report (bot/reports/);
 * its weekly performance review is the weekly performance report, Mondays at 06:00.
 */
export const BUILT_IN_JOBS = [
  { name: 'backup', summary: 'the daily backup (run backup, as the scheduler)', cron: '0 2 * * *', timeoutMs: 60 * 60_000, missed: 'run-once' },
  { name: 'cleanup', summary: "removes the scheduler's own run records older than 90 days", cron: '0 4 * * *', timeoutMs: 5 * 60_000, missed: 'skip' },
  { name: 'daily-report', summary: 'the daily health report to the reports channel (run report daily, as the scheduler)', cron: '0 5 * * *', timeoutMs: 10 * 60_000, missed: 'run-once' },
  { name: 'weekly-performance-report', summary: 'the weekly performance report to the reports channel (run report weekly, as the scheduler)', cron: '0 6 * * 1', timeoutMs: 10 * 60_000, missed: 'run-once' },
] as const satisfies readonly ScheduledJobDefaults[];
export type BuiltInJobName = (typeof BUILT_IN_JOBS)[number]['name'];
export const BUILT_IN_JOB_NAMES = BUILT_IN_JOBS.map((job) => job.name) as BuiltInJobName[];

export const CronExpression = z.string().superRefine((cron, context) => {
  const problem = cronProblem(cron);
  if (problem) context.addIssue({ code: 'custom', message: `not a five-field cron expression (minute hour day month weekday) such as "0 2 * * *": ${problem}` });
});

/** One job's entry under `schedules:` in the config. */
export const ScheduleEntry = z.strictObject({
  /** When, as cron in the config's `timezone:`. */
  cron: CronExpression.optional(),
  /** False turns the job off: it is not run, listed as disabled, and never overdue. */
  enabled: z.boolean().optional(),
});

/** `schedules:`: one entry per built-in job; any other name is an error that names the key. */
export const ScheduleSection = z.strictObject(
  Object.fromEntries(BUILT_IN_JOB_NAMES.map((name) => [name, ScheduleEntry.optional()])) as Record<BuiltInJobName, z.ZodOptional<typeof ScheduleEntry>>,
);
export type ScheduleSection = z.infer<typeof ScheduleSection>;

/** A job as the scheduler runs it: its defaults with the config's changes. */
export interface JobSchedule extends ScheduledJobDefaults {
  enabled: boolean;
}

export function jobSchedules(section: ScheduleSection | undefined): JobSchedule[] {
  return BUILT_IN_JOBS.map((job) => {
    const entry = section?.[job.name];
    return { ...job, cron: entry?.cron ?? job.cron, enabled: entry?.enabled ?? true };
  });
}
