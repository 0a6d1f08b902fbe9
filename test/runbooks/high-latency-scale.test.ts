/**
 * The `high-latency` runbook's approval gate and scale step, for real: the alert's "Run: high
 * latency" button runs `run high-latency` in the channel, through the real Bolt HTTP receiver, the
 * Slack stand-in, the approval store, trail and runbook engine on the real PostgreSQL (the
 * governance bot of bot/main.ts). The Policy Engine is the real one, its p99 really over 5 ms: its
 * L2 cache is the real Redis behind a proxy that answers late (test/testing/slow-tcp-proxy.ts),
 * and every decision it has not cached waits for it. The Stack the scale goes through is the Docker
 * driver over a compose project on the local engine (a responder stands for the Policy Engine's
 * container), then the local stack of `npm start`, which refuses to scale.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { highLatency } from '../../runbooks/alert-responses/index.js';
import { FINAL_RUN_STATES } from '../../runbooks/engine/run-store.js';
import { createPolicyEngineClient } from '../../services/clients/policy-engine.js';
import { compliantInput } from '../../services/policy-engine/testing/policy-fixtures.js';
import type { Stack } from '../../services/stack/stack.js';
import { channelPeople, startGovernanceBot, type GovernanceBot } from '../testing/governance-bot.js';
import { startTestLocalStack, type TestLocalStack } from '../testing/local-stack.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { POLICY_ADMIN_TOKEN, startPolicyEngine, type RunningPolicyEngine } from '../testing/policy-engine.js';
import { requireRedis } from '../testing/redis.js';
import { startResponderProject, uniqueProjectName, type ResponderProject } from '../testing/responder-project.js';
import { blockText, ONCALL, OPS } from '../testing/slack-harness.js';
import { startSlowTcpProxy, type SlowTcpProxy } from '../testing/slow-tcp-proxy.js';
import { waitForRunState } from './testing/run-records.js';
import { waitFor } from '../testing/wait-for.js';

const APPROVER1 = 'U0APPROVER1';
const APPROVER2 = 'U0APPROVER2';
const ROLES = { oncall: [ONCALL], approvers: [APPROVER1, APPROVER2] };
const SERVICE = 'policy-engine';

let redis: Awaited<ReturnType<typeof requireRedis>> | undefined;
let slowRedis: SlowTcpProxy | undefined;
let engine: RunningPolicyEngine | undefined;
let responders: ResponderProject | undefined;
let local: TestLocalStack | undefined;
let bot: GovernanceBot;
let people: ReturnType<typeof channelPeople>;

/** The stack the bot controls: the Docker project first, the local stack for the refusal. */
let current: Stack;
const controlled = new Proxy({} as Stack, {
  get(_target, key) {
    const value = (current as unknown as Record<string | symbol, unknown>)[key];
    return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(current) : value;
  },
});

beforeAll(async () => {
  redis = await requireRedis();
  const upstream = new URL(redis.url);
  slowRedis = await startSlowTcpProxy({ host: upstream.hostname, port: Number(upstream.port || 6379), delayMs: 0 });
  engine = await startPolicyEngine({ redis: { url: `redis://127.0.0.1:${slowRedis.port}${upstream.pathname}`, prefix: redis.prefix } });
  responders = await startResponderProject({ project: uniqueProjectName('acgs-latency'), replicas: [{ service: SERVICE }] });
  current = responders.stack;
  const nowhere = await unusedLoopbackUrl();
  bot = await startGovernanceBot({
    roles: ROLES,
    modesTtlMs: 0,
    prefix: 'acgs_high_latency_scale',
    runbooks: async () => [highLatency],
    // The engine's p99 window is a minute; these tests keep latency high throughout, so a short
    // watch after the warm judges the same (high-latency-recheck.test.ts covers the watch itself).
    stepPorts: () => ({ latencyRecheck: { windowMs: 1500, pollMs: 250 } }),
    controls: { stack: controlled, endpoints: { 'policy-engine': engine.url, 'audit-engine': nowhere, 'evolution-oversight': nowhere, 'sandbox-controller': nowhere }, adminToken: POLICY_ADMIN_TOKEN },
  });
  people = channelPeople(bot.t);
}, 90_000);

afterAll(async () => {
  await bot?.close();
  await local?.close();
  await responders?.close();
  await engine?.close();
  await slowRedis?.close();
  await redis?.cleanup();
}, 60_000);

