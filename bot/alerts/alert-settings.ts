/**
 * How often the built-in monitor samples the stack, and when an alert counts as flapping. Each is
 * an environment variable so that an operator (or a test) can change it without a code change;
 * a bad value stops the bot's start with the variable's name rather than monitoring every NaN ms.
 */
import { z } from 'zod';
import { parseEnv, WholeNumber } from '../../services/kit/env.js';

export interface AlertSettings {
  /** From the start of one monitor sample to the start of the next (a sample that takes longer is followed at once). */
  monitorIntervalMs: number;
  /**
   * The monitor's deadline for each service's health check. Longer than the services' own 2 s
   * checks of their dependencies, so that a service waiting on a frozen dependency is degraded, not down.
   */
  monitorTimeoutMs: number;
  /** An alert changing state (firing, resolved) more often than this within the window is flapping. */
  flappingChanges: number;
  /** The flapping window; a flapping alert settles once it has not changed state for a whole window. */
  flappingWindowMs: number;
}

export const DEFAULT_ALERT_SETTINGS: Readonly<AlertSettings> = {
  monitorIntervalMs: 2000,
  monitorTimeoutMs: 3000,
  flappingChanges: 4,
  flappingWindowMs: 10 * 60_000,
};

const AlertSettingsEnv = z.object({
  ACGS_ALERT_MONITOR_INTERVAL_MS: WholeNumber(100, 600_000).optional(),
  ACGS_ALERT_MONITOR_TIMEOUT_MS: WholeNumber(100, 60_000).optional(),
  ACGS_ALERT_FLAPPING_CHANGES: WholeNumber(1, 1000).optional(),
  ACGS_ALERT_FLAPPING_WINDOW_SECONDS: WholeNumber(1, 7 * 24 * 3600).optional(),
});

export function alertSettingsFromEnv(env: Record<string, string | undefined>): AlertSettings {
  const parsed = parseEnv(AlertSettingsEnv, 'alerts', env);
  return {
    monitorIntervalMs: parsed.ACGS_ALERT_MONITOR_INTERVAL_MS ?? DEFAULT_ALERT_SETTINGS.monitorIntervalMs,
    monitorTimeoutMs: parsed.ACGS_ALERT_MONITOR_TIMEOUT_MS ?? DEFAULT_ALERT_SETTINGS.monitorTimeoutMs,
    flappingChanges: parsed.ACGS_ALERT_FLAPPING_CHANGES ?? DEFAULT_ALERT_SETTINGS.flappingChanges,
    flappingWindowMs: parsed.ACGS_ALERT_FLAPPING_WINDOW_SECONDS !== undefined ? parsed.ACGS_ALERT_FLAPPING_WINDOW_SECONDS * 1000 : DEFAULT_ALERT_SETTINGS.flappingWindowMs,
  };
}
