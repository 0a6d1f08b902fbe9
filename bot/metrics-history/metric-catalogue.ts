/**
 * The metrics the reports chart, named once for both histories: what each one means, its unit,
 * which services have it, and how several samples in one step combine by default. The embedded
 * sampler stores exactly these; the Prometheus history computes them from the series the services
 * expose (prometheus-queries.ts).
 */
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';

export const METRIC_NAMES = [
  'p50_latency_ms',
  'p95_latency_ms',
  'p99_latency_ms',
  'error_rate_percent',
  'cache_hit_rate_percent',
  'safety_violations',
  'requests',
  'cpu_percent',
  'memory_percent',
  'memory_bytes',
  'service_up',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** How the samples of one step become its value; `sum` is for counts (violations per day). */
export const METRIC_STATS = ['avg', 'min', 'max', 'sum'] as const;
export type MetricStat = (typeof METRIC_STATS)[number];

export interface MetricDefinition {
  unit: 'ms' | 'percent' | 'count' | 'bytes' | 'up';
  /** The services that have a value of it. */
  services: readonly ServiceName[];
  /** What a step's value is when the caller names no stat. */
  defaultStat: MetricStat;
  description: string;
}

const POLICY_ENGINE: readonly ServiceName[] = ['policy-engine'];

export const METRICS: Readonly<Record<MetricName, MetricDefinition>> = {
  p50_latency_ms: { unit: 'ms', services: POLICY_ENGINE, defaultStat: 'avg', description: "the Policy Engine's median decision latency over its window" },
  p95_latency_ms: { unit: 'ms', services: POLICY_ENGINE, defaultStat: 'avg', description: "the Policy Engine's p95 decision latency over its window" },
  p99_latency_ms: { unit: 'ms', services: POLICY_ENGINE, defaultStat: 'avg', description: "the Policy Engine's p99 decision latency over its window" },
  error_rate_percent: { unit: 'percent', services: POLICY_ENGINE, defaultStat: 'avg', description: 'server errors among the requests answered in the minute' },
  cache_hit_rate_percent: { unit: 'percent', services: POLICY_ENGINE, defaultStat: 'avg', description: 'lookups served from L1 or L2 in the minute' },
  safety_violations: { unit: 'count', services: POLICY_ENGINE, defaultStat: 'sum', description: 'decisions denied for safety reasons in the minute' },
  requests: { unit: 'count', services: POLICY_ENGINE, defaultStat: 'sum', description: 'evaluation requests answered in the minute' },
  cpu_percent: { unit: 'percent', services: SERVICE_NAMES, defaultStat: 'avg', description: 'CPU of the busiest replica (one core is 100 %)' },
  memory_percent: { unit: 'percent', services: SERVICE_NAMES, defaultStat: 'avg', description: 'memory of the fullest replica against its limit' },
  memory_bytes: { unit: 'bytes', services: SERVICE_NAMES, defaultStat: 'avg', description: 'memory of all replicas together' },
  service_up: { unit: 'up', services: SERVICE_NAMES, defaultStat: 'avg', description: '1 when the health check passed (healthy or degraded), 0 when down; its average is the uptime' },
};

export const isMetricName = (name: string): name is MetricName => (METRIC_NAMES as readonly string[]).includes(name);