let decisions = 0;
/**
 * Decisions the engine has not cached, each waiting ~15 ms for its L2 lookup in the slow Redis:
 * its own p99 over the last minute goes over the runbook's 5 ms, and stays there while the run
 * warms the cache (the warm adds no timed decision).
 */
async function makeLatencyHigh(): Promise<number> {
  slowRedis!.delayMs = 15;
  const client = createPolicyEngineClient({ baseUrl: engine!.url, adminToken: POLICY_ADMIN_TOKEN, actor: 'high-latency-test' });
  for (let i = 0; i < 30; i += 1) {
    decisions += 1;
    await client.decide(compliantInput({ context: { agent: { id: `agent-latency-${decisions}`, trust_level: 0.95 }, environment: { sandbox_enabled: true, audit_enabled: true } } }));
  }
  const p99 = (await client.metrics()).percentiles.p99;
  expect(p99, 'the real engine must be slow for these tests').toBeGreaterThan(5);
  return p99;
}

async function startRun(): Promise<string> {
  const started = await people.type(ONCALL, 'run high-latency', 'Run started: high-latency');
  const id = /Run ([0-9a-f-]{36}) /.exec(started.text)?.[1];
  if (!id) throw new Error(`no run id in ${started.text}`);
  return id;
}

/** The scale gate's request as posted in the channel: its message ts and request id. */
async function gateRequest(runId: string): Promise<{ ts: string; id: string; text: string }> {
  const posted = await bot.t.standIn.waitFor(
    () => bot.t.standIn.messages(OPS).find((message) => blockText(message.blocks).includes(`Approval: run pass ${runId} high-latency approve-scale`)),
    20_000,
    `the scale gate's approval request for run ${runId}`,
  );
  const text = blockText(posted.blocks);
  const id = /Request `([0-9a-f-]{36})`/.exec(text)?.[1];
  if (!id) throw new Error(`no request id in ${text}`);
  return { ts: posted.ts, id, text };
}

async function summaries(runId: string): Promise<Record<string, string>> {
  const attempts = await bot.runEngine!.store.attempts(runId);
  return Object.fromEntries(attempts.map((attempt) => [attempt.stepId, `${attempt.outcome}: ${(attempt.output as { summary?: string } | undefined)?.summary ?? ''}`]));
}

/** The run's records in the bot's trail: step ends as `<step> <outcome>`, run states as `run <state>`. */
async function trailOf(runId: string): Promise<string[]> {
  const { records } = await bot.trail.trail.query({ command: 'run high-latency', limit: 200 });
  return records
    .filter((record) => (record.details as { run?: string }).run === runId && record.outcome !== 'started')
    .sort((a, b) => Number(a.sequence) - Number(b.sequence))
    .map((record) => (record.kind === 'run_step' ? `${(record.details as { step: string }).step} ${record.outcome}` : `run ${record.outcome}`));
}

/**
 * The run's trail once it holds its end record: the runner settles the run's state first and
 * records it after, so a test that saw the state waits for the record.
 */
async function endedTrailOf(runId: string, end: string): Promise<string[]> {
  return waitFor(`the trail's "${end}" record of run ${runId}`, async () => {
    const trail = await trailOf(runId);
    return trail.includes(end) ? trail : undefined;
  }, 10_000, async () => `the trail has ${JSON.stringify(await trailOf(runId))}`);
}

const replicasOf = async (stack: Stack) => (await stack.list()).find((service) => service.name === SERVICE)!.replicas;
/** Which replicas run, by id and start time: the same after a step means nothing was scaled or restarted. */
const replicaIds = async (stack: Stack) => (await replicasOf(stack)).map((replica) => `${replica.id} ${replica.startedAt}`);

