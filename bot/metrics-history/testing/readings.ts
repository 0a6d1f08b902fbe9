/** Readings of the stack as readStack returns them, built from a few figures, for the sampler's tests and bench. */
import type { HealthCheckData } from '../../../commands/health.js';
import type { PolicyMetrics } from '../../../services/policy-engine/contract.js';
import type { ContainerStats } from '../../../services/stack/stack.js';
import type { StackReading } from '../../alerts/stack-reading.js';

export function healthRow(target: HealthCheckData['target'], status: string): HealthCheckData {
  return { name: target, target, tone: status === 'healthy' ? 'ok' : 'fail', status, latency_ms: 1, version: 'v1.0.0', detail: null };
}

export interface EngineFigures {
  p99: number;
  requests: number;
  errors: number;
  l1Hits: number;
  l1Misses: number;
  l2Hits?: number;
  violations: number;
}

/** The engine's /v1/metrics with these counters since its start. */
export function engineMetrics(figures: EngineFigures): PolicyMetrics {
  const lookups = figures.l1Hits + figures.l1Misses;
  const ratio = (part: number, whole: number) => (whole > 0 ? part / whole : 0);
  return {
    percentiles: { p50: figures.p99 / 4, p95: figures.p99 / 2, p99: figures.p99 },
    p99_latency_ms: figures.p99,
    latency_window_seconds: 60,
    cache_hit_rate: ratio(figures.l1Hits + (figures.l2Hits ?? 0), lookups),
    l1_hit_rate: ratio(figures.l1Hits, lookups),
    l2_hit_rate: 0,
    request_count: figures.requests,
    error_count: figures.errors,
    rejected_count: 0,
    error_rate: ratio(figures.errors, figures.requests),
    uptime_seconds: 100,
    targets_met: { p99_under_1ms: false, cache_hit_rate_over_95: false, error_rate_under_0_1: false, all: false },
    safety_violations_total: figures.violations,
    safety_violations_per_minute: 0,
    cache_stats: {
      l1: { size: 10, max: 10_000, hits: figures.l1Hits, misses: figures.l1Misses },
      l2: { enabled: figures.l2Hits !== undefined, hits: figures.l2Hits ?? 0, misses: 0, errors: 0, bypassed: 0, rejected: 0 },
    },
    mode: { strict: false, lockdown: false },
    policy_version: 'abc123',
    constitutional_hash: 'cdd01ef066bc6cf2',
  };
}

export function replicaStats(service: string, replica: string, cpuPercent: number, memoryPercent: number, usedBytes: number): ContainerStats {
  return { service, replica, id: `local:${replica}`, cpuPercent, memory: { usedBytes, limitBytes: Math.round((usedBytes * 100) / memoryPercent), percent: memoryPercent }, network: null, blockIo: null, pids: null };
}

/** All four services healthy, with the engine's figures and one replica each at these resources. */
export function stackReading(at: Date, figures?: EngineFigures, options: { down?: readonly string[]; cpu?: number; memory?: number } = {}): StackReading {
  const services = ['sandbox-controller', 'evolution-oversight', 'audit-engine', 'policy-engine'] as const;
  return {
    at,
    health: services.map((service) => healthRow(service, options.down?.includes(service) ? 'unreachable' : 'healthy')),
    ...(figures ? { metrics: engineMetrics(figures) } : {}),
    stats: services.map((service) => replicaStats(service, service, options.cpu ?? 5, options.memory ?? 20, 100_000_000)),
  };
}
