/**
 * Keeps one run's lease alive while this process runs it: renews it every `renewEveryMs` (well
 * inside `leaseMs`, so a renewal may fail without losing it). When the lease is lost (the token
 * moved on, or no renewal got through in time: the signal fires a margin before the lease could run
 * out, even while a renewal hangs), or a person asked to abort, it fires the run's signal so the
 * step stops.
 */
import { LeaseLostError } from './errors.js';
import type { Lease, RunState, RunStore } from './run-store.js';

/** Why a run's signal fired. */
export type RunStop = { kind: 'lease-lost'; message: string } | { kind: 'abort-requested' };

export interface LeaseKeeper {
  /** Fires (reason: a RunStop) when the lease is lost: nothing more may be done or written. */
  readonly lost: AbortSignal;
  /** Fires (reason: a RunStop) when the lease is lost or a person asked to abort: the step must stop. */
  readonly stepSignal: AbortSignal;
  /** Whether a person asked to abort (seen on a renewal or on a write). */
  readonly abortRequested: boolean;
  noteState(state: RunState): void;
  stop(): void;
}

export function keepLease(store: RunStore, lease: Lease, renewEveryMs: number, onError: (error: unknown) => void): LeaseKeeper {
  const lost = new AbortController();
  const abort = new AbortController();
  let abortRequested = false;
  let renewing = false;
  // The database extends the lease from when it runs the renewal, which is after we send it: a
  // lease renewed by a request sent at `sentAt` lasts at least until sentAt + leaseMs. We give up a
  // margin before that, whatever state the pending renewal is in (a hung query included), so this
  // runner stops before another may claim the run.
  const marginMs = Math.min(renewEveryMs, lease.leaseMs / 4);
  let deadline: NodeJS.Timeout | undefined;
  const armDeadline = (sentAt: number) => {
    clearTimeout(deadline);
    const remaining = sentAt + lease.leaseMs - marginMs - performance.now();
    deadline = setTimeout(
      () => fire({ kind: 'lease-lost', message: `no renewal of run ${lease.runId}'s lease got through in time (lease ${lease.leaseMs} ms): another runner may take it over` }),
      Math.max(0, remaining),
    );
    deadline.unref();
  };
  armDeadline(performance.now());

  const fire = (stop: RunStop) => {
    const controller = stop.kind === 'lease-lost' ? lost : abort;
    if (!controller.signal.aborted) controller.abort(stop);
  };
  const keeper: LeaseKeeper = {
    lost: lost.signal,
    stepSignal: AbortSignal.any([lost.signal, abort.signal]),
    get abortRequested() {
      return abortRequested;
    },
    noteState(state) {
      if (state === 'aborting' && !abortRequested) {
        abortRequested = true;
        fire({ kind: 'abort-requested' });
      }
    },
    stop() {
      clearInterval(timer);
      clearTimeout(deadline);
    },
  };
  const timer = setInterval(() => {
    if (renewing || lost.signal.aborted) return;
    renewing = true;
    const sentAt = performance.now();
    store
      .renew(lease)
      .then((state) => {
        if (!lost.signal.aborted) armDeadline(sentAt);
        keeper.noteState(state);
      })
      .catch((error: unknown) => {
        if (error instanceof LeaseLostError) return fire({ kind: 'lease-lost', message: error.message });
        onError(error);
      })
      .finally(() => {
        renewing = false;
      });
  }, renewEveryMs);
  timer.unref();
  return keeper;
}
