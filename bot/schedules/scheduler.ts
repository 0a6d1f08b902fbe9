/**
 * Runs the jobs on their schedules, once across replicas, across restarts and DST changes.
 *
 * One timer: it sleeps until the earliest job's next time (at most `maxSleepMs`, so clock jumps
 * and other replicas' changes are seen), then `wake` handles every job that is due. Due times come
 * from the store (what each job still owes), next times from the cron expression (cron-times.ts);
 * each scheduled time is claimed in PostgreSQL before it runs (schedule-store.ts), so two
 * schedulers on one database run it once. A time that passed while no scheduler ran is run once
 * on the next wake (`run-once`) or recorded as skipped (`skip`), and a job that owes a run for
 * longer than `overdueAfterMs` raises ScheduledJobOverdue through the alerts intake.
 */
import type { AlertIntake, ReportedAlert } from '../alerts/intake.js';
import { nextRunAfter } from './cron-times.js';
import type { JobSchedule } from './scheduled-jobs.js';
import type { ClaimResult, JobRecord, RunTrigger, ScheduleRun, ScheduleStore } from './schedule-store.js';

export interface JobRunContext {
  /** Aborted when the job times out or the scheduler stops. */
  signal: AbortSignal;
  run: ScheduleRun;
}

export interface ScheduledJob extends JobSchedule {
  /** Does the work; what it returns is the run's detail line. Throwing fails the run. */
  run(context: JobRunContext): Promise<string | void>;
}

export type SchedulerEvent =
  | { kind: 'started'; run: ScheduleRun }
  | { kind: 'ended'; run: ScheduleRun; outcome: 'ok' | 'failed' | 'timed-out'; detail: string | undefined }
  | { kind: 'skipped'; run: ScheduleRun }
  | { kind: 'overdue'; job: string; owedSince: Date };

export interface SchedulerOptions {
  store: ScheduleStore;
  jobs: readonly ScheduledJob[];
  /** The config's `timezone:`: the jobs' cron expressions are read in it. */
  timezone: string;
  /** This replica (replica-id.ts). */
  holder: string;
  alerts?: AlertIntake;
  /** The wall clock (tests pass their own to cross a DST change). */
  clock?: () => Date;
  /** A scheduled time handled later than this counts as missed (its job's policy decides). */
  lateAfterMs?: number;
  /** How long past a scheduled time a job may owe its run before the overdue alert. */
  overdueAfterMs?: number;
  /** The lease a running run holds; renewed at a third of it. */
  leaseMs?: number;
  maxSleepMs?: number;
  onEvent?(event: SchedulerEvent): void;
  onError(error: unknown, what: string): void;
}

export type RunNowResult =
  | { kind: 'started'; run: ScheduleRun; ended: Promise<void> }
  | { kind: 'overlap'; run: ScheduleRun; running: ScheduleRun }
  | { kind: 'unknown'; known: string[] }
  | { kind: 'disabled' };

export interface Scheduler {
  /** Records the configured jobs (a new or changed schedule gets its next time); before anything else. */
  declare(): Promise<void>;
  /** Handles every job that is due now: claims and runs it, skips it, or raises its overdue alert. */
  wake(): Promise<void>;
  /** Runs a job now, whatever its schedule (the `schedule run` command); not if it is running. */
  runNow(job: string, requestedBy: string): Promise<RunNowResult>;
  jobs(): Promise<JobRecord[]>;
  /** The timer loop, for the replica that leads; `stop` ends the loop (runs in progress go on). */
  startTimer(): { stop(): Promise<void> };
  /** Resolves once every run this scheduler started has ended. */
  idle(): Promise<void>;
  /** Ends the timer, aborts the runs in progress (recorded as failed) and waits for them. */
  stop(): Promise<void>;
}

export const DEFAULT_LATE_AFTER_MS = 5 * 60_000;
export const DEFAULT_OVERDUE_AFTER_MS = 2 * 60 * 60_000;
export const DEFAULT_RUN_LEASE_MS = 60_000;
export const OVERDUE_RULE = 'ScheduledJobOverdue';

class JobTimeout extends Error {}
/** The run was marked abandoned while it went on here: another replica may run it again. */
class LeaseLost extends Error {}

