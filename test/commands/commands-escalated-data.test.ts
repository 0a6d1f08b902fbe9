/**
 * `db kill-idle` and `redis flush` (issue 5) on the real PostgreSQL and Redis, through the command
 * path every surface uses and the approval flow, with the real Policy Engine for the cache warm.
 * Redis work happens in database 9 only, so other suites' keys (database 0) are never touched.
 */
import pg from 'pg';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApprovalStore, type ApprovalStore } from '../../bot/approvals/index.js';
import { approvalTestDatabase, type ApprovalTestDatabase } from '../../bot/approvals/testing/fixtures.js';
import { decideOnApproval } from '../../bot/command-path/index.js';
import { pidsFingerprint } from '../../commands/db-kill-idle.js';
import { executeCommandLine, type ExecutionDeps, type ExecutionOutcome } from '../../bot/command-path/index.js';
import { createCommandRegistry } from '../../commands/index.js';
import { createCommandPathDependencies, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { openStackPostgres, openStackRedis } from '../../services/stack/stack-connections.js';
import { stackRedisOn } from '../../services/stack/stack-redis-on-ioredis.js';
import { stackDatabaseOn } from '../../services/stack/stack-database-on-pg.js';
import type { StackDatabase } from '../../services/stack/stack-database.js';
import { createPolicyEngineClient, type PolicyEngineClient } from '../../services/clients/policy-engine.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { POLICY_ADMIN_TOKEN, startPolicyEngine, type RunningPolicyEngine } from '../testing/policy-engine.js';

const ONCALL = 'U0ONCALL';
const APPROVER1 = 'U0APPROVER1';
const APPROVER2 = 'U0APPROVER2';
const CHANNEL = 'C0ACGSOPS01';
const ROLES = { oncall: [ONCALL], approvers: [APPROVER1, APPROVER2], admins: [] };
const FLUSHED_DB = 9;
const UNTOUCHED_DB = 10;

let engine: RunningPolicyEngine;
let engineClient: PolicyEngineClient;
let trail: TestTrail;
let database: ApprovalTestDatabase;
let store: ApprovalStore & { pool: pg.Pool };
let botPostgres: pg.Pool;
/** The StackDatabase port on the bot's pool, as the commands get it. */
let botDatabase: StackDatabase;
let botRedis: Redis;
let neighbour: Redis;
let deps: ExecutionDeps;
/** The same process without DATABASE_URL and REDIS_URL. */
let bare: ExecutionDeps;
/** The same process with the Policy Engine's address answering nothing. */
let engineDown: ExecutionDeps;
const sessions: pg.Client[] = [];

async function servicesWith(data: Pick<CommandPathDependencies, 'database' | 'redis'>, policyEngineUrl = engine.url): Promise<CommandPathDependencies> {
  const unused = await unusedLoopbackUrl();
  const base = createCommandPathDependencies({
    endpoints: { 'policy-engine': policyEngineUrl, 'audit-engine': unused, 'evolution-oversight': unused, 'sandbox-controller': unused },
    adminToken: POLICY_ADMIN_TOKEN,
    ...data,
    checkTimeoutMs: 2000,
  });
  const authorization = await testGate({ roles: ROLES });
  return { ...base, authorization, trail: trail.trail, approvals: store };
}

beforeAll(async () => {
  engine = await startPolicyEngine();
  engineClient = createPolicyEngineClient({ baseUrl: engine.url, adminToken: POLICY_ADMIN_TOKEN, actor: 'escalated-data-test' });
  trail = await openTestTrail({ prefix: 'acgs_escalated' });
  database = await approvalTestDatabase();
  const pool = database.pool(5);
  store = Object.assign(createApprovalStore({ pool }), { pool });
  botPostgres = openStackPostgres(database.db.url);
  botDatabase = stackDatabaseOn(botPostgres);
  botRedis = openStackRedis(`redis://127.0.0.1:6379/${FLUSHED_DB}`);
  neighbour = openStackRedis(`redis://127.0.0.1:6379/${UNTOUCHED_DB}`);
  await Promise.all([neighbour.connect(), botRedis.connect()]);
  const registry = createCommandRegistry();
  deps = { registry, services: await servicesWith({ database: botDatabase, redis: stackRedisOn(botRedis) }) };
  bare = { registry, services: await servicesWith({}) };
  engineDown = { registry, services: await servicesWith({ redis: stackRedisOn(botRedis) }, await unusedLoopbackUrl()) };
}, 30_000);

afterAll(async () => {
  await Promise.all(sessions.map((client) => client.end().catch(() => undefined)));
  await neighbour?.del('escalated-data-test:sentinel').catch(() => undefined);
  neighbour?.disconnect();
  botRedis?.disconnect();
  await botPostgres?.end();
  await engine?.close();
  await trail?.close();
  await database?.close();
});

const type = (line: string, on: ExecutionDeps = deps) => executeCommandLine(on, { line, actor: { id: ONCALL }, origin: 'slash', channelId: CHANNEL });
const approve = (id: string, user: string) => decideOnApproval(deps, { id, choice: 'approve', actor: { id: user }, channelId: CHANNEL });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A real session on the test database; `idleInTransaction` leaves it idle inside an open transaction. */
async function session(application: string, idleInTransaction: boolean): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ connectionString: database.db.url, application_name: application });
  client.on('error', () => undefined);
  sessions.push(client);
  await client.connect();
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  if (idleInTransaction) await client.query('BEGIN; SELECT 1');
  return { client, pid };
}

