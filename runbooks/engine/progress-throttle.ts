/**
 * Paces a run's progress writes: a step may report as often as it likes, but the run's attempt row
 * (and so its Slack message, which is edited from that row) changes at most once per `everyMs`.
 * The first report is written at once; reports within the interval replace each other and the
 * latest is written when the interval is over, so the newest one always lands. A write that
 * failed is tried again an interval later unless a newer report replaced it.
 */
export const DEFAULT_PROGRESS_EVERY_MS = 2000;

export interface ProgressThrottleOptions<T> {
  everyMs: number;
  write(value: T): Promise<void>;
  onError(error: unknown): void;
}

export interface ProgressThrottle<T> {
  report(value: T): void;
  /**
   * Cancels the scheduled write and returns the report not written yet (the caller records it with
   * the step's end), once a write in flight has ended; later reports are paced as before.
   */
  takePending(): Promise<T | undefined>;
}

export function throttleProgress<T>(options: ProgressThrottleOptions<T>): ProgressThrottle<T> {
  let pending: { value: T } | undefined;
  let lastWriteAt = Number.NEGATIVE_INFINITY;
  let inFlight: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  function schedule(): void {
    if (timer || inFlight || !pending) return;
    const wait = lastWriteAt + options.everyMs - performance.now();
    if (wait <= 0) {
      writeNow();
      return;
    }
    timer = setTimeout(() => {
      timer = undefined;
      schedule();
    }, wait);
    // A report waiting for its turn must not keep a process alive that is otherwise done.
    timer.unref();
  }

  function writeNow(): void {
    const { value } = pending!;
    pending = undefined;
    lastWriteAt = performance.now();
    inFlight = options
      .write(value)
      .catch((error: unknown) => {
        options.onError(error);
        pending ??= { value };
      })
      .finally(() => {
        inFlight = undefined;
        schedule();
      });
  }

  return {
    report(value) {
      pending = { value };
      schedule();
    },
    async takePending() {
      clearTimeout(timer);
      timer = undefined;
      // Taken before waiting: a failed write in flight puts its value back only if nothing newer came.
      const taken = pending;
      pending = undefined;
      while (inFlight) await inFlight;
      clearTimeout(timer);
      timer = undefined;
      const left = taken ?? pending;
      pending = undefined;
      return left?.value;
    },
  };
}
