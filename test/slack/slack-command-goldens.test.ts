/**
 * Golden Block Kit for every command's answer, built by the commands' own document builders from
 * fixed figures (a live stack gives different latencies, ids and start times every run). Compared
 * byte for byte with bot/slack/golden/command-*.json; UPDATE_GOLDEN=1 rewrites them. Each is also
 * checked by the stand-in's Block Kit validator.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderDocument } from '../../bot/slack/render.js';
import { validateBlocks } from '../../bot/slack/stand-in/index.js';
import { auditVerifyDocument } from '../../commands/audit-verify.js';
import { cacheStatsDocument } from '../../commands/cache-stats.js';
import { cacheWarmDocument } from '../../commands/cache-warm.js';
import { dbConnectionsDocument } from '../../commands/db-connections.js';
import { evolutionsDocument } from '../../commands/evolutions.js';
import { commandErrorDocument } from '../../bot/command-path/index.js';
import { healthDocument, type HealthCheckData } from '../../commands/health.js';
import { logsDocument } from '../../commands/logs.js';
import { metricsDocument } from '../../commands/metrics.js';
import { redisMemoryDocument } from '../../commands/redis-memory.js';
import { redisStatusDocument } from '../../commands/redis-status.js';
import { parseRedisInfo, redisFigures } from '../../services/stack/redis-info.js';
import { restartDocument } from '../../commands/restart.js';
import type { ResultDocument } from '../../commands/result.js';
import { canDocument, refusalDocument } from '../../commands/decision-documents.js';
import type { AuthorizationDecision } from '../../bot/authorization/index.js';
import { sandboxPruneDocument } from '../../commands/sandbox-prune.js';
import { sandboxStatusDocument } from '../../commands/sandbox-status.js';
import { scaleDocument } from '../../commands/scale.js';
import { stackFailureDocument } from '../../commands/stack-access.js';
import { statsDocument } from '../../commands/stats.js';
import { statusDocument } from '../../commands/status.js';
import { violationsDocument } from '../../commands/violations.js';
import type { AuditEvent } from '../../services/audit-engine/contract.js';
import type { Evolution } from '../../services/evolution-oversight/contract.js';
import type { PolicyMetrics } from '../../services/policy-engine/contract.js';
import { engineDown } from '../../services/stack/docker/engine-connection.js';
import { StackError, type ContainerStats, type LogLine, type Replica } from '../../services/stack/stack.js';

const GOLDEN_DIR = new URL('../../bot/slack/golden/', import.meta.url);
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
    cache_stats: { l1: { size: 812, max: 10_000, hits, misses: requests - hits }, l2: { enabled: true, hits: 1200, misses: 300, errors: 0, bypassed: 0, rejected: 0 } },
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

// The stack commands (issue 4): documents from fixed stack reports, as the drivers return them.

const dockerStack = { kind: 'docker' as const, description: 'Docker Engine at unix:///var/run/docker.sock, compose project acgs' };
const localStack = { kind: 'local' as const, description: 'processes supervised by npm start' };
const containerId = (seed: string) => seed.repeat(64 / seed.length);

function replica(name: string, overrides: Partial<Replica> = {}): Replica {
  return {
    id: containerId('3f9a'),
    name,
    number: 1,
    state: 'running',
    health: 'healthy',
    image: 'acgs/policy-engine:1.4.0',
    startedAt: '2025-06-01T10:57:55.000Z',
    uptimeSeconds: 3725,
    restarts: 0,
    ...overrides,
  };
}

const dockerServicesInTrouble = [
  { name: 'audit-engine', replicas: [replica('acgs-audit-engine', { id: containerId('a1'), image: 'acgs/audit-engine:1.4.0', state: 'exited', health: 'none', startedAt: null, uptimeSeconds: null, restarts: 3 })] },
  { name: 'evolution-oversight', replicas: [replica('acgs-evolution-oversight', { id: containerId('e7'), image: 'acgs/evolution-oversight:1.4.0', uptimeSeconds: 90_061 })] },
  {
    name: 'policy-engine',
    replicas: [
      replica('acgs-policy-engine-1'),
      replica('acgs-policy-engine-2', { id: containerId('9c'), number: 2, health: 'unhealthy', uptimeSeconds: 41, restarts: 1 }),
    ],
  },
  { name: 'sandbox-controller', replicas: [replica('acgs-sandbox-controller', { id: containerId('5d'), image: 'acgs/sandbox-controller:1.4.0', health: 'starting', uptimeSeconds: 4 })] },
];

const localServices = ['audit-engine', 'evolution-oversight', 'policy-engine', 'sandbox-controller'].map((name, index) => ({
  name,
  replicas: [replica(name, { id: `local:${name}`, image: `node --import tsx services/${name}/main.ts`, pid: 41_200 + index, uptimeSeconds: 600 + index })],
}));

function stats(replicaName: string, service: string, cpuPercent: number, usedMiB: number, limitMiB: number, network = true): ContainerStats {
  return {
    service,
    replica: replicaName,
    id: containerId('3f9a'),
    cpuPercent,
    memory: { usedBytes: usedMiB * 1024 * 1024, limitBytes: limitMiB * 1024 * 1024, percent: (usedMiB / limitMiB) * 100 },
    network: network ? { rxBytes: 18_432_000, txBytes: 7_340_032 } : null,
    blockIo: network ? { readBytes: 4096, writeBytes: 1_048_576 } : null,
    pids: network ? 23 : null,
  };
}

/** A line written `second` seconds after 11:50:00. */
const logLine = (replicaName: string, second: number, text: string, stream: LogLine['stream'] = 'stdout'): LogLine => ({
  replica: replicaName,
  stream,
  time: new Date(Date.UTC(2025, 5, 1, 11, 50, second)).toISOString(),
  text,
});