const alive = (client: pg.Client) => client.query('SELECT 1').then(() => true, () => false);

async function footprint(): Promise<string> {
  const requests = await store.pool.query<{ count: string }>('SELECT count(*) FROM approval_requests');
  const runs = await trail.pool.query<{ count: string }>(`SELECT count(*) FROM bot_audit_trail WHERE kind IN ('execution', 'result', 'approval_requested')`);
  return `${requests.rows[0]!.count} requests · ${runs.rows[0]!.count} runs`;
}

function expectRejected(outcome: ExecutionOutcome, kind: 'usage' | 'unavailable' | 'refused', message: RegExp) {
  expect(outcome.outcome).toBe('rejected');
  expect(outcome.rejection).toBe(kind);
  expect(outcome.approval).toBeUndefined();
  expect(`${outcome.document.title} ${outcome.document.summary ?? ''}`).toMatch(message);
}

describe('db kill-idle on the real PostgreSQL (a one-second threshold instead of the hour)', () => {
  it('terminates exactly the sessions still idle in a transaction past the threshold, never the bot\'s own, and reports the rest as gone', async () => {
    const stale = await session('kill-idle-test-stale', true);
    const botOwn = await session('acgs-chatops', true);
    const idleOutsideTransaction = await session('kill-idle-test-idle', false);
    await sleep(1500);
    const fresh = await session('kill-idle-test-fresh', true);

    // The bot's pool sets application_name acgs-chatops, so sessions under that name are its own.
    const listed = (await botDatabase.staleIdleSessions(1)).map((each) => each.pid);
    expect(listed).toContain(stale.pid);
    expect(listed).not.toContain(botOwn.pid);
    expect(listed).not.toContain(fresh.pid);
    expect(listed).not.toContain(idleOutsideTransaction.pid);

    const pids = [stale.pid, botOwn.pid, idleOutsideTransaction.pid, fresh.pid, 2_000_000_000];
    const result = await botDatabase.terminateStaleIdleSessions(pids, 1);
    expect(result.terminated.map((each) => each.pid)).toEqual([stale.pid]);
    expect(result.terminated[0]).toMatchObject({ application: 'kill-idle-test-stale', user: 'postgres' });
    expect(result.gone).toEqual([botOwn.pid, idleOutsideTransaction.pid, fresh.pid, 2_000_000_000]);
    expect(await alive(stale.client)).toBe(false);
    expect(await alive(botOwn.client)).toBe(true);
    expect(await alive(idleOutsideTransaction.client)).toBe(true);
    expect(await alive(fresh.client)).toBe(true);
  });

  it('reports a session that committed after the plan as gone, and terminates nothing', async () => {
    const committed = await session('kill-idle-test-committed', true);
    await sleep(1200);
    expect((await botDatabase.staleIdleSessions(1)).map((each) => each.pid)).toContain(committed.pid);
    await committed.client.query('COMMIT');
    expect(await botDatabase.terminateStaleIdleSessions([committed.pid], 1)).toEqual({ terminated: [], gone: [committed.pid] });
    expect(await alive(committed.client)).toBe(true);
  });

  it('fingerprints the set of pids regardless of order, and a digest once the list would be too long to store', () => {
    expect(pidsFingerprint([{ pid: 30 }, { pid: 4 }])).toBe('pids 4, 30');
    expect(pidsFingerprint([{ pid: 4 }, { pid: 30 }])).toBe(pidsFingerprint([{ pid: 30 }, { pid: 4 }]));
    const many = Array.from({ length: 60 }, (_, index) => ({ pid: 100_000 + index }));
    const digest = pidsFingerprint(many);
    expect(digest).toMatch(/^60 sessions · pids sha256 [0-9a-f]{16}$/);
    expect(pidsFingerprint(many.slice(1))).not.toBe(digest);
  });

  it('answers that nothing is idle past the hour instead of asking approvers, and the young idle session lives on', async () => {
    const young = await session('kill-idle-test-young', true);
    const before = await footprint();
    expectRejected(await type('db kill-idle'), 'refused', /nothing to terminate/);
    expect(await footprint()).toBe(before);
    expect(await alive(young.client)).toBe(true);
  });

  it('refuses without DATABASE_URL before asking approvers, and terminates nothing', async () => {
    const before = await footprint();
    expectRejected(await type('db kill-idle', bare), 'unavailable', /DATABASE_URL is not set/);
    expect(await footprint()).toBe(before);
  });

  it('refuses `db kill-idle now` with a clear message and asks nobody', async () => {
    const before = await footprint();
    expectRejected(await type('db kill-idle now'), 'usage', /no arguments|unexpected/);
    expect(await footprint()).toBe(before);
  });
});

