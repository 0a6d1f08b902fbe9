/**
 * The one way the bot and the services run periodic work (background walks, checkpoints, pollers,
 * syncs, reapers). By default the next run is timed from the END of the previous one; with
 * `measuredFrom: 'start'` from its START (a sampler whose samples should be evenly spaced however
 * long one takes). Either way runs never overlap and a slow run never piles up behind itself: a
 * run that overruns its slot is followed by the next one at once, and missed slots are not made
 * up. Timers are unref'd: a schedule alone must not keep a process (a CLI, a finished test) alive.
 * Calendar schedules (node-cron) are a different thing.
 */

export interface PeriodicJobOptions {
  /** Milliseconds between runs, from the point `measuredFrom` says; must be at least 1. */
  intervalMs: number;
  /**
   * `end` (default): intervalMs from the end of one run to the start of the next, a pause after
   * each run. `start`: intervalMs from the start of one run to the start of the next; a run that
   * takes longer is followed by the next one as soon as it ends.
   */
  measuredFrom?: 'end' | 'start';
  /**
   * With `measuredFrom: 'start'`: the least pause after a run that overran its slot (default 0:
   * the next starts at once). A monitor reading a struggling system should not read it back to
   * back: the slower it answers, the more load reading it would add.
   */
  minRestMs?: number;
  /**
   * Milliseconds before the first run. Without it the first run starts at once, inside
   * `startPeriodicJob`, so whatever it reports is in progress before the caller goes on.
   */
  firstRunAfterMs?: number;
  /** One run; what it returns (or resolves to) is ignored. */
  run(): unknown;
  /** A run that threw or rejected; the schedule goes on. */
  onError(error: unknown): void;
}

export interface PeriodicJob {
  /** No further runs; resolves once a run in progress has ended (so what it uses may close after). */
  stop(): Promise<void>;
}

export function startPeriodicJob(options: PeriodicJobOptions): PeriodicJob {
  if (!Number.isFinite(options.intervalMs) || options.intervalMs < 1) {
    throw new RangeError(`a periodic job's intervalMs must be at least 1, not ${options.intervalMs}`);
  }
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  const fromStart = options.measuredFrom === 'start';
  const minRestMs = Math.max(0, options.minRestMs ?? 0);

  function runNow(): void {
    timer = undefined;
    // From the start: the next slot is armed now, without a clock, so fake timers and a
    // descheduled process see the same order. Whichever comes last (the slot or the run's end) starts the next run.
    let slotReached = false;
    let ended = false;
    if (fromStart) {
      timer = setTimeout(() => {
        timer = undefined;
        slotReached = true;
        if (ended && !stopped) runNow();
      }, options.intervalMs);
      timer.unref();
    }
    running = (async () => {
      await options.run();
    })()
      .catch((error: unknown) => {
        try {
          options.onError(error);
        } catch {
          // A failing error callback must neither end the schedule nor surface as an unhandled rejection.
        }
      })
      .finally(() => {
        running = undefined;
        ended = true;
        if (stopped) return;
        if (!fromStart) runAfter(options.intervalMs);
        else if (slotReached) {
          if (minRestMs > 0) runAfter(minRestMs);
          else runNow();
        }
      });
  }

  function runAfter(delayMs: number): void {
    timer = setTimeout(runNow, delayMs);
    timer.unref();
  }

  if (options.firstRunAfterMs === undefined) runNow();
  else runAfter(options.firstRunAfterMs);

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
