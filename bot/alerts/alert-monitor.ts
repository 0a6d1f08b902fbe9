/**
 * The built-in monitor (the embedded default, nothing configured): every few seconds it reads the
 * stack, judges the runbook's rules and reports what changed to the alert intake. On start it
 * takes over the monitor's alerts that are still open, so that one firing before a restart of the
 * bot still resolves when its condition clears. Flapping alerts settle on the same beat.
 * bot/main.ts runs it on one replica, under the lease `alert-monitor` (bot/leadership/); a
 * takeover starts it afresh on the new holder, which adopts what the previous one left open.
 */
import type { CommandDependencies } from '../../commands/dependencies.js';
import { startPeriodicJob, type PeriodicJob } from '../../services/kit/periodic.js';
import { isAlertRuleName } from './alert-rules.js';
import { DEFAULT_ALERT_SETTINGS } from './alert-settings.js';
import type { AlertStore } from './alert-store.js';
import type { ReportedAlert } from './intake.js';
import { createCrashTracker } from './crash-tracking.js';
import { createRuleEvaluator, type FiringAlert, type MonitorSample } from './rule-evaluation.js';
import { observe, readStack, type StackReading } from './stack-reading.js';

export interface AlertMonitorOptions {
  services: CommandDependencies;
  alerts: MonitorAlerts;
  /** From the start of one reading to the start of the next (default 2000). */
  intervalMs?: number;
  /** Each service health check's deadline (default 3000; see alert-settings.ts). */
  healthTimeoutMs?: number;
  now?: () => Date;
  onError(error: unknown): void;
}

export interface AlertMonitor {
  stop(): Promise<void>;
}

export type MonitorAlerts = Pick<AlertStore, 'report' | 'listOpen' | 'settleFlapping'>;

/**
 * How long the last listing stands in for listings that did not come. Without a bound, a service
 * held during a restore stayed held in it after its start: a listing often loses its race with the
 * health checks, and always once a service is frozen (its probe takes the listing's whole
 * deadline), so a writer frozen just after a restore was never reported.
 */
export const HELD_LISTING_MAX_AGE_MS = 10_000;

/**
 * What each beat does with a reading: judge it and report what changed. Made after taking over the
 * monitor's open alerts; apart from the timer and the reading, so that it is tested with readings.
 */
export async function createMonitorBeat(alerts: MonitorAlerts): Promise<(reading: StackReading) => Promise<void>> {
  const evaluator = createRuleEvaluator();
  const crashes = createCrashTracker();
  const open = await alerts.listOpen({ source: 'monitor' });
  const firing = open.flatMap((alert): FiringAlert[] => (isAlertRuleName(alert.rule) ? [{ fingerprint: alert.fingerprint, rule: alert.rule, labels: alert.labels, firedAt: alert.firedAt }] : []));
  // ServiceRestarted is the crash tracker's (it resolves on the replica's health); the rest the evaluator's.
  crashes.adopt(firing.filter((alert) => alert.rule === 'ServiceRestarted'));
  evaluator.adopt(firing.filter((alert) => alert.rule !== 'ServiceRestarted'));
  // The evaluator has moved on once it reported a change: a report the store could not take (the
  // database away) is sent again with the next beat's; the store takes each only once.
  let unsent: ReportedAlert[] = [];
  // The last listing the Stack port gave: a held service stays held through a beat whose listing
  // ran out of time (a frozen service's probe takes the whole deadline).
  let lastListing: { replicas: NonNullable<StackReading['replicas']>; at: Date } | undefined;
  return async (reading) => {
    if (reading.replicas) lastListing = { replicas: reading.replicas, at: reading.at };
    const listing = lastListing && reading.at.getTime() - lastListing.at.getTime() <= HELD_LISTING_MAX_AGE_MS ? lastListing.replicas : undefined;
    const observed = observe({ ...reading, ...(listing ? { replicas: listing } : {}) });
    const crashed = reading.replicas && reading.stackKind ? crashes.track({ at: reading.at, kind: reading.stackKind, services: reading.replicas }) : undefined;
    const sample: MonitorSample = crashed
      ? { at: observed.at, observations: [...observed.observations, ...crashed.observations], evaluated: new Set([...observed.evaluated, 'ServiceCrashLooping' as const]) }
      : observed;
    const reports = [...unsent, ...(crashed?.reports ?? []), ...evaluator.evaluate(sample)];
    unsent = reports;
    if (reports.length > 0) await alerts.report(reports);
    unsent = [];
    await alerts.settleFlapping();
  };
}

export async function startAlertMonitor(options: AlertMonitorOptions): Promise<AlertMonitor> {
  const now = options.now ?? (() => new Date());
  const stopping = new AbortController();
  const beat = await createMonitorBeat(options.alerts);
  const healthTimeoutMs = options.healthTimeoutMs ?? DEFAULT_ALERT_SETTINGS.monitorTimeoutMs;
  // Readings evenly spaced from their starts: a reading that waits out a frozen service's timeout
  // is followed by the next at once instead of by a further pause (README.md, "Detection time").
  const intervalMs = options.intervalMs ?? DEFAULT_ALERT_SETTINGS.monitorIntervalMs;
  const job: PeriodicJob = startPeriodicJob({
    intervalMs,
    measuredFrom: 'start',
    // A reading that overran (a frozen service waits out the deadline) is followed after half a
    // beat, not at once: a loaded stack is not read back to back. A frozen service still fires at
    // the end of its second reading (about 7 s with the 3 s deadline and 2 s beat).
    minRestMs: Math.floor(intervalMs / 2),
    run: async () => beat(await readStack(options.services, stopping.signal, now, healthTimeoutMs)),
    onError: options.onError,
  });
  return {
    async stop() {
      stopping.abort();
      await job.stop();
    },
  };
}
