import { afterEach, describe, expect, it, vi } from 'vitest';
import { startPeriodicJob } from './periodic.js';

/** A run that stays in progress until the test ends it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('periodic job (fake timers)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs at once by default, then intervalMs after each run ends', async () => {
    vi.useFakeTimers();
    const starts: number[] = [];
    const job = startPeriodicJob({ intervalMs: 100, run: () => void starts.push(Date.now()), onError: () => undefined });
    expect(starts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(99);
    expect(starts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(starts).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(200);
    expect(starts).toHaveLength(4);
    await job.stop();
  });

  it('waits firstRunAfterMs before the first run when given one', async () => {
    vi.useFakeTimers();
    let runs = 0;
    const job = startPeriodicJob({ intervalMs: 100, firstRunAfterMs: 30, run: () => void (runs += 1), onError: () => undefined });
    expect(runs).toBe(0);
    await vi.advanceTimersByTimeAsync(30);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toBe(2);
    await job.stop();
  });

  it('never overlaps runs: a slow run delays the next one instead of piling up', async () => {
    vi.useFakeTimers();
    let runs = 0;
    let inProgress = 0;
    let mostAtOnce = 0;
    const job = startPeriodicJob({
      intervalMs: 10,
      run: async () => {
        runs += 1;
        inProgress += 1;
        mostAtOnce = Math.max(mostAtOnce, inProgress);
        await new Promise((resolve) => setTimeout(resolve, 50));
        inProgress -= 1;
      },
      onError: () => undefined,
    });
    // Each round takes 50 ms of work plus 10 ms of pause: 60 ms per run.
    await vi.advanceTimersByTimeAsync(59);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(2);
    // Run 2 ends at 110 ms; the next one is due at 120 ms, so at 115 ms nothing is in progress.
    await vi.advanceTimersByTimeAsync(55);
    expect(runs).toBe(2);
    expect(mostAtOnce).toBe(1);
    await job.stop();
  });

  it('reports a throwing or rejecting run to onError and keeps the schedule going', async () => {
    vi.useFakeTimers();
    const errors: unknown[] = [];
    let runs = 0;
    const job = startPeriodicJob({
      intervalMs: 10,
      run: () => {
        runs += 1;
        if (runs === 1) throw new Error('thrown');
        return Promise.reject(new Error('rejected'));
      },
      onError: (error) => errors.push((error as Error).message),
    });
    await vi.advanceTimersByTimeAsync(10);
    expect(errors).toEqual(['thrown', 'rejected']);
    await vi.advanceTimersByTimeAsync(10);
    expect(runs).toBe(3);
    await job.stop();
  });

  it('keeps the schedule going when onError itself throws', async () => {
    vi.useFakeTimers();
    let runs = 0;
    const job = startPeriodicJob({
      intervalMs: 10,
      run: () => {
        runs += 1;
        throw new Error('run failed');
      },
      onError: () => {
        throw new Error('logger failed');
      },
    });
    await vi.advanceTimersByTimeAsync(20);
    expect(runs).toBe(3);
    await job.stop();
  });

  it('stop() waits for the run in progress and no run starts after it', async () => {
    vi.useFakeTimers();
    const running = gate();
    let runs = 0;
    const job = startPeriodicJob({
      intervalMs: 10,
      run: () => {
        runs += 1;
        return running.opened;
      },
      onError: () => undefined,
    });
    let stopped = false;
    const stopping = job.stop().then(() => {
      stopped = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    running.open();
    await stopping;
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toBe(1);
  });

  it('stop() before the first run means no run at all', async () => {
    vi.useFakeTimers();
    let runs = 0;
    const job = startPeriodicJob({ intervalMs: 10, firstRunAfterMs: 10, run: () => void (runs += 1), onError: () => undefined });
    await job.stop();
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toBe(0);
  });

  it('measured from the start: runs every intervalMs from each start, a quick run waiting for its slot', async () => {
    vi.useFakeTimers();
    let runs = 0;
    const job = startPeriodicJob({
      intervalMs: 100,
      measuredFrom: 'start',
      run: async () => {
        runs += 1;
        await new Promise((resolve) => setTimeout(resolve, 30));
      },
      onError: () => undefined,
    });
    expect(runs).toBe(1);
    // Measured from the end it would be 130 ms: 30 ms of work and a 100 ms pause.
    await vi.advanceTimersByTimeAsync(99);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(2);
    await vi.advanceTimersByTimeAsync(200);
    expect(runs).toBe(4);
    // Let run 4 end: stop() waits for it, and these timers move only when told.
    await vi.advanceTimersByTimeAsync(30);
    await job.stop();
  });

  it('measured from the start: a run that overruns its slot is followed at once, never overlapped, slots not made up', async () => {
    vi.useFakeTimers();
    const durations = [250, 10, 10];
    const events: string[] = [];
    let inProgress = 0;
    let mostAtOnce = 0;
    let runs = 0;
    const job = startPeriodicJob({
      intervalMs: 100,
      measuredFrom: 'start',
      run: async () => {
        const run = ++runs;
        inProgress += 1;
        mostAtOnce = Math.max(mostAtOnce, inProgress);
        events.push(`start ${run} at ${Date.now()}`);
        await new Promise((resolve) => setTimeout(resolve, durations[run - 1] ?? 10));
        events.push(`end ${run} at ${Date.now()}`);
        inProgress -= 1;
      },
      onError: () => undefined,
    });
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(400);
    await job.stop();
    // Run 1 overran slots 100 and 200: run 2 starts when it ends (250), and the schedule goes on from there.
    expect(events.map((event) => event.replace(/\d+$/, (at) => String(Number(at) - t0)))).toEqual([
      'start 1 at 0',
      'end 1 at 250',
      'start 2 at 250',
      'end 2 at 260',
      'start 3 at 350',
      'end 3 at 360',
    ]);
    expect(mostAtOnce).toBe(1);
  });

  it('measured from the start with a least rest: a run that overran is followed after the rest, not at once', async () => {
    vi.useFakeTimers();
    const durations = [250, 10, 10];
    const starts: number[] = [];
    let runs = 0;
    const t0 = Date.now();
    const job = startPeriodicJob({
      intervalMs: 100,
      measuredFrom: 'start',
      minRestMs: 50,
      run: async () => {
        const run = ++runs;
        starts.push(Date.now() - t0);
        await new Promise((resolve) => setTimeout(resolve, durations[run - 1] ?? 10));
      },
      onError: () => undefined,
    });
    await vi.advanceTimersByTimeAsync(420);
    await job.stop();
    // Run 1 ends at 250: run 2 at 300 after the rest; run 2 is quick, so run 3 keeps to its slot (400).
    expect(starts).toEqual([0, 300, 400]);
  });

  it('measured from the start: stop() during a run that overran starts no further run', async () => {
    vi.useFakeTimers();
    const running = gate();
    let runs = 0;
    const job = startPeriodicJob({
      intervalMs: 10,
      measuredFrom: 'start',
      run: () => {
        runs += 1;
        return running.opened;
      },
      onError: () => undefined,
    });
    await vi.advanceTimersByTimeAsync(50);
    const stopping = job.stop();
    running.open();
    await stopping;
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toBe(1);
  });

  it('refuses an interval below 1 ms, which would spin', () => {
    expect(() => startPeriodicJob({ intervalMs: 0, run: () => undefined, onError: () => undefined })).toThrow(/at least 1, not 0/);
    expect(() => startPeriodicJob({ intervalMs: Number.NaN, run: () => undefined, onError: () => undefined })).toThrow(RangeError);
  });
});

describe('periodic job (real time)', () => {
  it('runs repeatedly on real timers and does not keep the process alive', async () => {
    let runs = 0;
    const job = startPeriodicJob({ intervalMs: 5, run: () => void (runs += 1), onError: () => undefined });
    await new Promise((resolve) => setTimeout(resolve, 60));
    await job.stop();
    const after = runs;
    expect(after).toBeGreaterThanOrEqual(2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(runs).toBe(after);
  });
});
