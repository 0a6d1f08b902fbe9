/**
 * Which history the reports read and how long the sampler keeps its rows, from the environment:
 * PROMETHEUS_URL (DESIGN.md section 3) selects Prometheus; otherwise the embedded sampler runs,
 * every ACGS_METRICS_SAMPLE_SECONDS (60), keeping minutes ACGS_METRICS_MINUTE_DAYS (7) and hours
 * ACGS_METRICS_HOUR_DAYS (400). A bad value stops the start naming the variable.
 */
import { z } from 'zod';
import { HttpUrl, parseEnv, WholeNumber } from '../../services/kit/env.js';
import { DEFAULT_SAMPLE_INTERVAL_MS } from './metrics-sampler.js';
import { DEFAULT_METRIC_RETENTION, type MetricRetention } from './sample-store.js';

const DAY_MS = 24 * 3600_000;

export type HistorySettings = { kind: 'prometheus'; url: string } | { kind: 'embedded'; intervalMs: number; retention: MetricRetention };

const HistoryEnv = z.object({
  PROMETHEUS_URL: HttpUrl.optional(),
  ACGS_METRICS_SAMPLE_SECONDS: WholeNumber(5, 3600).optional(),
  // At least a day: the sampler rolls up the last two hours, which must still have their minutes.
  ACGS_METRICS_MINUTE_DAYS: WholeNumber(1, 400).optional(),
  ACGS_METRICS_HOUR_DAYS: WholeNumber(1, 3660).optional(),
});

export function historySettingsFromEnv(env: Record<string, string | undefined>): HistorySettings {
  const parsed = parseEnv(HistoryEnv, 'metrics history', env);
  if (parsed.PROMETHEUS_URL) return { kind: 'prometheus', url: parsed.PROMETHEUS_URL };
  return {
    kind: 'embedded',
    intervalMs: parsed.ACGS_METRICS_SAMPLE_SECONDS !== undefined ? parsed.ACGS_METRICS_SAMPLE_SECONDS * 1000 : DEFAULT_SAMPLE_INTERVAL_MS,
    retention: {
      minuteMs: parsed.ACGS_METRICS_MINUTE_DAYS !== undefined ? parsed.ACGS_METRICS_MINUTE_DAYS * DAY_MS : DEFAULT_METRIC_RETENTION.minuteMs,
      hourMs: parsed.ACGS_METRICS_HOUR_DAYS !== undefined ? parsed.ACGS_METRICS_HOUR_DAYS * DAY_MS : DEFAULT_METRIC_RETENTION.hourMs,
    },
  };
}
