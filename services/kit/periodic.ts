/**
 * The one way the bot and the services run periodic work (background walks, checkpoints, pollers,
 * syncs, reapers). The next run is timed from the END of the previous one, so runs never overlap
 * and a slow run never piles up behind itself. Timers are unref'd: a schedule alone must not keep
 * a process (a CLI, a finished test) alive. Calendar schedules (node-cron) are a different thing.
 */

export interface PeriodicJobOptions {
  /** Milliseconds from the end of one run to the start of the next; must be at least 1. */
  intervalMs: number;
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

  function runNow(): void {
    timer = undefined;
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
        if (!stopped) runAfter(options.intervalMs);
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
