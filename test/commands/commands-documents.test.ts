import { describe, expect, it } from 'vitest';
import { closestChoice } from '../../commands/arguments.js';
import { cacheStatsDocument } from '../../commands/cache-stats.js';
import { formatMs } from '../../commands/format.js';
import { metricsDocument } from '../../commands/metrics.js';
import { redisStatusDocument } from '../../commands/redis-status.js';
import { parseRedisInfo, redisFigures } from '../../services/stack/redis-info.js';
import type { RedisFigures } from '../../services/stack/stack-redis.js';
import type { CheckLine, ResultDocument } from '../../commands/result.js';
import { sandboxStatusDocument } from '../../commands/sandbox-status.js';
import { RUNBOOK_THRESHOLDS, markLowerBound, markUpperBound } from '../../commands/thresholds.js';
import { violationsDocument } from '../../commands/violations.js';
import type { AuditEvent } from '../../services/audit-engine/contract.js';
import type { PolicyMetrics } from '../../services/policy-engine/contract.js';

/**
 * The documents built from figures a live stack cannot be made to produce on demand (a p99 of
 * 6 ms, a Redis at 90 % of maxmemory, a running sandbox): the same builders the commands use.
 */

const checks = (document: ResultDocument): CheckLine[] => {
  const block = document.blocks.find((candidate) => candidate.type === 'checks');
  return block && block.type === 'checks' ? block.items : [];
};
const tone = (document: ResultDocument, name: string) => checks(document).find((item) => item.name === name)?.tone;

function policyMetrics(overrides: { p99?: number; cacheHitRate?: number; errorRate?: number; requests?: number; perMinute?: number } = {}): PolicyMetrics {
  const requests = overrides.requests ?? 1000;
  const hitRate = overrides.cacheHitRate ?? 0.97;
  const hits = Math.round(requests * hitRate);
  const p99 = overrides.p99 ?? 0.4;
  const errorRate = overrides.errorRate ?? 0;
  return {
    percentiles: { p50: p99 / 4, p95: p99 / 2, p99 },
    p99_latency_ms: p99,
    latency_window_seconds: 60,
    cache_hit_rate: hitRate,
    l1_hit_rate: hitRate,
    l2_hit_rate: 0,
    request_count: requests,
    error_count: Math.round(requests * errorRate),
    rejected_count: 0,
    error_rate: errorRate,
    uptime_seconds: 100,
    targets_met: { p99_under_1ms: p99 < 1, cache_hit_rate_over_95: hitRate > 0.95, error_rate_under_0_1: errorRate < 0.001, all: p99 < 1 && hitRate > 0.95 && errorRate < 0.001 },
    safety_violations_total: overrides.perMinute ?? 0,
    safety_violations_per_minute: overrides.perMinute ?? 0,
    cache_stats: { l1: { size: 10, max: 10_000, hits, misses: requests - hits }, l2: { enabled: true, hits: 0, misses: 0, errors: 0, bypassed: 0, rejected: 0 } },
    mode: { strict: false, lockdown: false },
    policy_version: 'abc123',
    constitutional_hash: 'cdd01ef066bc6cf2',
  };
}

describe('the runbook thresholds', () => {
  it('are the runbook\'s figures', () => {
    expect(RUNBOOK_THRESHOLDS.policyP99Ms).toEqual({ target: 1, alert: 5 });
    expect(RUNBOOK_THRESHOLDS.errorRate.target).toBe(0.001);
    expect(RUNBOOK_THRESHOLDS.cacheHitRate).toEqual({ target: 0.95, alert: 0.9 });
    expect(RUNBOOK_THRESHOLDS.memoryUtilization.target).toBe(0.85);
  });

  it('mark a figure ok inside the target, warn between target and alert, fail past the alert', () => {
    expect([0.5, 1, 3, 5, 5.1].map((p99) => markUpperBound(p99, RUNBOOK_THRESHOLDS.policyP99Ms))).toEqual(['ok', 'warn', 'warn', 'warn', 'fail']);
    expect([0.99, 0.95, 0.92, 0.9, 0.89].map((rate) => markLowerBound(rate, RUNBOOK_THRESHOLDS.cacheHitRate))).toEqual(['ok', 'warn', 'warn', 'warn', 'fail']);
    expect(markUpperBound(0.002, RUNBOOK_THRESHOLDS.errorRate)).toBe('warn');
  });
});

