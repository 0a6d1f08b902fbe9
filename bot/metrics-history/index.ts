export { METRIC_NAMES, METRIC_STATS, METRICS, isMetricName, type MetricDefinition, type MetricName, type MetricStat } from './metric-catalogue.js';
export {
  checkQuery,
  MAX_POINTS,
  MetricsHistoryUnavailable,
  type MetricPoint,
  type MetricQuery,
  type MetricSeries,
  type MetricsHistory,
  type ServiceUptime,
} from './metrics-history.js';
export { createSampleStore, DEFAULT_METRIC_RETENTION, METRIC_MIGRATIONS_TABLE, METRIC_TABLES, migrateMetricsHistory, type MetricRetention, type SampleStore } from './sample-store.js';
export { createSamplerBeat, DEFAULT_SAMPLE_INTERVAL_MS, startMetricsSampler, type MetricsSampler } from './metrics-sampler.js';
export { createPrometheusHistory } from './prometheus-history.js';
export { historySettingsFromEnv, type HistorySettings } from './history-settings.js';
