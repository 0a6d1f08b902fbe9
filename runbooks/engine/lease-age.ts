/**
 * How old a held run's lease is. A claim and every renewal set it to end `leaseMs` after the
 * database's now, so its age is how long ago its holder was last heard from; both are read on the
 * database's clock, which leases are on.
 */
import type { RunRecord } from './run-store.js';

/** The database's time now, and the runners' lease settings. */
export interface LeaseClock {
  now: Date;
  leaseMs: number;
  renewEveryMs: number;
}

export interface LeaseAge {
  ageMs: number;
  renewEveryMs: number;
  expiresInMs: number;
}

export function leaseAge(run: Pick<RunRecord, 'leaseOwner' | 'leaseExpiresAt'>, clock: LeaseClock | undefined): LeaseAge | undefined {
  if (!clock || !run.leaseOwner || !run.leaseExpiresAt) return undefined;
  const expiresInMs = run.leaseExpiresAt.getTime() - clock.now.getTime();
  return { ageMs: Math.max(0, clock.leaseMs - expiresInMs), renewEveryMs: clock.renewEveryMs, expiresInMs };
}
