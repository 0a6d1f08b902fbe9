/**
 * When a job is due, from its cron expression in a timezone. Croner computes the dates (it keeps
 * a fixed-time job to one run on both DST days: a time in the spring-forward gap runs right after
 * the jump, a time in the repeated hour runs once); the scheduler keeps its own one timer, so
 * node-cron's timer loop (its DST bug #509) is never in the path. See README.md.
 */
import { Cron } from 'croner';

/** A five-field cron expression (minute hour day-of-month month day-of-week) in a timezone. */
export interface CronSchedule {
  cron: string;
  timezone: string;
}

/** Why `cron` is not a five-field cron expression, or undefined when it is one. */
export function cronProblem(cron: string): string | undefined {
  try {
    new Cron(cron, { paused: true, mode: '5-part' });
    return undefined;
  } catch (error) {
    return (error as Error).message.replace(/^CronPattern: /, '');
  }
}

/** The first time strictly after `after` at which the schedule is due; undefined when never again. */
export function nextRunAfter(schedule: CronSchedule, after: Date): Date | undefined {
  const cron = new Cron(schedule.cron, { paused: true, mode: '5-part', timezone: schedule.timezone });
  return cron.nextRun(after) ?? undefined;
}