/** Lines a service writes, some carrying what a client sent: mentions, links and fences must stay text. */
const shortLogs = [
  logLine('acgs-policy-engine-1', 1, '{"level":40,"msg":"safety violation","action":"system.execute_shell","agent":"agent-7"}'),
  logLine('acgs-policy-engine-2', 2, 'violation by agent "<@U024BE7LH> <!channel>" asking for `rm -rf /` & <https://evil.example|click>', 'stderr'),
  logLine('acgs-policy-engine-1', 3, 'violation report: ```fenced``` *bold* _it_ ~strike~'),
];

/** 500 long lines: more than a message holds, so the newest are kept, each cut at the line limit. */
const cappedLogs = Array.from({ length: 500 }, (_, index) =>
  logLine('acgs-audit-engine', index, `{"level":30,"msg":"event appended","sequence":${1000 + index},"payload":"${'ab'.repeat(300)}"}`),
);

const pruned = (index: number) => ({
  container_id: containerId(index % 2 === 0 ? 'c0' : 'c1'),
  name: `acgs-sandbox-${String(index).padStart(4, '0')}`,
  sandbox_id: `sbx-${String(index).padStart(16, '0')}`,
  agent_id: index === 0 ? 'agent-<script>&co' : `agent-${index % 3}`,
  runtime: 'runsc',
  own: index % 2 === 0,
  probe: index === 1,
  exit_code: index === 2 ? 137 : 0,
  finished_at: new Date(Date.UTC(2025, 5, 1, 11, index % 60, 0)).toISOString(),
});

const engineSocketGone = Object.assign(new Error('connect ENOENT /var/run/docker.sock'), { code: 'ENOENT' });