describe('run high-latency, p99 still over 5 ms after the warm, on the Docker stack', () => {
  it('asks approvers before scaling; approved, scales the Policy Engine from 1 to 2 replicas, all in the trail', async () => {
    await makeLatencyHigh();
    const runId = await startRun();
    const request = await gateRequest(runId);
    expect(request.text).toContain('Scale the Policy Engine up by one replica');
    expect(await bot.approvals.get(request.id)).toMatchObject({ requester: ONCALL, level: 2, state: 'pending' });
    const waiting = await summaries(runId);
    expect(waiting['read-kpis']).toMatch(/^done: P99 .+ \(over the 5 ms alert\).*; 1 Policy Engine replica\.$/);
    expect(waiting['warm-cache']).toMatch(/^done: Warmed the cache: /);
    expect(waiting['check-p99']).toMatch(/^done: Still high: p99 .+ over the 5 ms alert 2 s after the warm, with no decision from before it left in the engine's window; scaling up needs an approval\.$/);
    expect(waiting['scale-up'], 'nothing scales before the approval').toBeUndefined();
    expect(await replicasOf(responders!.stack)).toHaveLength(1);

    await people.click(APPROVER1, 'approve', request.ts);
    const ended = await waitForRunState(bot.runEngine!.store, runId, [...FINAL_RUN_STATES, 'needs_decision'], 60_000);
    expect(ended.state, JSON.stringify(ended.detail)).toBe('succeeded');
    expect(ended.reason).toBe('p99 stayed over 5 ms after the warm; the Policy Engine was scaled from 1 to 2 replicas.');
    expect((await summaries(runId))['scale-up']).toMatch(/^done: Scaled the Policy Engine from 1 to 2 replicas in /);
    const replicas = await replicasOf(responders!.stack);
    expect(replicas.map((replica) => [replica.number, replica.state])).toEqual([[1, 'running'], [2, 'running']]);

    const gate = (await bot.runEngine!.store.attempts(runId)).find((attempt) => attempt.stepId === 'approve-scale')!;
    expect(gate.output).toEqual({ passed: true, request: request.id, approvedBy: [APPROVER1] });
    expect(await bot.approvals.get(request.id)).toMatchObject({ state: 'executed', approvedBy: [APPROVER1] });
    expect(await endedTrailOf(runId, 'run succeeded')).toEqual(expect.arrayContaining(['approve-scale done', 'scale-up done', 'run succeeded']));
    const { records } = await bot.trail.trail.query({ command: 'run pass', limit: 50 });
    expect(records.some((record) => JSON.stringify(record).includes(request.id)), 'the approval is in the trail').toBe(true);
  });

  it('denied, scales nothing: the run waits for a decision saying who denied, and an abort ends it, recorded', async () => {
    await makeLatencyHigh();
    const before = await replicaIds(responders!.stack);
    expect(before).toHaveLength(2);
    const runId = await startRun();
    const request = await gateRequest(runId);
    await people.click(APPROVER2, 'deny', request.ts);
    const stopped = await waitForRunState(bot.runEngine!.store, runId, ['needs_decision'], 20_000);
    expect(JSON.stringify(stopped.detail)).toContain(`the approval was denied by ${APPROVER2}`);
    expect((await summaries(runId))['scale-up'], 'the scale never ran').toBeUndefined();
    await people.type(ONCALL, `run abort ${runId}`, 'Abort requested');
    expect(await waitForRunState(bot.runEngine!.store, runId, FINAL_RUN_STATES, 20_000)).toMatchObject({ state: 'aborted' });
    expect(await replicaIds(responders!.stack), 'nothing scaled, nothing scaled back').toEqual(before);
    expect(await bot.approvals.get(request.id)).toMatchObject({ state: 'denied', endedBy: APPROVER2 });
    const trail = await endedTrailOf(runId, 'run aborted');
    expect(trail).toEqual(expect.arrayContaining(['approve-scale failed', 'run needs_decision', 'run aborted']));
    expect(trail.filter((entry) => entry.startsWith('scale-up'))).toEqual([]);
  });
});

describe('run high-latency on the local stack of npm start', () => {
  it('approved, the scale step fails saying the local stack cannot scale and where to scale instead; nothing changed', async () => {
    local = await startTestLocalStack('acgs-latency-local');
    current = local.stack;
    const before = await replicaIds(local.stack);
    expect(before).toHaveLength(1);
    await makeLatencyHigh();
    const runId = await startRun();
    const request = await gateRequest(runId);
    await people.click(APPROVER1, 'approve', request.ts);
    const stopped = await waitForRunState(bot.runEngine!.store, runId, [...FINAL_RUN_STATES, 'needs_decision'], 30_000);
    expect(stopped.state).toBe('needs_decision');
    const detail = JSON.stringify(stopped.detail);
    expect(detail).toContain('Scaling is not possible on the local stack');
    expect(detail).toContain('ACGS_STACK=docker');
    expect(await replicaIds(local.stack), 'the same one process, never restarted').toEqual(before);
    await people.type(ONCALL, `run abort ${runId}`, 'Abort requested');
    expect(await waitForRunState(bot.runEngine!.store, runId, FINAL_RUN_STATES, 20_000)).toMatchObject({ state: 'aborted' });
    expect(await endedTrailOf(runId, 'run aborted')).toEqual(expect.arrayContaining(['approve-scale done', 'scale-up failed', 'run aborted']));
  }, 90_000);
});
