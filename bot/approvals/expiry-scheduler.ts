/**
 * Fires each pending request's expiry at its `expiresAt`, so that its Slack message can say so and
 * its buttons stop working. On start it loads every pending request from PostgreSQL (a restarted
 * bot resumes the timers of requests made before), then learns of new ones from the signals and
 * resyncs now and then in case a signal was lost. Every replica may run one: expireDue is a single
 * conditional UPDATE, so each expiry is won (and reported to `onExpired`) by exactly one replica.
 */
import { startPeriodicJob } from '../../services/kit/periodic.js';
import type { ApprovalRequest } from './model.js';
import type { ApprovalSignals } from './signals.js';
import type { ApprovalStore } from './store.js';

export interface ExpirySchedulerOptions {
  store: Pick<ApprovalStore, 'expireDue' | 'pending'>;
  /** Created/settled announcements; without them only this replica's resyncs find new requests. */
  signals?: ApprovalSignals;
  /** The requests this replica expired: update their messages. Errors go to `onError`. */
  onExpired(requests: ApprovalRequest[]): void | Promise<void>;
  onError?(error: unknown): void;
  /** How often to reload the pending requests as a safety net for lost signals; default a minute. */
  resyncIntervalMs?: number;
  /** How soon to try again when PostgreSQL did not answer; default a second. */
  retryDelayMs?: number;
  clock?: () => Date;
}

export interface ExpiryScheduler {
  /** Resolves once the pending requests were loaded (or the first load failed and a retry is set). */
  readonly ready: Promise<void>;
  /** Times a request this replica just created, without waiting for a signal or resync. */
  track(request: Pick<ApprovalRequest, 'id' | 'expiresAt' | 'state'>): void;
  /** The requests currently timed, soonest first: for tests and diagnostics. */
  tracked(): Array<{ id: string; expiresAt: Date }>;
  stop(): Promise<void>;
}

// setTimeout cannot wait longer than this (about 24.8 days); longer waits are re-armed.
const MAX_TIMER_MS = 2 ** 31 - 1;

export function startExpiryScheduler(options: ExpirySchedulerOptions): ExpiryScheduler {
  const clock = options.clock ?? (() => new Date());
  const onError = options.onError ?? (() => undefined);
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const due = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;
  let armedFor: number | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  // After PostgreSQL failed to answer, no attempt before this time (a due request would otherwise spin).
  let notBefore = 0;
  const retryTimers = new Set<NodeJS.Timeout>();

  function arm(): void {
    if (stopped || running) return;
    let soonest: number | undefined;
    for (const at of due.values()) if (soonest === undefined || at < soonest) soonest = at;
    if (soonest === armedFor && timer) return;
    if (timer) clearTimeout(timer);
    timer = undefined;
    armedFor = soonest;
    if (soonest === undefined) return;
    const delay = Math.min(Math.max(0, Math.max(soonest, notBefore) - clock().getTime()), MAX_TIMER_MS);
    // Unref'd: a pending expiry must not keep a CLI or a finished test alive; the bot lives anyway.
    // One timer re-armed for the soonest request, not a periodic job: its delay changes with every request.
    timer = setTimeout(fire, delay).unref();
  }

  function fire(): void {
    timer = undefined;
    armedFor = undefined;
    running = expireNow().finally(() => {
      running = undefined;
      arm();
    });
  }

  async function expireNow(): Promise<void> {
    const now = clock();
    let expired: ApprovalRequest[];
    try {
      expired = await options.store.expireDue(now);
    } catch (error) {
      onError(error);
      notBefore = clock().getTime() + retryDelayMs;
      return;
    }
    notBefore = 0;
    // Whatever was due is settled now: expired by us, or by another replica, or decided before.
    for (const [id, at] of due) if (at <= now.getTime()) due.delete(id);
    if (expired.length === 0) return;
    try {
      await options.onExpired(expired);
    } catch (error) {
      onError(error);
    }
  }

  function track(request: Pick<ApprovalRequest, 'id' | 'expiresAt' | 'state'>): void {
    if (stopped || request.state !== 'pending') return;
    due.set(request.id, request.expiresAt.getTime());
    arm();
  }

  async function resync(): Promise<void> {
    try {
      const pending = await options.store.pending();
      for (const request of pending) due.set(request.id, request.expiresAt.getTime());
      arm();
    } catch (error) {
      onError(error);
      if (stopped) return;
      // A one-off retry soon after a failure, beside the slower periodic resync.
      const retry = setTimeout(() => {
        retryTimers.delete(retry);
        void resync();
      }, retryDelayMs).unref();
      retryTimers.add(retry);
    }
  }

  const unsubscribe = options.signals?.subscribe((signal) => {
    if (stopped) return;
    if (signal.type === 'created') track({ id: signal.id, expiresAt: new Date(signal.expiresAt), state: 'pending' });
    else if (due.delete(signal.id)) arm();
  });
  const resyncIntervalMs = options.resyncIntervalMs ?? 60_000;
  // resync() reports its own failures to onError and never rejects.
  const resyncRounds = startPeriodicJob({ firstRunAfterMs: resyncIntervalMs, intervalMs: resyncIntervalMs, run: resync, onError });
  const ready = resync();

  return {
    ready,
    track,
    tracked: () =>
      [...due.entries()]
        .sort((a, b) => a[1] - b[1])
        .map(([id, at]) => ({ id, expiresAt: new Date(at) })),
    async stop() {
      stopped = true;
      unsubscribe?.();
      const resyncing = resyncRounds.stop();
      if (timer) clearTimeout(timer);
      for (const retry of retryTimers) clearTimeout(retry);
      await resyncing;
      due.clear();
      await running;
    },
  };
}
