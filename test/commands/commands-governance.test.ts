/**
 * The governance commands of issue 5 end to end on the command path every surface uses
 * (executeCommandLine, then approval clicks through decideOnApproval), against the real Policy
 * Engine, the real authorization policy with the default rules, and the approval store and audit
 * trail on the real PostgreSQL: a lockdown really makes the engine deny, its lift really allows again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApprovalStore, type ApprovalStore } from '../../bot/approvals/index.js';
import { approvalTestDatabase, type ApprovalTestDatabase } from '../../bot/approvals/testing/fixtures.js';
import { decideOnApproval } from '../../bot/command-path/index.js';
import { policyEngineModes } from '../../bot/command-path/index.js';
import { executeCommandLine, type ExecutionDeps, type ExecutionOutcome } from '../../bot/command-path/index.js';
import { createCommandRegistry } from '../../commands/index.js';
import { createCommandPathDependencies, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { createPolicyEngineClient, type PolicyEngineClient } from '../../services/clients/policy-engine.js';
import { compliantInput } from '../../services/policy-engine/testing/policy-fixtures.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { POLICY_ADMIN_TOKEN, setStrictMode, startPolicyEngine, type RunningPolicyEngine } from '../testing/policy-engine.js';

const ONCALL = 'U0ONCALL';
const APPROVER1 = 'U0APPROVER1';
const APPROVER2 = 'U0APPROVER2';
const CHANNEL = 'C0ACGSOPS01';
const ROLES = { oncall: [ONCALL], approvers: [APPROVER1, APPROVER2], admins: [] };

let engine: RunningPolicyEngine;
let engineClient: PolicyEngineClient;
let trail: TestTrail;
let database: ApprovalTestDatabase;
let store: ApprovalStore & { pool: import('pg').Pool };
let deps: ExecutionDeps;
/** The same process without the admin token. */
let tokenless: ExecutionDeps;

async function servicesFor(adminToken: string | undefined): Promise<CommandPathDependencies> {
  const unused = await unusedLoopbackUrl();
  const base = createCommandPathDependencies({
    endpoints: { 'policy-engine': engine.url, 'audit-engine': unused, 'evolution-oversight': unused, 'sandbox-controller': unused },
    ...(adminToken ? { adminToken } : {}),
    checkTimeoutMs: 2000,
  });
  // The gate reads the engine's modes on every decision, as the bot does, so a lockdown takes effect at once.
  const authorization = await testGate({ roles: ROLES, modes: policyEngineModes(async () => (await engineClient.metrics()).mode, { ttlMs: 0 }) });
  return { ...base, authorization, trail: trail.trail, approvals: store };
}

beforeAll(async () => {
  engine = await startPolicyEngine();
  engineClient = createPolicyEngineClient({ baseUrl: engine.url, adminToken: POLICY_ADMIN_TOKEN, actor: 'governance-test' });
  trail = await openTestTrail({ prefix: 'acgs_governance' });
  database = await approvalTestDatabase();
  const pool = database.pool(5);
  store = Object.assign(createApprovalStore({ pool }), { pool });
  const registry = createCommandRegistry();
  deps = { registry, services: await servicesFor(POLICY_ADMIN_TOKEN) };
  tokenless = { registry, services: await servicesFor(undefined) };
}, 30_000);

afterAll(async () => {
  await engine?.close();
  await trail?.close();
  await database?.close();
});

const type = (line: string, on: ExecutionDeps = deps) => executeCommandLine(on, { line, actor: { id: ONCALL }, origin: 'slash', channelId: CHANNEL });
const approve = (id: string, user: string) => decideOnApproval(deps, { id, choice: 'approve', actor: { id: user }, channelId: CHANNEL });
const modes = async () => (await engineClient.metrics()).mode;

/** The engine's own decision on an input it allows in normal operation. */
async function engineAllows(): Promise<boolean> {
  const response = await fetch(`${engine.url}/v1/data/acgs/main/decision`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input: compliantInput({ action: 'data.write' }) }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { result: { allow: boolean } }).result.allow;
}

/** Types the line, expects an approval request, and has the given approvers approve it; returns the last click. */
async function requestAndApprove(line: string, approvers: string[]) {
  const requested = await type(line);
  expect(requested.approval, JSON.stringify(requested.document)).toBeDefined();
  const id = requested.approval!.id;
  let last: Awaited<ReturnType<typeof approve>> | undefined;
  for (const approver of approvers) last = await approve(id, approver);
  return { requested, last: last! };
}

/** What a refused line must leave untouched: approval requests, executions and results in the trail. */
async function footprint(): Promise<string> {
  const requests = await store.pool.query<{ count: string }>('SELECT count(*) FROM approval_requests');
  const runs = await trail.pool.query<{ count: string }>(`SELECT count(*) FROM bot_audit_trail WHERE kind IN ('execution', 'result', 'approval_requested')`);
  return `${requests.rows[0]!.count} requests · ${runs.rows[0]!.count} runs`;
}

function expectRejected(outcome: ExecutionOutcome, kind: 'usage' | 'unavailable', message: RegExp) {
  expect(outcome.outcome).toBe('rejected');
  expect(outcome.rejection).toBe(kind);
  expect(outcome.approval).toBeUndefined();
  expect(`${outcome.document.title} ${outcome.document.summary ?? ''}`).toMatch(message);
}

