/**
 * What one reading of the stack (bot/alerts/stack-reading.ts, the built-in monitor's reading)
 * gives the history: one value per metric and service. Pure. The Policy Engine's own rates are
 * since its start, so the rates here are taken between this reading and the previous one
 * (`previous`): a trend of the last minute, as Prometheus's rate() gives, and never hidden by a
 * long calm uptime. A counter that went back (the engine restarted) counts from zero.
 */
import type { PolicyMetrics } from '../../services/policy-engine/contract.js';
import type { ServiceName } from '../../services/kit/service-ports.js';
import { SERVICE_NAMES } from '../../services/kit/service-ports.js';
import type { StackReading } from '../alerts/stack-reading.js';
import type { MetricName } from './metric-catalogue.js';

export interface MetricSample {
  metric: MetricName;
  service: ServiceName;
  value: number;
}

/** The Policy Engine's counters the rates are taken from. */
export interface EngineCounters {
  requests: number;
  errors: number;
  lookups: number;
  cacheHits: number;
  violations: number;
}

export function engineCounters(metrics: PolicyMetrics): EngineCounters {
  const l1 = metrics.cache_stats.l1;
  return {
    requests: metrics.request_count,
    errors: metrics.error_count,
    lookups: l1.hits + l1.misses,
    cacheHits: l1.hits + metrics.cache_stats.l2.hits,
    violations: metrics.safety_violations_total,
  };
}

/** Growth of a counter since the previous reading; a counter that went back was reset. */
const growth = (now: number, before: number) => (now >= before ? now - before : now);

/** A service is down as the monitor judges it: unreachable or unhealthy; degraded still serves. */
const DOWN_STATUSES = new Set(['unreachable', 'unhealthy']);

const isService = (name: string): name is ServiceName => (SERVICE_NAMES as readonly string[]).includes(name);

export function samplesFromReading(reading: StackReading, previous: EngineCounters | undefined): { samples: MetricSample[]; counters: EngineCounters | undefined } {
  const samples: MetricSample[] = [];
  for (const check of reading.health) {
    if (isService(check.target)) samples.push({ metric: 'service_up', service: check.target, value: DOWN_STATUSES.has(check.status) ? 0 : 1 });
  }
  let counters: EngineCounters | undefined;
  if (reading.metrics) {
    counters = engineCounters(reading.metrics);
    samples.push(...engineSamples(reading.metrics, counters, previous));
  }
  if (reading.stats) samples.push(...resourceSamples(reading.stats));
  // Without an answer from the engine, the next reading takes its rates from the last one it had.
  return { samples, counters: counters ?? previous };
}

function engineSamples(metrics: PolicyMetrics, now: EngineCounters, previous: EngineCounters | undefined): MetricSample[] {
  const service: ServiceName = 'policy-engine';
  const samples: MetricSample[] = [];
  // The engine's percentiles are over its own recent window; nothing to say before the first request.
  if (metrics.request_count > 0) {
    const { p50, p95, p99 } = metrics.percentiles;
    samples.push({ metric: 'p50_latency_ms', service, value: p50 }, { metric: 'p95_latency_ms', service, value: p95 }, { metric: 'p99_latency_ms', service, value: p99 });
  }
  // The first reading after a start has nothing to take a difference from.
  if (!previous) return samples;
  const requests = growth(now.requests, previous.requests);
  const lookups = growth(now.lookups, previous.lookups);
  samples.push({ metric: 'requests', service, value: requests }, { metric: 'safety_violations', service, value: growth(now.violations, previous.violations) });
  if (requests > 0) samples.push({ metric: 'error_rate_percent', service, value: (100 * growth(now.errors, previous.errors)) / requests });
  if (lookups > 0) samples.push({ metric: 'cache_hit_rate_percent', service, value: Math.min(100, (100 * growth(now.cacheHits, previous.cacheHits)) / lookups) });
  return samples;
}

/** Per service: the busiest and fullest replica (what the alert rules judge), memory of all of them. */
function resourceSamples(stats: NonNullable<StackReading['stats']>): MetricSample[] {
  const byService = new Map<ServiceName, { cpu: number; memoryPercent: number; memoryBytes: number }>();
  for (const replica of stats) {
    if (!isService(replica.service)) continue;
    const seen = byService.get(replica.service) ?? { cpu: 0, memoryPercent: 0, memoryBytes: 0 };
    byService.set(replica.service, {
      cpu: Math.max(seen.cpu, replica.cpuPercent),
      memoryPercent: Math.max(seen.memoryPercent, replica.memory.percent),
      memoryBytes: seen.memoryBytes + replica.memory.usedBytes,
    });
  }
  return [...byService].flatMap(([service, figures]) => [
    { metric: 'cpu_percent' as const, service, value: figures.cpu },
    { metric: 'memory_percent' as const, service, value: figures.memoryPercent },
    { metric: 'memory_bytes' as const, service, value: figures.memoryBytes },
  ]);
}
