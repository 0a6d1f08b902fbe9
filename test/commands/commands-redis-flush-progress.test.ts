/**
 * `redis flush` tells the flush as a step before the cache warm, to the approving click that runs
 * it (real Redis database 13, approval store and audit trail on the real PostgreSQL; the Policy
 * Engine's address answers nothing, so the warm fails and the answer says so).
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApprovalStore } from '../../bot/approvals/index.js';
import { approvalTestDatabase, type ApprovalTestDatabase } from '../../bot/approvals/testing/fixtures.js';
import { decideOnApproval } from '../../bot/command-path/index.js';
import { executeCommandLine, type ExecutionDeps } from '../../bot/command-path/index.js';
import { createCommandRegistry } from '../../commands/index.js';
import type { ProgressStep } from '../../commands/progress.js';
import { createCommandPathDependencies } from '../../bot/command-path/index.js';
import { openStackRedis } from '../../services/stack/stack-connections.js';
import { stackRedisOn } from '../../services/stack/stack-redis-on-ioredis.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';

const ONCALL = 'U0ONCALL';
const APPROVERS = ['U0APPROVER1', 'U0APPROVER2'] as const;
const CHANNEL = 'C0ACGSOPS01';
/** Used by no other test file. */
const FLUSHED_DB = 13;

let trail: TestTrail;
let database: ApprovalTestDatabase;
let redis: Redis;
let deps: ExecutionDeps;

beforeAll(async () => {
  trail = await openTestTrail({ prefix: 'acgs_flush_steps' });
  database = await approvalTestDatabase();
  redis = openStackRedis(`redis://127.0.0.1:6379/${FLUSHED_DB}`);
  await redis.connect();
  const unused = await unusedLoopbackUrl();
  const base = createCommandPathDependencies({
    endpoints: { 'policy-engine': unused, 'audit-engine': unused, 'evolution-oversight': unused, 'sandbox-controller': unused },
    redis: stackRedisOn(redis),
    checkTimeoutMs: 1000,
  });
  const authorization = await testGate({ roles: { oncall: [ONCALL], approvers: [...APPROVERS], admins: [] } });
  deps = { registry: createCommandRegistry(), services: { ...base, authorization, trail: trail.trail, approvals: createApprovalStore({ pool: database.pool(4) }) } };
}, 30_000);

afterAll(async () => {
  redis?.disconnect();
  await trail?.close();
  await database?.close();
});

describe('redis flush tells its steps', () => {
  it('tells the flush to the click that runs it, before the answer about the warm', async () => {
    await redis.set('flush-steps-test:a', '1');
    await redis.set('flush-steps-test:b', '2');
    const requested = await executeCommandLine(deps, { line: 'redis flush', actor: { id: ONCALL }, origin: 'slash', channelId: CHANNEL });
    expect(requested.approval, JSON.stringify(requested.document)).toBeDefined();
    const steps: ProgressStep[] = [];
    const first = await decideOnApproval(deps, { id: requested.approval!.id, choice: 'approve', actor: { id: APPROVERS[0] }, channelId: CHANNEL, progress: (step) => void steps.push(step) });
    expect(first.ran).toBeUndefined();
    expect(steps).toEqual([]);
    const second = await decideOnApproval(deps, { id: requested.approval!.id, choice: 'approve', actor: { id: APPROVERS[1] }, channelId: CHANNEL, progress: (step) => void steps.push(step) });
    expect(second.request?.state).toBe('executed');
    expect(steps).toEqual([{ text: `Flushed 2 keys from 127.0.0.1:6379 db ${FLUSHED_DB}; warming the Policy Engine's cache next.` }]);
    expect(second.ran?.document.title).toBe('Redis flushed; the cache warm failed');
    expect(await redis.dbsize()).toBe(0);
  });
});