describe('lockdown and its lift', () => {
  it('puts the Policy Engine in lockdown once two approvers approve, and it then denies a decision it allowed before', async () => {
    expect(await engineAllows()).toBe(true);
    const { requested, last } = await requestAndApprove('lockdown drill for incident 42', [APPROVER1]);
    expect(requested.approval!.approvalsRequired).toBe(2);
    expect(requested.approval!.action.stateFingerprint).toBe('strict mode off · lockdown off');
    // One approval of two changes nothing yet.
    expect(last.ran).toBeUndefined();
    expect((await modes()).lockdown).toBe(false);

    const second = await approve(requested.approval!.id, APPROVER2);
    expect(second.request?.state).toBe('executed');
    expect(second.ran?.outcome).toBe('ok');
    expect(second.ran?.document.data).toMatchObject({ action: 'emergency-lockdown', changed: true, modes: { lockdown: true }, reason: 'drill for incident 42' });
    expect(await modes()).toEqual({ strict: false, lockdown: true });
    expect(await engineAllows()).toBe(false);
  });

  it('lifts the lockdown once two approvers approve, and the engine allows that decision again', async () => {
    expect((await modes()).lockdown).toBe(true);
    const { requested, last } = await requestAndApprove('lockdown lift', [APPROVER1, APPROVER2]);
    expect(requested.approval!.level).toBe(3);
    expect(last.ran?.outcome).toBe('ok');
    expect(last.ran?.document.title).toBe('Lockdown lifted');
    expect(await modes()).toEqual({ strict: false, lockdown: false });
    expect(await engineAllows()).toBe(true);
  });
});

describe('strict mode', () => {
  it('turns the engine\'s strict mode on and off, each after one approval', async () => {
    const on = await requestAndApprove('strict-mode on', [APPROVER1]);
    expect(on.requested.approval!.approvalsRequired).toBe(1);
    expect(on.last.ran?.outcome).toBe('ok');
    expect((await modes()).strict).toBe(true);
    expect(on.last.ran?.document.title).toBe('Strict mode on');

    const off = await requestAndApprove('strict-mode off', [APPROVER2]);
    expect(off.last.ran?.outcome).toBe('ok');
    expect(await modes()).toEqual({ strict: false, lockdown: false });
  });

});

describe('cache clear', () => {
  it('empties the decision cache after one approval: cache stats show entries before and none after', async () => {
    for (const action of ['data.read', 'data.write', 'health.check']) await engineClient.decide(compliantInput({ action }));
    const before = (await engineClient.metrics()).cache_stats.l1.size;
    expect(before).toBeGreaterThan(0);
    const { last } = await requestAndApprove('cache clear', [APPROVER1]);
    expect(last.ran?.outcome).toBe('ok');
    expect(last.ran?.document.data).toMatchObject({ l1_cleared: before, l2_cleared: 0, modes: { strict: false, lockdown: false } });
    expect((await engineClient.metrics()).cache_stats.l1.size).toBe(0);
  });

  it('asks again instead of clearing when the modes changed between the request and the approval', async () => {
    await engineClient.decide(compliantInput());
    const requested = await type('cache clear');
    expect(requested.approval!.action.stateFingerprint).toBe('strict mode off · lockdown off');
    const cached = (await engineClient.metrics()).cache_stats.l1.size;
    expect(cached).toBeGreaterThan(0);
    await setStrictMode(engine, true);
    try {
      const click = await approve(requested.approval!.id, APPROVER1);
      expect(click.ran).toBeUndefined();
      expect(click.request?.state).toBe('superseded');
      expect((await engineClient.metrics()).cache_stats.l1.size).toBe(cached);
    } finally {
      await setStrictMode(engine, false);
    }
  });
});

describe('refusals', () => {
  it.each([
    { shown: 'strict-mode maybe', line: 'strict-mode maybe', message: /on.*off/ },
    { shown: 'strict-mode', line: 'strict-mode', message: /on.*off|Required|invalid/i },
    { shown: 'strict-mode on now', line: 'strict-mode on now', message: /unexpected `now`/ },
    { shown: 'lockdown lift now', line: 'lockdown lift now', message: /no arguments|unexpected/ },
    { shown: 'cache clear everything', line: 'cache clear everything', message: /no arguments|unexpected/ },
    { shown: 'lockdown <a 501-character reason>', line: `lockdown ${'x'.repeat(501)}`, message: /at most 500 characters/ },
  ])('refuses $shown with a clear message, asks nobody and changes nothing', async ({ line, message }) => {
    const before = await footprint();
    expectRejected(await type(line), 'usage', message);
    expect(await footprint()).toBe(before);
    expect(await modes()).toEqual({ strict: false, lockdown: false });
  });

  it.each(['strict-mode on', 'lockdown test', 'lockdown lift', 'cache clear'])('refuses `%s` without the admin token before asking approvers, and changes nothing', async (line) => {
    const before = await footprint();
    expectRejected(await type(line, tokenless), 'unavailable', /admin token/);
    expect(await footprint()).toBe(before);
    expect(await modes()).toEqual({ strict: false, lockdown: false });
  });
});
