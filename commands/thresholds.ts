/**
 * The runbook's thresholds (OPERATIONAL_RUNBOOK.md, "Key Metrics Thresholds" and the alert
 * responses), in one place: commands mark their figures against these and nothing else.
 * `target` is where a healthy stack is; `alert` is where the runbook starts an alert response.
 */
import type { Tone } from './result.js';

export const RUNBOOK_THRESHOLDS = {
  /** Policy Engine P99 latency in ms: target under 1; the High Latency Alert fires above 5. */
  policyP99Ms: { target: 1, alert: 5 },
  /** P99 latency of the other services in ms. */
  serviceP99Ms: { target: 50 },
  /** Share of requests that failed (5xx): under 0.1 %. */
  errorRate: { target: 0.001 },
  /** Cache hit rate: over 95 %; under 90 % is the runbook's cache degradation (warm the cache). */
  cacheHitRate: { target: 0.95, alert: 0.9 },
  cpuUtilization: { target: 0.8 },
  /** Memory in use against its limit (containers, Redis maxmemory): under 85 %. */
  memoryUtilization: { target: 0.85 },
  /** Seconds a connection may sit idle in a transaction before the runbook terminates it ("interval '1 hour'"). */
  idleInTransactionSeconds: { alert: 3600 },
  /** Safety violations per minute above which the runbook calls for an emergency lockdown. */
  safetyViolationsPerMinute: { alert: 10 },
} as const;

export interface Threshold {
  target: number;
  alert?: number;
}

/** For figures that should stay low (latency, error rate): under target ok, over alert fail, else warn. */
export function markUpperBound(value: number, threshold: Threshold): Tone {
  if (value < threshold.target) return 'ok';
  if (threshold.alert !== undefined && value > threshold.alert) return 'fail';
  return 'warn';
}

/** For figures that should stay high (hit rates): over target ok, under alert fail, else warn. */
export function markLowerBound(value: number, threshold: Threshold): Tone {
  if (value > threshold.target) return 'ok';
  if (threshold.alert !== undefined && value < threshold.alert) return 'fail';
  return 'warn';
}
