/**
 * Keeps one run's lease alive while this process runs it: renews it every `renewEveryMs` (well
 * inside `leaseMs`, so a renewal or two may fail without losing it). When the lease is lost (the
 * token moved on, or no renewal got through for a whole lease period, by which time another runner
 * may have taken over), or a person asked to abort, it fires the run's signal so the step stops.
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
  let lastRenewal = performance.now();
  let renewing = false;

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
    },
  };
  const timer = setInterval(() => {
    if (renewing) return;
    renewing = true;
    store
      .renew(lease)
      .then((state) => {
        lastRenewal = performance.now();
        keeper.noteState(state);
      })
      .catch((error: unknown) => {
        if (error instanceof LeaseLostError) return fire({ kind: 'lease-lost', message: error.message });
        onError(error);
        if (performance.now() - lastRenewal >= lease.leaseMs) {
          fire({ kind: 'lease-lost', message: `no renewal of run ${lease.runId}'s lease got through for ${lease.leaseMs} ms` });
        }
      })
      .finally(() => {
        renewing = false;
      });
  }, renewEveryMs);
  timer.unref();
  return keeper;
}
