/**
 * What the monitor makes of one reading of the stack: which figures breach which rule, in the
 * rules' units, and which rules could not be judged because their source did not answer.
 */
import { describe, expect, it } from 'vitest';
import type { HealthCheckData } from '../../commands/health.js';
import type { PolicyMetrics } from '../../services/policy-engine/contract.js';
import type { ContainerStats, Replica, ServiceStatus } from '../../services/stack/stack.js';
import { heldServices, observe } from './stack-reading.js';

const AT = new Date('2026-12-07T03:00:00.000Z');

function health(target: HealthCheckData['target'], status: string): HealthCheckData {
  return { name: target, target, tone: status === 'healthy' ? 'ok' : 'fail', status, latency_ms: 1, version: 'v1.0.0', detail: null };
}

function metrics(figures: { p99: number; errorRate: number; hitRate: number; requests: number; lookups: number; violationsPerMinute: number }): PolicyMetrics {
  const hits = Math.round(figures.lookups * figures.hitRate);
  return {
    percentiles: { p50: figures.p99 / 4, p95: figures.p99 / 2, p99: figures.p99 },
    p99_latency_ms: figures.p99,
    latency_window_seconds: 60,
    cache_hit_rate: figures.hitRate,
    l1_hit_rate: figures.hitRate,
    l2_hit_rate: 0,
    request_count: figures.requests,
    error_count: Math.round(figures.requests * figures.errorRate),
    rejected_count: 0,
    error_rate: figures.errorRate,
    uptime_seconds: 100,
    targets_met: { p99_under_1ms: false, cache_hit_rate_over_95: false, error_rate_under_0_1: false, all: false },
    safety_violations_total: figures.violationsPerMinute,
    safety_violations_per_minute: figures.violationsPerMinute,
    cache_stats: { l1: { size: 10, max: 10_000, hits, misses: figures.lookups - hits }, l2: { enabled: false, hits: 0, misses: 0, errors: 0, bypassed: 0, rejected: 0 } },
    mode: { strict: false, lockdown: false },
    policy_version: 'abc123',
    constitutional_hash: 'cdd01ef066bc6cf2',
  };
}

function stats(service: string, cpuPercent: number, memoryPercent: number): ContainerStats {
  return { service, replica: service, id: `local:${service}`, cpuPercent, memory: { usedBytes: 1, limitBytes: 1, percent: memoryPercent }, network: null, blockIo: null, pids: null };
}

const judged = (sample: ReturnType<typeof observe>) => sample.observations.map((o) => `${o.rule} ${Object.values(o.labels).join('/')} ${Number(o.value.toFixed(3))} ${o.breaching ? 'BREACH' : 'ok'}`);