/** Decisions exactly as the acgs.chatops policy gives them with the default rules. */
const RESTART_NO_ROLE: AuthorizationDecision = {
  allow: false,
  code: 'role',
  reason: '"restart" is a Level 1 (automatic) action that the oncall or admins role may request; you hold no role.',
  level: 1,
  approvals_required: 0,
  approver_roles: [],
  distinct_approvers: false,
  break_glass: false,
};
const SCALE_NEEDS_APPROVAL: AuthorizationDecision = {
  allow: true,
  code: 'approval_required',
  reason: '"scale" is a Level 2 (human decision) action: you may request it, and it runs after 1 approval by someone holding the approvers or admins role, not you.',
  level: 2,
  approvals_required: 1,
  approver_roles: ['approvers', 'admins'],
  distinct_approvers: true,
  break_glass: false,
};

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
  ['status-docker-trouble', () => statusDocument(dockerStack, dockerServicesInTrouble, NOW)],
  ['status-local', () => statusDocument(localStack, localServices, NOW)],
  ['status-no-services', () => statusDocument(dockerStack, [], NOW)],
  [
    'stats-over-thresholds',
    () =>
      statsDocument(dockerStack, [
        stats('acgs-audit-engine', 'audit-engine', 3.2, 180, 512),
        stats('acgs-policy-engine-1', 'policy-engine', 92.4, 410, 512),
        stats('acgs-policy-engine-2', 'policy-engine', 35, 470, 512),
        stats('acgs-sandbox-controller', 'sandbox-controller', 0.4, 64, 256),
      ]),
  ],
  ['stats-local', () => statsDocument(localStack, [stats('policy-engine', 'policy-engine', 2.5, 96, 15_872, false), stats('audit-engine', 'audit-engine', 0.8, 88, 15_872, false)])],
  [
    'logs-filtered',
    () => logsDocument(dockerStack, { service: 'policy-engine', tail: 50, sinceSeconds: 600, grep: 'violation' }, { service: 'policy-engine', lines: shortLogs, scanned: 4210, truncated: false }),
  ],
  ['logs-capped', () => logsDocument(dockerStack, { service: 'audit-engine', tail: 500 }, { service: 'audit-engine', lines: cappedLogs, scanned: 500, truncated: true })],
  ['logs-none', () => logsDocument(localStack, { service: 'audit-engine', tail: 50, grep: '<!here>' }, { service: 'audit-engine', lines: [], scanned: 2000, truncated: false })],
  [
    'restart-docker',
    () =>
      restartDocument(dockerStack, {
        service: 'policy-engine',
        replicas: [
          { name: 'acgs-policy-engine-1', previousId: containerId('3f9a'), id: containerId('3f9a'), previousStartedAt: '2025-06-01T10:57:55.000Z', startedAt: '2025-06-01T11:59:52.418Z', health: 'healthy' },
          { name: 'acgs-policy-engine-2', previousId: containerId('9c'), id: containerId('9c'), previousStartedAt: '2025-06-01T11:58:14.000Z', startedAt: '2025-06-01T11:59:57.031Z', health: 'healthy' },
        ],
        durationMs: 9412.6,
        health: 'healthy',
      }),
  ],
  [
    'restart-local-starting',
    () =>
      restartDocument(localStack, {
        service: 'audit-engine',
        replicas: [{ name: 'audit-engine', previousId: 'local:audit-engine', id: 'local:audit-engine', previousStartedAt: '2025-06-01T11:50:00.000Z', startedAt: '2025-06-01T11:59:59.120Z', previousPid: 41_200, pid: 41_377, health: 'starting' }],
        durationMs: 812.3,
        health: 'starting',
      }),
  ],
  [
    'scale-up',
    () =>
      scaleDocument(dockerStack, {
        service: 'policy-engine',
        from: 1,
        to: 3,
        created: ['acgs-policy-engine-2', 'acgs-policy-engine-3'],
        removed: [],
        notes: [
          'acgs-policy-engine-2 publishes 8004/tcp on 127.0.0.1:49153, because 127.0.0.1:8004 is held by the first replica',
          'acgs-policy-engine-3 publishes 8004/tcp on 127.0.0.1:49154, because 127.0.0.1:8004 is held by the first replica',
        ],
        durationMs: 11_840,
      }),
  ],
  ['scale-down', () => scaleDocument(dockerStack, { service: 'policy-engine', from: 3, to: 1, created: [], removed: ['acgs-policy-engine-3', 'acgs-policy-engine-2'], notes: [], durationMs: 2210 })],
  ['restart-refused-role', () => refusalDocument('restart', RESTART_NO_ROLE)],
  ['can-after-approval', () => canDocument('scale policy-engine 3', SCALE_NEEDS_APPROVAL)],
  [
    'scale-not-supported-local',
    () =>
      stackFailureDocument(
        'scale',
        new StackError(
          'NOT_SUPPORTED',
          'Scaling is not possible on the local stack, where policy-engine runs as one local process: it owns its firm port, so a second copy could not listen. Run the stack in Docker (docker-compose -p acgs up -d, then ACGS_STACK=docker) to scale it',
        ),
        'policy-engine',
      ),
  ],
  ['cache-warm', () => cacheWarmDocument({ warmed: 1834, already_cached: 12, total: 1846, policy_version: 'abc123', modes: { strict: false, lockdown: false } })],
  [
    'db-connections',
    () =>
      dbConnectionsDocument(
        '127.0.0.1:5432/acgs',
        {
          groups: [
            { state: 'idle', application: 'audit-engine', connections: '8', oldest_seconds: '612.4' },
            { state: 'active', application: 'policy-engine', connections: '3', oldest_seconds: '0.02' },
            { state: 'idle in transaction', application: '<!channel> psql & co', connections: '1', oldest_seconds: '7384.9' },
            { state: 'idle', application: '(none)', connections: '1', oldest_seconds: null },
          ],
          idle: [{ pid: 5123, database: 'acgs', application: '<!channel> psql & co', user_name: 'acgs', idle_seconds: '7384.9' }],
          maxConnections: 100,
        },
        1.27,
      ),
  ],
  [
    'redis-memory-attention',
    () =>
      redisMemoryDocument(
        { used_memory: 988_000_000, used_memory_peak: 1_020_000_000, used_memory_rss: 1_650_000_000, mem_fragmentation_ratio: 1.67, maxmemory: 1_073_741_824, maxmemory_policy: 'noeviction' },
        '127.0.0.1:6379',
      ),
  ],
  [
    'redis-memory-ok',
    () =>
      redisMemoryDocument(
        { used_memory: 1_457_664, used_memory_peak: 2_031_616, used_memory_rss: 9_699_328, mem_fragmentation_ratio: 6.65, maxmemory: 0, maxmemory_policy: 'allkeys-lru' },
        '127.0.0.1:6379',
      ),
  ],
  [
    'sandbox-prune',
    () =>
      sandboxPruneDocument(
        {
          removed: Array.from({ length: 23 }, (_, index) => pruned(index)),
          failed: [{ ...pruned(40), reason: 'removal of container acgs-sandbox-0040 is already in progress' }],
          kept: [{ ...pruned(41), reason: 'it exited 4 s ago; the controller that ran it removes it itself within 30 s' }],
          left_alone: { running: 2, created: 0, paused: 1 },
          grace_seconds: 30,
          constitutional_hash: HASH,
        },
        undefined,
      ),
  ],
  [
    'sandbox-prune-none',
    () => sandboxPruneDocument({ removed: [], failed: [], kept: [], left_alone: { running: 0 }, grace_seconds: 30, constitutional_hash: HASH }, 'agent-<@U024BE7LH>'),
  ],
  ['stack-engine-down', () => stackFailureDocument('status', engineDown('unix:///var/run/docker.sock', engineSocketGone))],
  [
    'stack-partial',
    () =>
      stackFailureDocument(
        'restart',
        new StackError(
          'PARTIAL',
          'acgs-policy-engine-2 stopped (exit code 137, killed for running out of memory) instead of becoming healthy; its last log lines: Responder stopping | <!here> heap out of memory & aborting',
          { done: ['restarted acgs-policy-engine-1 (healthy)'], notDone: ['acgs-policy-engine-3 was not restarted'] },
        ),
        'policy-engine',
      ),
  ],
];