const minutes = (ms: number) => (ms < 1000 ? `${ms} ms` : ms >= 3_600_000 ? `${Number((ms / 3_600_000).toFixed(1))} h` : ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`);

export function createScheduler(options: SchedulerOptions): Scheduler {
  const clock = options.clock ?? (() => new Date());
  const lateAfterMs = options.lateAfterMs ?? DEFAULT_LATE_AFTER_MS;
  const overdueAfterMs = options.overdueAfterMs ?? DEFAULT_OVERDUE_AFTER_MS;
  const leaseMs = options.leaseMs ?? DEFAULT_RUN_LEASE_MS;
  const maxSleepMs = options.maxSleepMs ?? 60_000;
  const byName = new Map(options.jobs.map((job) => [job.name, job]));
  const inFlight = new Map<string, { controller: AbortController; ended: Promise<void> }>();
  const stopping = new AbortController();
  let timer: { stop(): Promise<void> } | undefined;

  const nextAfter = (job: ScheduledJob, after: Date) => nextRunAfter({ cron: job.cron, timezone: options.timezone }, after);
  const emit = (event: SchedulerEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A failing listener must not stop the schedule.
    }
  };

  function overdueAlert(job: string, status: 'firing' | 'resolved', owedSince: Date, at: Date, lastOk: Date | undefined): ReportedAlert {
    const ago = (time: Date) => minutes(at.getTime() - time.getTime());
    const labels = { alertname: OVERDUE_RULE, job };
    return {
      source: 'monitor',
      fingerprint: `monitor/${OVERDUE_RULE}/job=${job}`,
      rule: OVERDUE_RULE,
      status,
      labels,
      annotations: {
        summary: `the scheduled job ${job} has not run since it was due at ${owedSince.toISOString()} (${ago(owedSince)} ago)${lastOk ? `; its last good run started ${lastOk.toISOString()} (${ago(lastOk)} ago)` : ''}`,
      },
      // The same for every replica, so two reports of it are one alert.
      startsAt: new Date(owedSince.getTime() + overdueAfterMs),
      ...(status === 'resolved' ? { endsAt: at } : {}),
      value: (at.getTime() - owedSince.getTime()) / 3_600_000,
    };
  }

  async function checkOverdue(job: ScheduledJob, record: JobRecord, now: Date): Promise<void> {
    // A time a `skip` job missed is not owed: it declared that missing it does no harm.
    const due = job.missed === 'run-once' && record.nextRunAt && record.nextRunAt <= now ? record.nextRunAt : undefined;
    const owed = [record.owedSince, due].filter((time): time is Date => time !== undefined).sort((a, b) => a.getTime() - b.getTime())[0];
    if (!owed || now.getTime() - owed.getTime() <= overdueAfterMs || record.overdueSince) return;
    // One replica raises it: the mark is taken once.
    if (!(await options.store.markOverdue(record.name, owed))) return;
    emit({ kind: 'overdue', job: record.name, owedSince: owed });
    try {
      await options.alerts?.report([overdueAlert(record.name, 'firing', owed, now, await options.store.lastOk(record.name))]);
    } catch (error) {
      await options.store.markOverdue(record.name, undefined);
      throw error;
    }
  }

  async function resolveOverdue(job: string): Promise<void> {
    const record = await options.store.job(job);
    if (!record?.overdueSince || record.owedSince) return;
    if (!(await options.store.markOverdue(job, undefined))) return;
    const now = clock();
    await options.alerts?.report([overdueAlert(job, 'resolved', record.overdueSince, now, undefined)]);
  }

  function execute(job: ScheduledJob, run: ScheduleRun): Promise<void> {
    const controller = new AbortController();
    const onStop = () => controller.abort(new Error('the bot is stopping'));
    stopping.signal.addEventListener('abort', onStop, { once: true });
    const renewal = setInterval(() => {
      options.store.renew(run, leaseMs).then(
        (held) => {
          // Marked abandoned (this replica was too slow to renew): another replica may run the job
          // again, so this one stops rather than run it a second time beside that one.
          if (!held && !controller.signal.aborted) controller.abort(new LeaseLost(`its lease ran out (the run was marked abandoned while it went on here), so it stopped`));
        },
        (error: unknown) => options.onError(error, `renewing the lease of ${job.name} run ${run.id}`),
      );
    }, Math.max(50, Math.floor(leaseMs / 3)));
    let timeout: NodeJS.Timeout | undefined;
    const ended = (async () => {
      emit({ kind: 'started', run });
      let outcome: 'ok' | 'failed' | 'timed-out';
      let detail: string | undefined;
      try {
        const timedOut = new Promise<never>((_, reject) => {
          timeout = setTimeout(() => reject(new JobTimeout(`timed out after ${minutes(job.timeoutMs)}`)), job.timeoutMs);
        });
        const work = Promise.resolve().then(() => job.run({ signal: controller.signal, run }));
        // The work's own later failure is not an unhandled rejection once the timeout won.
        work.catch(() => undefined);
        // A job that does not watch its signal still ends here when the lease is lost.
        const leaseLost = new Promise<never>((_, reject) => {
          controller.signal.addEventListener('abort', () => controller.signal.reason instanceof LeaseLost && reject(controller.signal.reason), { once: true });
        });
        leaseLost.catch(() => undefined);
        detail = (await Promise.race([work, timedOut, leaseLost])) ?? undefined;
        outcome = 'ok';
      } catch (error) {
        outcome = error instanceof JobTimeout ? 'timed-out' : 'failed';
        detail = (error as Error)?.message ?? String(error);
        if (outcome === 'timed-out') controller.abort(error);
      } finally {
        clearTimeout(timeout);
        clearInterval(renewal);
        stopping.signal.removeEventListener('abort', onStop);
      }
      try {
        await options.store.finish(run, outcome, clock(), detail?.slice(0, 2000));
        if (outcome === 'ok') await resolveOverdue(job.name);
      } catch (error) {
        options.onError(error, `recording the end of ${job.name} run ${run.id}`);
      }
      emit({ kind: 'ended', run, outcome, detail });
    })();
    const entry = { controller, ended };
    inFlight.set(run.id, entry);
    void ended.finally(() => inFlight.delete(run.id));
    return ended;
  }

  async function claimAndRun(job: ScheduledJob, scheduledFor: Date, trigger: RunTrigger, now: Date, requestedBy?: string): Promise<ClaimResult & { ended?: Promise<void> }> {
    const claim = await options.store.claim({
      job: job.name,
      scheduledFor,
      trigger,
      holder: options.holder,
      startedAt: now,
      leaseMs,
      ...(requestedBy ? { requestedBy } : {}),
      ...(trigger === 'manual' ? {} : { nextRunAt: nextAfter(job, now) }),
    });
    if (claim.kind === 'overlap') emit({ kind: 'skipped', run: claim.run });
    if (claim.kind !== 'claimed') return claim;
    return { ...claim, ended: execute(job, claim.run) };
  }

  /**
   * A scheduled run whose replica died is owed like a missed time: a `run-once` job runs once
   * again, a `skip` job waits for its next time. A retry that is itself abandoned is not retried
   * (a job that kills its replica would kill them all); the overdue alert tells of it.
   */
  async function retryAbandoned(job: ScheduledJob, record: JobRecord, now: Date): Promise<boolean> {
    const last = record.lastRun;
    if (job.missed !== 'run-once' || !record.owedSince || last?.outcome !== 'abandoned' || (last.trigger !== 'schedule' && last.trigger !== 'catch-up')) return false;
    const claim = await options.store.claimRetry(last, { holder: options.holder, startedAt: now, leaseMs });
    if (claim.kind !== 'claimed') return false;
    void execute(job, claim.run);
    return true;
  }

  async function handle(record: JobRecord, now: Date): Promise<void> {
    const job = byName.get(record.name);
    if (!job || !job.enabled || !record.enabled) return;
    await checkOverdue(job, record, now);
    if (await retryAbandoned(job, record, now)) return;
    if (!record.nextRunAt || record.nextRunAt > now) return;
    const scheduledFor = record.nextRunAt;
    const missed = now.getTime() - scheduledFor.getTime() > lateAfterMs;
    if (missed && job.missed === 'skip') {
      const run = await options.store.skipMissed(
        { job: job.name, scheduledFor, trigger: 'catch-up', holder: options.holder, startedAt: now, nextRunAt: nextAfter(job, now) },
        `missed: due at ${scheduledFor.toISOString()}, when no replica ran the scheduler; this job skips missed times`,
      );
      if (run) emit({ kind: 'skipped', run });
      return;
    }
    // However many times were missed, the job runs once, and its next time is the next one from now.
    await claimAndRun(job, scheduledFor, missed ? 'catch-up' : 'schedule', now);
  }

  const scheduler: Scheduler = {
    async declare() {
      const now = clock();
      await options.store.declare(
        options.jobs.map((job) => ({ name: job.name, cron: job.cron, timezone: options.timezone, enabled: job.enabled, nextRunAt: job.enabled ? nextAfter(job, now) : undefined })),
        now,
      );
    },

    async wake() {
      const now = clock();
      for (const record of await options.store.jobs()) {
        try {
          await handle(record, now);
        } catch (error) {
          options.onError(error, `handling the scheduled job ${record.name}`);
        }
      }
    },

    async runNow(name, requestedBy) {
      const job = byName.get(name);
      if (!job) return { kind: 'unknown', known: [...byName.keys()] };
      if (!job.enabled) return { kind: 'disabled' };
      const now = clock();
      const result = await claimAndRun(job, now, 'manual', now, requestedBy);
      if (result.kind === 'claimed') return { kind: 'started', run: result.run, ended: result.ended! };
      if (result.kind === 'overlap') return result;
      throw new Error(`the manual run of ${name} could not be recorded`);
    },

    jobs: () => options.store.jobs(),

    startTimer() {
      let handle: NodeJS.Timeout | undefined;
      let ended = false;
      let beat: Promise<void> = Promise.resolve();
      const schedule = async () => {
        if (ended) return;
        let sleepMs = maxSleepMs;
        // At least a little: a time just claimed by another replica must not spin this loop.
        let floorMs = 10;
        try {
          await scheduler.wake();
          const now = clock().getTime();
          for (const record of await options.store.jobs()) {
            if (record.enabled && record.nextRunAt) sleepMs = Math.min(sleepMs, Math.max(0, record.nextRunAt.getTime() - now));
          }
        } catch (error) {
          options.onError(error, 'the scheduler beat');
          floorMs = 5_000;
        }
        if (ended) return;
        handle = setTimeout(() => {
          beat = schedule();
        }, Math.max(sleepMs, floorMs));
        handle.unref();
      };
      beat = schedule();
      timer = {
        async stop() {
          ended = true;
          clearTimeout(handle);
          await beat;
        },
      };
      return timer;
    },

    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight.values()].map((entry) => entry.ended));
    },

    async stop() {
      await timer?.stop();
      stopping.abort();
      await scheduler.idle();
    },
  };
  return scheduler;
}