describe('metrics document', () => {
  it('is ok when every KPI is inside its threshold', () => {
    const document = metricsDocument(policyMetrics());
    expect(document.tone).toBe('ok');
    expect(document.summary).toBe("Every KPI is within the runbook's thresholds.");
    expect(checks(document).find((item) => item.name === 'P99 latency')?.text).toMatch(/^0\.4 ms \(p50 0\.1 ms, p95 0\.2 ms, last 60 s\)/);
    expect(checks(document).find((item) => item.name === 'Requests')?.text).toBe('10.00 req/s (1,000 in 1 min 40 s)');
  });

  it.each([
    [{ p99: 2 }, 'P99 latency', 'warn'],
    [{ p99: 6 }, 'P99 latency', 'fail'],
    [{ errorRate: 0.002 }, 'Error rate', 'warn'],
    [{ cacheHitRate: 0.93 }, 'Cache hit rate', 'warn'],
    [{ cacheHitRate: 0.5 }, 'Cache hit rate', 'fail'],
    [{ perMinute: 11 }, 'Safety violations', 'fail'],
    [{ perMinute: 3 }, 'Safety violations', 'info'],
  ] as const)('marks %o on the %s line as %s and names it in the summary when it is bad', (overrides, name, expected) => {
    const document = metricsDocument(policyMetrics(overrides));
    expect(tone(document, name)).toBe(expected);
    if (expected !== 'info') {
      expect(document.tone).toBe(expected);
      expect(document.summary).toContain(name);
    }
  });

  it('judges nothing before the first decision', () => {
    const document = metricsDocument(policyMetrics({ requests: 0 }));
    expect(checks(document).map((item) => item.tone)).toEqual(['info', 'info', 'info', 'info', 'ok', 'info']);
    expect(document.summary).toBe('The Policy Engine has served no decisions yet; there is nothing to judge.');
  });

  it('shows the engine\'s modes', () => {
    const metrics = { ...policyMetrics(), mode: { strict: true, lockdown: true } };
    const fields = metricsDocument(metrics).blocks.find((block) => block.type === 'fields');
    expect(fields && fields.type === 'fields' && fields.fields[0]).toEqual({ label: 'Modes', value: 'emergency lockdown' });
  });
});

describe('cache stats document', () => {
  it('warns about Redis errors and says L2 is off without Redis', () => {
    const metrics = policyMetrics();
    metrics.cache_stats.l2 = { enabled: true, hits: 5, misses: 5, errors: 2, bypassed: 0, rejected: 0 };
    expect(tone(cacheStatsDocument(metrics), 'L2 (Redis)')).toBe('warn');
    metrics.cache_stats.l2 = { enabled: false, hits: 0, misses: 0, errors: 0, bypassed: 0, rejected: 0 };
    const off = cacheStatsDocument(metrics);
    expect(checks(off).find((item) => item.name === 'L2 (Redis)')).toEqual({
      name: 'L2 (Redis)',
      tone: 'info',
      text: 'off: the Policy Engine has no REDIS_URL, or no ACGS_ADMIN_TOKEN to sign its entries with',
    });
    expect(off.tone).toBe('ok');
  });

  it('fails the L2 line when the engine refused forged entries, and says how many', () => {
    const metrics = policyMetrics();
    metrics.cache_stats.l2 = { enabled: true, hits: 5, misses: 7, errors: 0, bypassed: 0, rejected: 2 };
    const document = cacheStatsDocument(metrics);
    const line = checks(document).find((item) => item.name === 'L2 (Redis)');
    expect(line?.tone).toBe('fail');
    expect(line?.text).toContain('2 forged entries refused (missing or wrong MAC');
    expect(document.tone).toBe('fail');
  });
});