describe('redis flush on the real Redis (database 9)', () => {
  it('flushes its own database only after two approvals, then warms the Policy Engine cache and reports both', async () => {
    await botRedis.mset('escalated-data-test:a', '1', 'escalated-data-test:b', '2', 'escalated-data-test:c', '3');
    await neighbour.set('escalated-data-test:sentinel', 'stays');
    const keys = await botRedis.dbsize();
    expect(keys).toBeGreaterThanOrEqual(3);

    const requested = await type('redis flush');
    expect(requested.approval, JSON.stringify(requested.document)).toBeDefined();
    expect(requested.approval!.level).toBe(3);
    expect(requested.approval!.approvalsRequired).toBe(2);
    expect(requested.approval!.action.stateFingerprint).toBe(`127.0.0.1:6379 db ${FLUSHED_DB}`);

    const first = await approve(requested.approval!.id, APPROVER1);
    expect(first.ran).toBeUndefined();
    expect(await botRedis.dbsize()).toBe(keys);

    const second = await approve(requested.approval!.id, APPROVER2);
    expect(second.request?.state).toBe('executed');
    expect(second.ran?.outcome, JSON.stringify(second.ran?.document)).toBe('ok');
    expect(await botRedis.dbsize()).toBe(0);
    expect(await neighbour.get('escalated-data-test:sentinel')).toBe('stays');
    const data = second.ran?.document.data as { keys_flushed: number; warm: { warmed: number; total: number } };
    expect(data.keys_flushed).toBe(keys);
    expect(data.warm.total).toBeGreaterThan(0);
    expect(second.ran?.document.title).toBe('Redis flushed, Policy Engine cache warmed');
    expect((await engineClient.metrics()).cache_stats.l1.size).toBeGreaterThan(0);
  });

  it('still reports the flush when the cache warm fails afterwards, with the warm\'s failure and what to run next', async () => {
    await botRedis.set('escalated-data-test:d', '4');
    const requested = await type('redis flush', engineDown);
    expect(requested.approval, JSON.stringify(requested.document)).toBeDefined();
    const on = (user: string) => decideOnApproval(engineDown, { id: requested.approval!.id, choice: 'approve', actor: { id: user }, channelId: CHANNEL });
    await on(APPROVER1);
    const second = await on(APPROVER2);
    expect(second.request?.state).toBe('executed');
    expect(await botRedis.dbsize()).toBe(0);
    expect(second.ran?.outcome).toBe('warn');
    expect(second.ran?.document.tone).toBe('warn');
    expect(second.ran?.document.title).toBe('Redis flushed; the cache warm failed');
    expect(second.ran?.document.summary).toMatch(/1 key was flushed from 127\.0\.0\.1:6379 db 9.*does not answer.*`cache warm`/s);
  });

  it('refuses without REDIS_URL before asking approvers, and flushes nothing', async () => {
    await botRedis.set('escalated-data-test:kept', '1');
    const before = await footprint();
    expectRejected(await type('redis flush', bare), 'unavailable', /REDIS_URL is not set/);
    expect(await footprint()).toBe(before);
    expect(await botRedis.get('escalated-data-test:kept')).toBe('1');
    await botRedis.del('escalated-data-test:kept');
  });

  it('refuses `redis flush all` with a clear message and asks nobody', async () => {
    const before = await footprint();
    expectRejected(await type('redis flush all'), 'usage', /no arguments|unexpected/);
    expect(await footprint()).toBe(before);
  });
});
