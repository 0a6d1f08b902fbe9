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

/** A built-in job says what it runs, so that a new one cannot be refused by the defaults unseen. */
interface BuiltInJobDefaults extends ScheduledJobDefaults {
  /**
   * The command line the job runs as the scheduler (maintenance-jobs.ts), which the scheduler's
   * role must hold (authorization `scheduler.commands`); null for its own housekeeping.
   */
  command: string | null;
}

/**
 * The runbook's daily tasks that the bot does. Its 03:00 log rotation is not one: the local
 * stack's log files rotate themselves at their size cap (services/stack/local/local-log-file.ts)
 * and Docker rotates its own. Its 05:00 health check report is the daily report (bot/reports/),
 * its weekly performance review the weekly performance report (Mondays at 06:00), its weekly
 * security review of the audit logs and failed logins the security report (Mondays at 06:30), and
 * its monthly capacity planning the capacity report.
 */
export const BUILT_IN_JOBS = [
  { name: 'backup', summary: 'the daily backup (run backup, as the scheduler)', command: 'backup', cron: '0 2 * * *', timeoutMs: 60 * 60_000, missed: 'run-once' },
  { name: 'cleanup', summary: "removes the scheduler's own run records older than 90 days", command: null, cron: '0 4 * * *', timeoutMs: 5 * 60_000, missed: 'skip' },
  { name: 'daily-report', summary: 'the daily health report to the reports channel (run report daily, as the scheduler)', command: 'report daily', cron: '0 5 * * *', timeoutMs: 10 * 60_000, missed: 'run-once' },
  { name: 'weekly-performance-report', summary: 'the weekly performance report to the reports channel (run report weekly, as the scheduler)', command: 'report weekly', cron: '0 6 * * 1', timeoutMs: 10 * 60_000, missed: 'run-once' },
  { name: 'weekly-security-report', summary: 'the weekly security report to the reports channel (run report security, as the scheduler)', command: 'report security', cron: '30 6 * * 1', timeoutMs: 10 * 60_000, missed: 'run-once' },
  // The runbook's monthly "Capacity Planning"; a month missed while down is still worth one report.
  { name: 'monthly-capacity-report', summary: 'the monthly capacity report to the reports channel (run report capacity, as the scheduler)', command: 'report capacity', cron: '0 7 1 * *', timeoutMs: 10 * 60_000, missed: 'run-once' },
  // The first Sunday of the month at 03:00 (croner's `0#1`). A missed one is skipped: a failover
  // that stops services at whatever hour the bot came back is worse than next month's.
  { name: 'dr-test', summary: 'the monthly disaster-recovery test (run dr-test, as the scheduler): restore test, failover, DR report', command: 'dr-test', cron: '0 3 * * 0#1', timeoutMs: 3 * 60 * 60_000, missed: 'skip' },
] as const satisfies readonly BuiltInJobDefaults[];
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

/**
 * Who approved, once, that the scheduled DR test may stop services without asking each month,
 * and why: the run records it in the trail each time it relies on it. A person's run still asks.
 */
export const StandingApproval = z.strictObject({
  approved_by: z.string().trim().min(1, { error: 'approved_by names who approved (a Slack user id or a name)' }),
  reason: z.string().trim().min(10, { error: 'reason says why the approval stands (at least 10 characters: a change record, a decision)' }),
});

/** `schedules.dr-test`: a job's entry plus its standing approval. */
export const DrTestScheduleEntry = ScheduleEntry.extend({ standing_approval: StandingApproval.optional() });

/** `schedules:`: one entry per built-in job; any other name is an error that names the key. */
export const ScheduleSection = z.strictObject({
  ...(Object.fromEntries(BUILT_IN_JOB_NAMES.filter((name) => name !== 'dr-test').map((name) => [name, ScheduleEntry.optional()])) as Record<Exclude<BuiltInJobName, 'dr-test'>, z.ZodOptional<typeof ScheduleEntry>>),
  'dr-test': DrTestScheduleEntry.optional(),
});
export type ScheduleSection = z.infer<typeof ScheduleSection>;

/** A job as the scheduler runs it: its defaults with the config's changes. */
export interface JobSchedule extends ScheduledJobDefaults {
  enabled: boolean;
}

/** The config's standing approval of the scheduled DR test, in the runbook port's shape. */
export function drTestStandingApproval(section: ScheduleSection | undefined): { approvedBy: string; reason: string } | undefined {
  const standing = section?.['dr-test']?.standing_approval;
  return standing ? { approvedBy: standing.approved_by, reason: standing.reason } : undefined;
}

export function jobSchedules(section: ScheduleSection | undefined): JobSchedule[] {
  return BUILT_IN_JOBS.map((job) => {
    const entry = section?.[job.name];
    return { ...job, cron: entry?.cron ?? job.cron, enabled: entry?.enabled ?? true };
  });
}