describe('redis status document', () => {
  const info = [
    '# Server',
    'redis_version:7.2.4',
    'uptime_in_seconds:7200',
    '# Clients',
    'connected_clients:4',
    '# Memory',
    'used_memory:943718400',
    'maxmemory:1073741824',
    'maxmemory_policy:allkeys-lru',
    '# Stats',
    'keyspace_hits:990',
    'keyspace_misses:10',
    '# Keyspace',
    'db0:keys=12,expires=3,avg_ttl=0',
    'db2:keys=3,expires=0,avg_ttl=0',
  ].join('\r\n');

  it('reads INFO into figures', () => {
    expect(redisFigures(parseRedisInfo(info))).toEqual({
      version: '7.2.4',
      used_memory: 943_718_400,
      maxmemory: 1_073_741_824,
      maxmemory_policy: 'allkeys-lru',
      keyspace_hits: 990,
      keyspace_misses: 10,
      connected_clients: 4,
      uptime_seconds: 7200,
      keys: { db0: 12, db2: 3 },
    });
  });

  it('warns at 88 % of maxmemory, and about noeviction with a limit', () => {
    const figures = redisFigures(parseRedisInfo(info));
    const full = redisStatusDocument(figures, '127.0.0.1:6379', 1);
    expect(tone(full, 'Memory')).toBe('warn');
    expect(checks(full).find((item) => item.name === 'Memory')?.text).toBe('900.0 MiB of 1.0 GiB (87.9 %) · target under 85 %');
    expect(tone(full, 'Eviction policy')).toBe('ok');
    expect(tone(full, 'Keyspace hit rate')).toBe('ok');
    expect(full.summary).toBe('Redis at 127.0.0.1:6379 answers; look at: memory.');

    const strict: RedisFigures = { ...figures, used_memory: 1024, maxmemory_policy: 'noeviction' };
    const document = redisStatusDocument(strict, '127.0.0.1:6379', 1);
    expect(tone(document, 'Eviction policy')).toBe('warn');
    expect(checks(document).find((item) => item.name === 'Eviction policy')?.text).toContain('writes fail once maxmemory is reached');
  });

  it('never fails on a low keyspace hit rate, which other clients of the same Redis cause', () => {
    const figures: RedisFigures = { ...redisFigures(parseRedisInfo(info)), keyspace_hits: 1, keyspace_misses: 99 };
    expect(tone(redisStatusDocument(figures, 'x', 1), 'Keyspace hit rate')).toBe('warn');
  });
});

