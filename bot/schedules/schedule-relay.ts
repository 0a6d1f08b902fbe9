/**
 * The CLI's way to the bot's scheduler when the bot's database is the embedded PGlite of the
 * running `npm start` (no DATABASE_URL): that process lends its Schedules port over the local
 * stack's control channel, as it lends its checklists (bot/runbook-runs/checklist-relay.ts). The
 * jobs run there, in the bot, under its scheduler's claims; the CLI only asks.
 *
 * Listing is open to the channel's token; `schedule run <job>` is a change, taken only for a `cli:`
 * user and under the committed `execution` record of that allowed command (run-execution-check.ts).
 * Feature `schedules` in the supervisor file, routes `POST /v1/schedules/...`.
 */
import { z } from 'zod';
import { CommandError } from '../../commands/command.js';
import type { ScheduledJobInfo, ScheduledRunInfo, ScheduleRunNow, Schedules } from '../../commands/ports.js';
import { ControlCallError, type ControlChannel } from '../../services/stack/local/local-control-client.js';
import { ControlError, type ControlExtension } from '../../services/stack/local/local-control.js';
import type { RunExecutionGuard } from '../runbook-runs/run-execution-check.js';

/** The feature name the supervisor file announces when its owner lends its scheduler. */
export const SCHEDULE_RELAY_FEATURE = 'schedules';

const BODIES = {
  run: z
    .object({
      job: z.string({ error: 'job must be a job name' }).regex(/^[a-z][a-z0-9-]{0,40}$/, 'job must be a job name such as backup'),
      by: z.string({ error: 'by must be a cli:<user>' }).max(200).startsWith('cli:', 'by must be a cli:<user>: the relay takes only what the CLI asks for'),
      execution: z.string({ error: 'execution must be the key of an execution record' }).max(200).optional(),
    })
    .strict(),
};

/** The routes `npm start` adds to its control channel for `schedule` and `schedule run`; `schedules` may be a getter when it is made after the channel starts. */
export function scheduleRelayRoutes(schedules: Schedules | (() => Schedules | undefined), guard: RunExecutionGuard): Record<string, ControlExtension> {
  const scheduler = (): Schedules => {
    const found = typeof schedules === 'function' ? schedules() : schedules;
    if (!found) throw new ControlError('SCHEDULES_STARTING', 'the bot is still starting: its scheduler is not set up yet; ask again in a moment', 503);
    return found;
  };
  return {
    'schedules/jobs': async () => {
      const bot = scheduler();
      return { timezone: bot.timezone, jobs: await bot.jobs() };
    },
    'schedules/run': async (body) => {
      const result = BODIES.run.safeParse(body);
      if (!result.success) {
        const problems = result.error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message));
        throw new ControlError('SCHEDULE_INPUT', `the schedule relay refused the request: ${problems.join('; ')}`);
      }
      const { job, by, execution } = result.data;
      const why = await guard({ execution, actor: by, commands: ['schedule run'] });
      if (why !== undefined) throw new ControlError('SCHEDULE_REFUSED', `The schedule relay refused to run ${job}: ${why}. Nothing was run.`, 403);
      return scheduler().runNow(job, by);
    },
  };
}

const date = (value: unknown): Date => new Date(value as string);
const runFromJson = (run: ScheduledRunInfo): ScheduledRunInfo => ({
  ...run,
  scheduledFor: date(run.scheduledFor),
  startedAt: date(run.startedAt),
  ...(run.endedAt ? { endedAt: date(run.endedAt) } : {}),
});
const jobFromJson = (job: ScheduledJobInfo): ScheduledJobInfo => ({
  ...job,
  ...(job.nextRunAt ? { nextRunAt: date(job.nextRunAt) } : {}),
  ...(job.lastRun ? { lastRun: runFromJson(job.lastRun) } : {}),
  ...(job.overdueSince ? { overdueSince: date(job.overdueSince) } : {}),
});

/**
 * A Schedules port answered by the process behind `channel`; its timezone is asked for once here.
 * `execution`: the key of the committed execution record of this CLI process's command.
 */
export async function createRelayedSchedules(channel: Pick<ControlChannel, 'call' | 'supervisorPid'>, options: { execution: () => string | undefined }): Promise<Schedules> {
  const owner = `npm start (pid ${channel.supervisorPid})`;
  async function call<T>(route: string, body: object): Promise<T> {
    try {
      return await channel.call<T>('POST', `/v1/${route}`, body, 30_000);
    } catch (error) {
      if (error instanceof ControlCallError && (error.code === 'SCHEDULE_REFUSED' || error.code === 'SCHEDULE_INPUT')) throw new CommandError(error.message, undefined, 'refused');
      throw new CommandError(`The scheduler runs in ${owner}, which could not answer (${(error as Error)?.message ?? String(error)}).`, 'Check that npm start still runs, then ask again.', 'unavailable');
    }
  }
  const first = await call<{ timezone: string; jobs: ScheduledJobInfo[] }>('schedules/jobs', {});
  let listed: ScheduledJobInfo[] | undefined = first.jobs.map(jobFromJson);
  return {
    timezone: first.timezone,
    async jobs() {
      // The first list was fetched for the timezone: `schedule` shows it rather than asking twice.
      const jobs = listed ?? (await call<{ jobs: ScheduledJobInfo[] }>('schedules/jobs', {})).jobs.map(jobFromJson);
      listed = undefined;
      return jobs;
    },
    async runNow(job, by) {
      const execution = options.execution();
      const result = await call<ScheduleRunNow>('schedules/run', { job, by, ...(execution ? { execution } : {}) });
      if (result.kind === 'started') return { kind: 'started', run: runFromJson(result.run) };
      if (result.kind === 'overlap') return { kind: 'overlap', running: runFromJson(result.running) };
      return result;
    },
  };
}