describe('golden Block Kit of each command', () => {
  for (const [name, build] of goldens) {
    it(`renders ${name} exactly as bot/slack/golden/command-${name}.json records it, inside Slack's limits`, () => {
      const message = renderDocument(build());
      expect(validateBlocks(message.blocks, 'message')).toEqual([]);
      const rendered = `${JSON.stringify(message, null, 2)}\n`;
      const file = new URL(`command-${name}.json`, GOLDEN_DIR);
      if (UPDATE) writeFileSync(file, rendered);
      if (!existsSync(file)) throw new Error(`bot/slack/golden/command-${name}.json is missing: run UPDATE_GOLDEN=1 npx vitest run test/slack/slack-command-goldens.test.ts and review it`);
      expect(rendered).toBe(readFileSync(file, 'utf8'));
    });
  }

  it('never lets text from a service or a person become a mention, a broadcast or a link in any answer', () => {
    for (const [name, build] of goldens) {
      expect(JSON.stringify(renderDocument(build()).blocks), name).not.toMatch(/<[@!#]|<https?:/);
    }
  });

  it('never lets a value from a service become a mention or markup', () => {
    const message = JSON.stringify(renderDocument(violationsDocument([violation(9, '2025-06-01T11:50:00Z', 'agent-<@U024BE7LH>')], 10, NOW)).blocks);
    expect(message).not.toContain('<@U024BE7LH>');
    expect(message).toContain('&lt;@U024BE7LH&gt;');
  });
});
