/**
 * The `high-latency` runbook (the alert's "Run: high latency" button runs `run high-latency`)
 * through the command path and the bot's runbook engine on the real PostgreSQL, against the real
 * Policy Engine: its plan, a run where the warm leaves p99 under the threshold (the gate and the
 * scale are skipped: nobody is asked), and a person without the on-call role refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommandPathDependencies, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { startRunbookEngine, type RunbookEngine } from '../../bot/runbook-runs/index.js';
import { renderText } from '../../bot/cli-render.js';
import { highLatency } from '../../runbooks/alert-responses/index.js';
import { FINAL_RUN_STATES, type RunState } from '../../runbooks/engine/run-store.js';
import { createPolicyEngineClient } from '../../services/clients/policy-engine.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { commandRunner, type CommandRunner } from '../testing/commands.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { POLICY_ADMIN_TOKEN, startPolicyEngine, type RunningPolicyEngine } from '../testing/policy-engine.js';
import { runTables, waitForRunState } from './testing/run-records.js';

const ONCALL = 'U0ONCALL';
const VIEWER = 'U0VIEWER';

let policyEngine: RunningPolicyEngine;
let trail: TestTrail;
let engine: RunbookEngine;
let services: CommandPathDependencies;
let run: CommandRunner;

beforeAll(async () => {
  policyEngine = await startPolicyEngine();
  trail = await openTestTrail({ prefix: 'acgs_high_latency' });
  const nowhere = await unusedLoopbackUrl();
  const commands = createCommandPathDependencies({
    endpoints: { 'policy-engine': policyEngine.url, 'audit-engine': nowhere, 'evolution-oversight': nowhere, 'sandbox-controller': nowhere },
    adminToken: POLICY_ADMIN_TOKEN,
    checkTimeoutMs: 2000,
  });
  engine = await startRunbookEngine({ pool: trail.pool, trail: trail.trail, runbooks: [highLatency], ports: { commands }, executor: { leaseMs: 10_000, renewEveryMs: 1000, scanEveryMs: 100 } });
  services = { ...commands, authorization: await testGate({ roles: { oncall: [ONCALL] } }), trail: trail.trail, runs: engine.runs };
  run = commandRunner({ services: () => services, user: ONCALL });
}, 60_000);

afterAll(async () => {
  await engine?.stop();
  await trail?.close();
  await policyEngine?.close();
});

describe('run high-latency', () => {
  it('shows its plan: KPIs, cache warm, p99 again, a Level 2 gate, the scale; recording no run', async () => {
    const before = await runTables(trail.pool);
    const plan = await run('run high-latency --dry-run');
    const text = renderText(plan.document);
    expect(text).toContain('high-latency');
    for (const title of ["Read the Policy Engine's KPIs", 'Warm the Policy Engine cache (Level 1)', 'Read p99 again', 'Approvers agree to scale the Policy Engine up by one replica', 'Scale the Policy Engine up by one replica']) {
      expect(text).toContain(title);
    }
    expect(text).toContain('Waits for approvers (Level 2)');
    expect(await runTables(trail.pool)).toEqual(before);
  });

  it('warms the cache and, with p99 under 5 ms after it, skips the gate and the scale: nobody is asked', async () => {
    const client = createPolicyEngineClient({ baseUrl: policyEngine.url, adminToken: POLICY_ADMIN_TOKEN, actor: 'high-latency-test' });
    expect((await client.metrics()).cache_stats.l1.size).toBe(0);
    const started = await run('run high-latency', { origin: 'button' });
    expect(started.document.title, JSON.stringify(started.document)).toMatch(/^Run started: /);
    const id = (started.document.data as { run: { id: string } }).run.id;
    const ended = await waitForRunState(engine.store, id, [...FINAL_RUN_STATES, 'needs_decision'] as RunState[], 30_000);
    expect(ended.state).toBe('succeeded');
    expect(ended.reason).toMatch(/^The cache warm brought p99 to .+, under 5 ms; nothing was scaled\.$/);
    const { attempts } = await engine.runs.get(id);
    const summaries = Object.fromEntries(attempts.map((attempt) => [attempt.stepId, `${attempt.outcome}: ${(attempt.output as { summary?: string } | undefined)?.summary ?? ''}`]));
    expect(summaries['warm-cache']).toMatch(/^done: Warmed the cache: \d+ common decisions/);
    expect(summaries['check-p99']).toMatch(/^done: Resolved by the warm: p99 /);
    expect(summaries['approve-scale']).toMatch(/^done: Skipped: p99 is .+ after the warm, under the 5 ms alert: no scaling, nobody is asked\.$/);
    expect(summaries['scale-up']).toMatch(/^done: Skipped: /);
    expect((await client.metrics()).cache_stats.l1.size).toBeGreaterThan(0);
    // No approval was asked: the gate never opened a request.
    expect((await trail.trail.query({ command: 'run pass', limit: 10 })).records).toEqual([]);
  });

  it('refuses a person without the on-call role, recording no run', async () => {
    const before = await runTables(trail.pool);
    const refused = await run('run high-latency', { user: VIEWER });
    expect(refused.rejection).toBe('refused');
    expect(await runTables(trail.pool)).toEqual(before);
  });
});
