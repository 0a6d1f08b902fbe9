/**
 * Work that one replica must do alone (DESIGN.md section 6), started while this replica holds its
 * lease and stopped as soon as it may not: `createLeaderDuty` tries to take the lease every
 * `renewEveryMs`, starts the duty when it has it, renews it, and aborts the duty (its signal, then
 * its `stop`) when a renewal finds the lease gone or when the lease would run out before the next
 * renewal could save it (PostgreSQL not answering). A replica that dies stops renewing; another
 * one takes over within one lease period.
 */
import { startPeriodicJob, type PeriodicJob } from '../../services/kit/periodic.js';
import type { HeldLease, LeaseStore } from './lease-store.js';

export const DEFAULT_LEASE_MS = 15_000;
export const DEFAULT_RENEW_EVERY_MS = 5_000;

export interface LeaderDutyContext {
  /** Aborted when the lease is lost or the duty is stopped. */
  signal: AbortSignal;
  /** The lease the duty runs under; its fencing token tells this term apart from any other. */
  lease: HeldLease;
}

/** What a started duty gives back: how to stop it (after its signal was aborted). */
export interface DutyHandle {
  stop(): Promise<void>;
}

export type LeaderDutyEvent =
  | { kind: 'leading'; lease: HeldLease }
  /** The lease was lost (ran out, taken over, or could not be renewed in time): the duty was stopped. */
  | { kind: 'lost'; lease: HeldLease; reason: string }
  /** Stopped on purpose, lease let go. */
  | { kind: 'released'; lease: HeldLease };

export interface LeaderDutyOptions {
  leases: LeaseStore;
  /** The lease's name, the work's (`alert-monitor`). */
  name: string;
  /** This replica's id (instance and pid): unique among replicas. */
  holder: string;
  leaseMs?: number;
  /** Less than a third of `leaseMs`, so that two renewals can fail before the lease runs out. */
  renewEveryMs?: number;
  start(context: LeaderDutyContext): Promise<DutyHandle | void> | DutyHandle | void;
  onEvent?(event: LeaderDutyEvent): void;
  /** A failed try, renewal or duty start or stop; the duty goes on trying. */
  onError(error: unknown, what: string): void;
  /** A monotonic clock in ms (tests pass their own). */
  clock?: () => number;
}

export interface LeaderDuty {
  /** The lease while this replica holds it and its duty runs. */
  leading(): HeldLease | undefined;
  /** Stops the duty and lets the lease go, so that another replica takes over at once. */
  stop(): Promise<void>;
}

interface Term {
  lease: HeldLease;
  controller: AbortController;
  handle: DutyHandle | undefined;
  /** By our clock: the lease may be taken by another replica from then on. */
  validUntil: number;
  expiry: NodeJS.Timeout | undefined;
  ended: boolean;
}

export function createLeaderDuty(options: LeaderDutyOptions): LeaderDuty {
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const renewEveryMs = options.renewEveryMs ?? DEFAULT_RENEW_EVERY_MS;
  if (renewEveryMs * 2 >= leaseMs) throw new RangeError(`renewing every ${renewEveryMs} ms is too rare for a ${leaseMs} ms lease: renew at least twice per lease`);
  const clock = options.clock ?? (() => performance.now());
  let term: Term | undefined;
  let stopped = false;

  const report = (error: unknown, what: string) => {
    try {
      options.onError(error, what);
    } catch {
      // A failing error callback must not stop the duty's bookkeeping.
    }
  };

  /** The lease runs out by our clock at validUntil: a timer ends the term then, whatever the ticks do. */
  function armExpiry(current: Term): void {
    if (current.expiry) clearTimeout(current.expiry);
    current.expiry = setTimeout(() => void end(current, 'lost', 'the lease ran out before it could be renewed'), Math.max(0, current.validUntil - clock()));
    current.expiry.unref();
  }

  async function end(current: Term, kind: 'lost' | 'released', reason: string): Promise<void> {
    if (current.ended) return;
    current.ended = true;
    if (term === current) term = undefined;
    if (current.expiry) clearTimeout(current.expiry);
    current.controller.abort(new Error(reason));
    try {
      await current.handle?.stop();
    } catch (error) {
      report(error, `stopping ${options.name}`);
    }
    if (kind === 'released') await options.leases.release(current.lease).catch((error: unknown) => report(error, `releasing the lease ${options.name}`));
    options.onEvent?.(kind === 'lost' ? { kind, lease: current.lease, reason } : { kind, lease: current.lease });
  }

  async function tryToLead(): Promise<void> {
    const sentAt = clock();
    const lease = await options.leases.acquire(options.name, options.holder, leaseMs);
    if (!lease || stopped) {
      if (lease) await options.leases.release(lease);
      return;
    }
    const current: Term = { lease, controller: new AbortController(), handle: undefined, validUntil: sentAt + leaseMs, expiry: undefined, ended: false };
    term = current;
    armExpiry(current);
    try {
      current.handle = (await options.start({ signal: current.controller.signal, lease })) ?? undefined;
    } catch (error) {
      report(error, `starting ${options.name}`);
      // Let another replica (or our next try) start it rather than hold a lease for work not done.
      await end(current, 'released', 'the duty did not start');
      return;
    }
    // Lost while it started: end() could not stop what did not exist yet.
    if (current.ended) await current.handle?.stop().catch((error: unknown) => report(error, `stopping ${options.name}`));
    else options.onEvent?.({ kind: 'leading', lease });
  }

  async function renew(current: Term): Promise<void> {
    const sentAt = clock();
    let renewed: HeldLease | undefined;
    try {
      renewed = await options.leases.renew(current.lease, leaseMs);
    } catch (error) {
      report(error, `renewing the lease ${options.name}`);
      // Not known to be lost yet: the expiry timer ends the term if no later renewal gets through in time.
      return;
    }
    if (current.ended) return;
    if (!renewed) return end(current, 'lost', 'the lease ran out or another replica holds it now');
    current.lease = renewed;
    current.validUntil = sentAt + leaseMs;
    armExpiry(current);
  }

  const job: PeriodicJob = startPeriodicJob({
    intervalMs: renewEveryMs,
    run: async () => {
      if (stopped) return;
      if (term) await renew(term);
      else await tryToLead();
    },
    onError: (error) => report(error, `taking the lease ${options.name}`),
  });

  return {
    leading: () => (term && !term.ended ? term.lease : undefined),
    async stop() {
      stopped = true;
      await job.stop();
      if (term) await end(term, 'released', 'the bot is stopping');
    },
  };
}