describe('sandbox status document', () => {
  const health = {
    status: 'healthy' as const,
    runtimes_available: ['runc' as const],
    default_runtime: 'runc' as const,
    active_sandboxes: 4,
    max_concurrent: 4,
    image: { name: 'acgs-test/busybox:latest', present: true },
    engine: { reachable: true, host: 'unix:///var/run/docker.sock', version: '26.1' },
    gvisor: { registered: false, working: false, reason: 'the Docker Engine has no runtime named runsc' },
    constitutional_hash: 'cdd01ef066bc6cf2',
    version: '0.1.0',
  };
  const usage = {
    sandboxes: [
      {
        sandbox_id: 'sbx-0123456789abcdef',
        container_id: 'c1',
        agent_id: 'agent-1',
        runtime: 'runc',
        own: true,
        started_at: '2025-01-01T00:00:00Z',
        age_seconds: 75,
        limits: { timeout_seconds: 30, memory_limit_mb: 256, cpu_limit: 1 },
        usage: { cpu_percent: 12.5, memory_bytes: 230 * 1024 * 1024, memory_limit_bytes: 256 * 1024 * 1024, pids: 3 },
      },
    ],
    totals: { active: 1, active_own: 1, cpu_percent: 12.5, memory_bytes: 230 * 1024 * 1024, memory_limit_bytes: 256 * 1024 * 1024 },
    limits: { max_concurrent: 4, timeout_seconds: 600, memory_limit_mb: 2048, cpu_limit: 2, output_bytes: 65536 },
    runtime: { default: 'runc' as const, available: ['runc' as const] },
    constitutional_hash: 'cdd01ef066bc6cf2',
  };

  it('warns at capacity and at sandboxes near their memory limit, and lists the sandboxes', () => {
    const document = sandboxStatusDocument(health, { ok: true, value: usage });
    expect(tone(document, 'Active sandboxes')).toBe('warn');
    expect(checks(document).find((item) => item.name === 'Active sandboxes')?.text).toBe('4 of 4: at capacity, new executions are refused');
    expect(tone(document, 'Resource usage')).toBe('warn');
    expect(checks(document).find((item) => item.name === 'Runtimes')?.text).toBe('runc available; code runs under runc (hardened runc)');
    const table = document.blocks.find((block) => block.type === 'table');
    expect(table && table.type === 'table' && table.rows).toEqual([['sbx-0123456…', 'agent-1', 'runc', '1 min 15 s', '12.5 %', '230.0 MiB']]);
  });

  it('fails when no runtime can run code, with the controller\'s reason', () => {
    const document = sandboxStatusDocument(
      { ...health, status: 'degraded', default_runtime: null, runtimes_available: [], reason: 'The Docker Engine lists neither a working runsc nor runc.' },
      { ok: false, tone: 'fail', problem: 'RUNTIME_UNAVAILABLE' },
    );
    expect(document.tone).toBe('fail');
    expect(document.summary).toBe('The Sandbox Controller cannot run code right now: The Docker Engine lists neither a working runsc nor runc.');
  });
});

describe('violations document', () => {
  const event = (sequence: number, occurredAt: string): AuditEvent => ({
    id: `00000000-0000-4000-8000-00000000000${sequence}`,
    sequence,
    event_type: 'safety_violation',
    source: 'policy-engine',
    agent_id: 'agent-9',
    severity: 'critical',
    occurred_at: occurredAt,
    recorded_at: occurredAt,
    data: { action: 'system.execute_shell', violations: [{ principle: 'safety', code: 'SHELL_ACCESS', message: 'no shells' }] },
    constitutional_hash: 'cdd01ef066bc6cf2',
    content_hash: 'x',
    prev_chain_hash: 'y',
    chain_hash: 'z',
  });

  it('is a warning while the newest violation is under an hour old, and information after', () => {
    const now = Date.parse('2025-06-01T12:00:00Z');
    expect(violationsDocument([event(2, '2025-06-01T11:30:00Z')], 10, now).tone).toBe('warn');
    const old = violationsDocument([event(2, '2025-06-01T10:00:00Z')], 10, now);
    expect(old.tone).toBe('info');
    expect(old.summary).toBe('1 safety violation; the newest 2 h 0 min ago.');
    const table = old.blocks[0];
    expect(table?.type === 'table' && table.rows[0]).toEqual(['2025-06-01 10:00:00Z', 'agent-9', 'policy-engine', 'system.execute_shell: SHELL_ACCESS', '#2']);
  });
});

describe('small helpers', () => {
  it('suggest the known word a typo meant, and nothing for a word far from all of them', () => {
    const services = ['policy-engine', 'audit-engine', 'evolution-oversight', 'sandbox-controller', 'postgres', 'redis'];
    expect(closestChoice('polcy', services)).toBe('policy-engine');
    expect(closestChoice('sandbox', services)).toBe('sandbox-controller');
    expect(closestChoice('postgresql', services)).toBe('postgres');
    expect(closestChoice('reddis', services)).toBe('redis');
    expect(closestChoice('kubernetes', services)).toBeUndefined();
  });

  it('format latencies with three significant figures under 10 ms', () => {
    expect([0, 0.0412, 0.4, 1.169, 12.4, 2345].map(formatMs)).toEqual(['0 ms', '0.0412 ms', '0.4 ms', '1.17 ms', '12 ms', '2.3 s']);
  });
});
