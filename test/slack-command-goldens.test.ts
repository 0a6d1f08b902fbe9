/**
 * Golden Block Kit for every command's answer, built by the commands' own document builders from
 * fixed figures (a live stack gives different latencies every run). Compared byte for byte with
 * bot/slack/golden/command-*.json; UPDATE_GOLDEN=1 rewrites them. Each is also checked by the
 * stand-in's Block Kit validator.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderDocument } from '../bot/slack/render.js';
import { validateBlocks } from '../bot/slack/stand-in/index.js';
import { auditVerifyDocument } from '../commands/audit-verify.js';
import { cacheStatsDocument } from '../commands/cache-stats.js';
import { evolutionsDocument } from '../commands/evolutions.js';
import { healthDocument, type HealthCheckData } from '../commands/health.js';
import { metricsDocument } from '../commands/metrics.js';
import { parseRedisInfo, redisFigures, redisStatusDocument } from '../commands/redis-status.js';
import type { ResultDocument } from '../commands/result.js';
import { sandboxStatusDocument } from '../commands/sandbox-status.js';
import { violationsDocument } from '../commands/violations.js';
import type { AuditEvent } from '../services/audit-engine/contract.js';
import type { Evolution } from '../services/evolution-oversight/contract.js';
import type { PolicyMetrics } from '../services/policy-engine/contract.js';

const GOLDEN_DIR = new URL('../bot/slack/golden/', import.meta.url);
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const NOW = Date.parse('2025-06-01T12:00:00Z');
const HASH = 'cdd01ef066bc6cf2';

const healthy = (name: HealthCheckData['target'], latency: number): HealthCheckData => ({
  name,
  target: name,
  tone: 'ok',
  status: 'healthy',
  latency_ms: latency,
  version: 'v0.1.0',
  detail: null,
});

const allHealthy: HealthCheckData[] = [
  healthy('policy-engine', 2.1),
  { name: 'policy-engine policy', target: 'policy-engine', tone: 'ok', status: 'ok', latency_ms: 1.4, version: null, detail: null },
  healthy('audit-engine', 3.2),
  healthy('evolution-oversight', 2.7),
  healthy('sandbox-controller', 4),
  { name: 'postgres', target: 'postgres', tone: 'ok', status: 'reachable', latency_ms: 1.1, version: 'PostgreSQL 16.4', detail: null },
  { name: 'redis', target: 'redis', tone: 'ok', status: 'reachable', latency_ms: 0.4, version: 'Redis 7.2.4', detail: null },
];

const oneHung: HealthCheckData[] = allHealthy.map((check) =>
  check.name === 'sandbox-controller' ? { ...check, tone: 'fail', status: 'unreachable', latency_ms: 2000, version: null, detail: 'no answer within 2000 ms' } : check,
);

function policyMetrics(p99: number, hitRate: number): PolicyMetrics {
  const requests = 120_000;
  const hits = Math.round(requests * hitRate);
  return {
    percentiles: { p50: p99 / 4, p95: p99 / 2, p99 },
    p99_latency_ms: p99,
    latency_window_seconds: 60,
    cache_hit_rate: hitRate,
    l1_hit_rate: hitRate - 0.01,
    l2_hit_rate: 0.01,
    request_count: requests,
    error_count: 12,
    rejected_count: 0,
    error_rate: 0.0001,
    uptime_seconds: 3600,
    targets_met: { p99_under_1ms: p99 < 1, cache_hit_rate_over_95: hitRate > 0.95, error_rate_under_0_1: true, all: p99 < 1 && hitRate > 0.95 },
    safety_violations_total: 3,
    safety_violations_per_minute: 0.05,
    cache_stats: { l1: { size: 812, max: 10_000, hits, misses: requests - hits }, l2: { enabled: true, hits: 1200, misses: 300, errors: 0, bypassed: 0 } },
    mode: { strict: false, lockdown: false },
    policy_version: 'abc123',
    constitutional_hash: HASH,
  };
}

const redisInfo = [
  'redis_version:7.2.4',
  'uptime_in_seconds:7200',
  'connected_clients:4',
  'used_memory:943718400',
  'maxmemory:1073741824',
  'maxmemory_policy:allkeys-lru',
  'keyspace_hits:990',
  'keyspace_misses:10',
  'db0:keys=12,expires=3,avg_ttl=0',
].join('\r\n');

const sandboxHealth = {
  status: 'healthy' as const,
  runtimes_available: ['runsc' as const, 'runc' as const],
  default_runtime: 'runsc' as const,
  active_sandboxes: 1,
  max_concurrent: 4,
  image: { name: 'acgs-test/busybox:latest', present: true },
  engine: { reachable: true, host: 'unix:///var/run/docker.sock', version: '26.1' },
  gvisor: { registered: true, working: true },
  constitutional_hash: HASH,
  version: '0.1.0',
};

const sandboxUsage = {
  sandboxes: [
    {
      sandbox_id: 'sbx-0123456789abcdef',
      container_id: 'c1',
      agent_id: 'agent-<script>&co',
      runtime: 'runsc',
      own: true,
      started_at: '2025-06-01T11:58:45Z',
      age_seconds: 75,
      limits: { timeout_seconds: 30, memory_limit_mb: 256, cpu_limit: 1 },
      usage: { cpu_percent: 12.5, memory_bytes: 64 * 1024 * 1024, memory_limit_bytes: 256 * 1024 * 1024, pids: 3 },
    },
  ],
  totals: { active: 1, active_own: 1, cpu_percent: 12.5, memory_bytes: 64 * 1024 * 1024, memory_limit_bytes: 256 * 1024 * 1024 },
  limits: { max_concurrent: 4, timeout_seconds: 600, memory_limit_mb: 2048, cpu_limit: 2, output_bytes: 65536 },
  runtime: { default: 'runsc' as const, available: ['runsc' as const, 'runc' as const] },
  constitutional_hash: HASH,
};

function violation(sequence: number, occurredAt: string, agent: string): AuditEvent {
  return {
    id: `00000000-0000-4000-8000-00000000000${sequence}`,
    sequence,
    event_type: 'safety_violation',
    source: 'policy-engine',
    agent_id: agent,
    severity: 'critical',
    occurred_at: occurredAt,
    recorded_at: occurredAt,
    data: { action: 'system.execute_shell', violations: [{ principle: 'safety', code: 'SHELL_ACCESS', message: 'no shells' }] },
    constitutional_hash: HASH,
    content_hash: 'x',
    prev_chain_hash: 'y',
    chain_hash: 'z',
  };
}

function evolution(id: string, status: Evolution['status'], createdAt: string): Evolution {
  return {
    id,
    agent_id: 'agent-7',
    trust_level: 0.8,
    change_description: 'Adds a retrieval tool',
    new_version: '1.4.0',
    requester_id: 'U0ONCALL',
    priority: 'high',
    privilege_escalation: false,
    external_dependencies: true,
    experimental_features: false,
    rollback_plan: 'redeploy 1.3.2',
    status,
    policy: { allow: true, compliance_score: 0.92, reasons: [], violations: [], outcome: status === 'fast_track' ? 'fast_track' : 'human_review', risk_score: 0.41, risk_factors: ['external dependencies'] },
    review: null,
    rollback: null,
    created_at: createdAt,
    updated_at: createdAt,
    constitutional_hash: HASH,
  };
}

const goldens: Array<[string, () => ResultDocument]> = [
  ['health-all-up', () => healthDocument(allHealthy, 2000)],
  ['health-one-hung', () => healthDocument(oneHung, 2000)],
  ['metrics-within-targets', () => metricsDocument(policyMetrics(0.42, 0.972))],
  ['metrics-past-alerts', () => metricsDocument(policyMetrics(6.3, 0.88))],
  ['cache-stats', () => cacheStatsDocument(policyMetrics(0.42, 0.972))],
  ['redis-status', () => redisStatusDocument(redisFigures(parseRedisInfo(redisInfo)), '127.0.0.1:6379', 0.8)],
  ['sandbox-status', () => sandboxStatusDocument(sandboxHealth, { ok: true, value: sandboxUsage })],
  ['violations', () => violationsDocument([violation(9, '2025-06-01T11:50:00Z', 'agent-<@U024BE7LH>'), violation(4, '2025-06-01T09:00:00Z', 'agent-9')], 10, NOW)],
  ['violations-none', () => violationsDocument([], 10, NOW)],
  ['audit-verify-intact', () => auditVerifyDocument({ valid: true, events_checked: 1204, head: { sequence: 1204, chain_hash: 'ab'.repeat(32) }, checked_at: '2025-06-01T12:00:00Z', duration_ms: 84.2 })],
  [
    'audit-verify-broken',
    () =>
      auditVerifyDocument({
        valid: false,
        events_checked: 41,
        head: { sequence: 1204, chain_hash: 'ab'.repeat(32) },
        first_broken: { id: '00000000-0000-4000-8000-000000000042', sequence: 42, check: 'content_hash', expected: 'cd'.repeat(32), stored: 'ef'.repeat(32), message: 'content hash mismatch' },
        checked_at: '2025-06-01T12:00:00Z',
        duration_ms: 12.5,
      }),
  ],
  ['evolutions-pending', () => evolutionsDocument('pending', [evolution('4f1c2d3e-0000-4000-8000-000000000001', 'human_review', '2025-06-01T11:00:00Z'), evolution('9a8b7c6d-0000-4000-8000-000000000002', 'fast_track', '2025-05-31T12:00:00Z')], false, NOW)],
  ['evolutions-none', () => evolutionsDocument('pending', [], false, NOW)],
];

describe('golden Block Kit of each command', () => {
  for (const [name, build] of goldens) {
    it(`renders ${name} exactly as bot/slack/golden/command-${name}.json records it, inside Slack's limits`, () => {
      const message = renderDocument(build());
      expect(validateBlocks(message.blocks, 'message')).toEqual([]);
      const rendered = `${JSON.stringify(message, null, 2)}\n`;
      const file = new URL(`command-${name}.json`, GOLDEN_DIR);
      if (UPDATE) writeFileSync(file, rendered);
      if (!existsSync(file)) throw new Error(`bot/slack/golden/command-${name}.json is missing: run UPDATE_GOLDEN=1 npx vitest run test/slack-command-goldens.test.ts and review it`);
      expect(rendered).toBe(readFileSync(file, 'utf8'));
    });
  }

  it('never lets a value from a service become a mention or markup', () => {
    const message = JSON.stringify(renderDocument(violationsDocument([violation(9, '2025-06-01T11:50:00Z', 'agent-<@U024BE7LH>')], 10, NOW)).blocks);
    expect(message).not.toContain('<@U024BE7LH>');
    expect(message).toContain('&lt;@U024BE7LH&gt;');
  });
});
