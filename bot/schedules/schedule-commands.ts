/** The scheduler as the `schedule` commands see it (commands/ports.ts Schedules): plain data. */
import type { ScheduledJobInfo, ScheduledRunInfo, Schedules } from '../../commands/ports.js';
import type { ScheduleRun } from './schedule-store.js';
import type { ScheduledJob, Scheduler } from './scheduler.js';

const runInfo = (run: ScheduleRun): ScheduledRunInfo => ({
  id: run.id,
  trigger: run.trigger,
  outcome: run.outcome,
  scheduledFor: run.scheduledFor,
  startedAt: run.startedAt,
  ...(run.endedAt ? { endedAt: run.endedAt } : {}),
  ...(run.detail ? { detail: run.detail } : {}),
  ...(run.requestedBy ? { requestedBy: run.requestedBy } : {}),
});

export function commandSchedules(scheduler: Scheduler, jobs: readonly ScheduledJob[], timezone: string): Schedules {
  const summaries = new Map(jobs.map((job) => [job.name, job.summary]));
  return {
    timezone,
    async jobs() {
      // Only the jobs this bot runs: a job dropped from the code keeps its records, unlisted.
      return (await scheduler.jobs())
        .filter((record) => summaries.has(record.name))
        .map(
          (record): ScheduledJobInfo => ({
            name: record.name,
            summary: summaries.get(record.name)!,
            cron: record.cron,
            enabled: record.enabled,
            ...(record.nextRunAt ? { nextRunAt: record.nextRunAt } : {}),
            ...(record.lastRun ? { lastRun: runInfo(record.lastRun) } : {}),
            ...(record.overdueSince ? { overdueSince: record.overdueSince } : {}),
          }),
        );
    },
    async runNow(job, by) {
      const result = await scheduler.runNow(job, by);
      switch (result.kind) {
        case 'started':
          return { kind: 'started', run: runInfo(result.run) };
        case 'overlap':
          return { kind: 'overlap', running: runInfo(result.running) };
        default:
          return result;
      }
    },
  };
}
