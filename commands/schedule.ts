/**
 * `schedule`: the scheduled jobs with their last and next run and outcome, in the bot's timezone;
 * `schedule run <job>`: runs one now, through the scheduler (recorded as a manual run; never
 * while a run of it goes on). An unknown job is named with the ones there are; nothing runs.
 */
import { z } from 'zod';
import { closestChoice } from './arguments.js';
import { CommandError, defineCommand, type CommandContext } from './command.js';
import { formatInZone } from './alert-times.js';
import { clip } from './format.js';
import type { ScheduledJobInfo, ScheduledRunInfo, Schedules } from './ports.js';
import type { ResultDocument, Tone } from './result.js';

function requireSchedules(context: CommandContext): Schedules {
  const { schedules, schedulesProblem } = context.services;
  if (!schedules && schedulesProblem) throw new CommandError('The scheduler cannot be asked from here.', schedulesProblem, 'unavailable');
  if (!schedules) {
    throw new CommandError(
      'The scheduler is not set up in this process.',
      'The bot schedules its jobs in its database (`npm start`, or the bot with DATABASE_URL); ask it from Slack or the console.',
      'unavailable',
    );
  }
  return schedules;
}

const OUTCOME_TONE: Record<string, Tone> = { ok: 'ok', running: 'info', skipped: 'warn', failed: 'fail', 'timed-out': 'fail', abandoned: 'fail' };

function runWords(run: ScheduledRunInfo, timezone: string): string {
  const how = run.trigger === 'manual' ? `by hand${run.requestedBy ? ` (${run.requestedBy})` : ''}` : run.trigger === 'catch-up' ? 'caught up after downtime' : run.trigger === 'retry' ? 'again after an abandoned run' : 'on schedule';
  return `${run.outcome} ${formatInZone(run.startedAt, timezone)}, ${how}${run.detail ? `: ${clip(run.detail, 120)}` : ''}`;
}

export function scheduleDocument(jobs: ScheduledJobInfo[], timezone: string): ResultDocument {
  const failing = jobs.filter((job) => job.enabled && (job.overdueSince || (job.lastRun && ['failed', 'timed-out', 'abandoned'].includes(job.lastRun.outcome))));
  return {
    title: 'Scheduled jobs',
    tone: failing.length > 0 ? 'warn' : 'ok',
    summary: failing.length > 0 ? `Needs a look: ${failing.map((job) => job.name).join(', ')}.` : `${jobs.filter((job) => job.enabled).length} job(s) on schedule; times in ${timezone}.`,
    blocks: [
      {
        type: 'checks',
        items: jobs.map((job) => ({
          name: job.name,
          tone: !job.enabled ? 'info' : job.overdueSince ? 'fail' : job.lastRun ? (OUTCOME_TONE[job.lastRun.outcome] ?? 'info') : 'info',
          text: [
            job.enabled ? `\`${job.cron}\`, next ${job.nextRunAt ? formatInZone(job.nextRunAt, timezone) : 'never'}` : `\`${job.cron}\`, disabled (schedules.${job.name}.enabled in the config)`,
            job.lastRun ? `last: ${runWords(job.lastRun, timezone)}` : 'never run yet',
            ...(job.overdueSince ? [`overdue: the run due ${formatInZone(job.overdueSince, timezone)} has not happened`] : []),
          ].join('; '),
        })),
      },
    ],
    footer: `${jobs.map((job) => `${job.name}: ${job.summary}`).join(' · ')}. \`schedule run <job>\` runs one now.`,
    data: { timezone, jobs },
  };
}

export const schedule = defineCommand({
  name: 'schedule',
  summary: 'List the scheduled jobs (daily backup, cleanup) with their last and next run and outcome',
  examples: ['schedule'],
  level: 'read',
  args: z.object({}).strict(),
  async run(context) {
    const schedules = requireSchedules(context);
    return scheduleDocument(await schedules.jobs(), schedules.timezone);
  },
});

const jobArgument = z
  .string({ error: 'name the job to run: `schedule` lists them' })
  .regex(/^[a-z][a-z0-9-]{0,40}$/, { error: 'a job name is a lower-case word such as backup (`schedule` lists them)' });

export const scheduleRun = defineCommand({
  name: 'schedule run',
  summary: 'Run a scheduled job now (recorded as a manual run; refused while a run of it goes on)',
  usage: '<job>',
  examples: ['schedule run backup'],
  level: 1,
  positionals: ['job'],
  args: z.object({ job: jobArgument }).strict(),
  async run(context, { job }) {
    const schedules = requireSchedules(context);
    const result = await schedules.runNow(job, context.actor.id);
    if (result.kind === 'unknown') {
      const meant = closestChoice(job, result.known);
      throw new CommandError(`There is no scheduled job \`${job}\`${meant ? `; did you mean \`${meant}\`?` : '.'}`, `The jobs are ${result.known.map((name) => `\`${name}\``).join(', ')}; nothing was run.`, 'usage');
    }
    if (result.kind === 'disabled') throw new CommandError(`The job \`${job}\` is turned off in the config (schedules.${job}.enabled), so it is not run.`, undefined, 'refused');
    if (result.kind === 'overlap') {
      throw new CommandError(
        `\`${job}\` is already running (run ${result.running.id}, started ${formatInZone(result.running.startedAt, schedules.timezone)}); this request was recorded as skipped and nothing else ran.`,
        '`schedule` shows when it ends.',
        'refused',
      );
    }
    return {
      title: `Scheduled job ${job}: run ${result.run.id} started`,
      tone: 'info',
      summary: `Started ${formatInZone(result.run.startedAt, schedules.timezone)} as a manual run; \`schedule\` shows its outcome when it ends.`,
      blocks: [],
      people: [context.actor.id],
      data: { run: result.run },
    };
  },
});