describe('observing a reading', () => {
  it('counts an unreachable or unhealthy service as down, and a degraded one not', () => {
    const sample = observe({ at: AT, health: [health('policy-engine', 'healthy'), health('audit-engine', 'unreachable'), health('evolution-oversight', 'unhealthy'), health('sandbox-controller', 'degraded')] });
    expect(judged(sample)).toEqual(['ServiceDown policy-engine 0 ok', 'ServiceDown audit-engine 1 BREACH', 'ServiceDown evolution-oversight 1 BREACH', 'ServiceDown sandbox-controller 0 ok']);
    expect([...sample.evaluated]).toEqual(['ServiceDown']);
    expect(sample.at).toBe(AT);
  });

  it('dates a down service from the reading\'s start, when every check was sent, and the others not at all', () => {
    const startedAt = new Date(AT.getTime() - 3000);
    const sample = observe({ at: AT, startedAt, health: [health('policy-engine', 'healthy'), health('audit-engine', 'unreachable'), health('sandbox-controller', 'degraded')] });
    expect(sample.observations.map((o) => [o.labels.service, o.since])).toEqual([
      ['policy-engine', undefined],
      ['audit-engine', startedAt],
      ['sandbox-controller', undefined],
    ]);
    expect(observe({ at: AT, health: [health('audit-engine', 'unreachable')] }).observations[0]!.since).toBeUndefined();
  });

  it('judges the Policy Engine\'s figures in the rules\' units: milliseconds, percent, violations a minute', () => {
    const breaching = observe({ at: AT, health: [], metrics: metrics({ p99: 6, errorRate: 0.002, hitRate: 0.9, requests: 1000, lookups: 1000, violationsPerMinute: 11 }) });
    expect(judged(breaching)).toEqual([
      'HighP99Latency policy-engine 6 BREACH',
      'HighErrorRate policy-engine 0.2 BREACH',
      'LowCacheHitRate policy-engine 90 BREACH',
      'ConstitutionalViolations policy-engine 11 BREACH',
    ]);
    const within = observe({ at: AT, health: [], metrics: metrics({ p99: 5, errorRate: 0.001, hitRate: 0.95, requests: 1000, lookups: 1000, violationsPerMinute: 10 }) });
    expect(judged(within)).toEqual(['HighP99Latency policy-engine 5 ok', 'HighErrorRate policy-engine 0.1 ok', 'LowCacheHitRate policy-engine 95 ok', 'ConstitutionalViolations policy-engine 10 ok']);
    expect([...within.evaluated].sort()).toEqual(['ConstitutionalViolations', 'HighErrorRate', 'HighP99Latency', 'LowCacheHitRate', 'ServiceDown']);
  });

  it('judges no latency, error or cache figure of an engine that has served nothing yet', () => {
    const idle = observe({ at: AT, health: [], metrics: metrics({ p99: 0, errorRate: 0, hitRate: 0, requests: 0, lookups: 0, violationsPerMinute: 0 }) });
    expect(idle.observations.filter((o) => o.breaching)).toEqual([]);
  });

  it('judges each replica\'s CPU and memory, and leaves the resource rules unjudged without stats', () => {
    const sample = observe({ at: AT, health: [], stats: [stats('audit-engine', 81, 50), stats('policy-engine', 10, 86)] });
    expect(judged(sample)).toEqual(['HighCpu audit-engine/audit-engine 81 BREACH', 'HighMemory audit-engine/audit-engine 50 ok', 'HighCpu policy-engine/policy-engine 10 ok', 'HighMemory policy-engine/policy-engine 86 BREACH']);
    expect(sample.evaluated.has('HighCpu') && sample.evaluated.has('HighMemory')).toBe(true);
    expect(observe({ at: AT, health: [] }).evaluated.has('HighCpu')).toBe(false);
  });

  it('suspends the ServiceDown of a service whose every replica is held stopped, and only that', () => {
    const replica = (name: string, extra: Partial<Replica> = {}): Replica => ({ id: `id-${name}`, name, number: 1, state: 'exited', health: 'none', image: 'x', startedAt: null, uptimeSeconds: null, restarts: 0, ...extra });
    const listing: ServiceStatus[] = [
      { name: 'audit-engine', replicas: [replica('audit-engine', { held: true })] },
      // One of two replicas held is not the service held: the other one crashed.
      { name: 'evolution-oversight', replicas: [replica('eo-1', { held: true }), replica('eo-2')] },
      { name: 'sandbox-controller', replicas: [replica('sandbox-controller')] },
      { name: 'policy-engine', replicas: [] },
    ];
    expect([...heldServices(listing)]).toEqual(['audit-engine']);
    expect(heldServices(undefined).size).toBe(0);
    const sample = observe({ at: AT, health: [health('audit-engine', 'unreachable'), health('evolution-oversight', 'unreachable'), health('sandbox-controller', 'unreachable')], replicas: listing, stackKind: 'local' });
    expect(sample.observations.map((o) => `${o.labels.service} ${o.breaching ? 'BREACH' : 'ok'}${o.suspended ? ' suspended' : ''}`)).toEqual([
      'audit-engine BREACH suspended',
      'evolution-oversight BREACH',
      'sandbox-controller BREACH',
    ]);
  });
});
