/**
 * The troubleshooting runbooks (cache, sandbox, database) and their short form `troubleshoot`,
 * through the command path every surface uses and the bot's runbook engine on a real PostgreSQL,
 * against the four real services, the real Redis and PostgreSQL and the real Docker Engine. Each
 * problem is made for real (a cleared cache, exited sandbox containers, PostgreSQL gone) and the
 * Level 1 fix is seen to fix it; on a healthy stack every fix is skipped. Bad input (an unknown
 * area, a missing port) gets a clear sentence and runs nothing.
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandPathDependencies } from '../../bot/command-path/index.js';
import { startRunbookEngine, type RunbookEngine } from '../../bot/runbook-runs/index.js';
import { renderStepDetail } from '../../bot/slack/run-message.js';
import type { StepPorts } from '../../runbooks/engine/ports.js';
import { FINAL_RUN_STATES, type RunRecord, type RunState } from '../../runbooks/engine/run-store.js';
import { troubleshootingRunbooks } from '../../runbooks/troubleshooting/index.js';
import { createPolicyEngineClient } from '../../services/clients/policy-engine.js';
import { WARM_SET } from '../../services/policy-engine/warm-set.js';
import { DEFAULT_SANDBOX_IMAGE } from '../../services/sandbox-controller/config.js';
import { LABELS } from '../../services/sandbox-controller/sandbox/container-spec.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { block, commandRunner, type CommandRunner } from '../testing/commands.js';
import { containersWithLabel, removeContainersWithLabel, requireDockerEngine, waitForContainer } from '../testing/docker.js';
import { startStack, type TestStack } from '../testing/stack.js';
import { runTables, waitForRunState } from './testing/run-records.js';

const ONCALL = 'U0ONCALL';
const VIEWER = 'U0VIEWER';
const ROLES = { oncall: [ONCALL], approvers: [], admins: [] };
const CLOSED_PORT_URL = 'postgres://postgres@127.0.0.1:1/acgs_gone';
const suffix = randomBytes(4).toString('hex');
const agent = `troubleshoot-test-${suffix}`;

let stack: TestStack;
let trail: TestTrail;
let engine: RunbookEngine;
let docker: Docker;
/** What the steps get; tests swap `commands` to break a port or take PostgreSQL away. */
const stepPorts: StepPorts = {};
let services: CommandPathDependencies;
let run: CommandRunner;
const sessions: pg.Client[] = [];

beforeAll(async () => {
  docker = await requireDockerEngine();
  stack = await startStack({ sandboxPruneGraceSeconds: 0 });
  trail = await openTestTrail({ prefix: 'acgs_troubleshoot' });
  stepPorts.commands = stack.services;
  engine = await startRunbookEngine({
    pool: trail.pool,
    trail: trail.trail,
    runbooks: troubleshootingRunbooks,
    ports: stepPorts,
    executor: { leaseMs: 10_000, renewEveryMs: 1000, scanEveryMs: 100 },
  });
  services = { ...stack.services, authorization: await testGate({ roles: ROLES }), trail: trail.trail, runs: engine.runs };
  run = commandRunner({ services: () => services, user: ONCALL });
}, 120_000);

afterAll(async () => {
  await Promise.all(sessions.map((client) => client.end().catch(() => undefined)));
  await engine?.stop();
  if (docker) await removeContainersWithLabel(docker, `${LABELS.agentId}=${agent}`);
  await trail?.close();
  await stack?.close();
}, 60_000);

const policyEngine = () => createPolicyEngineClient({ baseUrl: stack.endpoints['policy-engine'], adminToken: stack.adminToken, actor: 'troubleshoot-test' });

/** Starts a runbook with its short form (or a whole `run` line) and waits until it ends or stops for a decision. */
async function troubleshoot(area: string): Promise<RunRecord> {
  const outcome = await run(area.startsWith('run ') ? area : `troubleshoot ${area}`);
  expect(outcome.document.title, JSON.stringify(outcome.document)).toMatch(/^Run started: /);
  const id = (outcome.document.data as { run: { id: string } }).run.id;
  return waitForRunState(engine.store, id, [...FINAL_RUN_STATES, 'needs_decision'] as RunState[], 60_000);
}

/** Each step's outcome and the sentence it left: its output's summary, or its error. */
async function stepsOf(runId: string): Promise<Record<string, { outcome: string; summary: string }>> {
  const attempts = await engine.store.attempts(runId);
  return Object.fromEntries(
    attempts.map((attempt) => [attempt.stepId, { outcome: attempt.outcome, summary: attempt.error ?? (attempt.output as { summary?: string } | null)?.summary ?? '' }]),
  );
}

/** Cache lookups that all hit: the warm set's own decisions, asked for again. */
async function hitTheWarmSet(times: number): Promise<void> {
  const client = policyEngine();
  for (let round = 0; round < times; round += 1) for (const input of WARM_SET) await client.decide(input);
}

/** A container labelled as an exited sandbox of this test's agent, as the controller labels them. */
async function exitedSandbox(): Promise<string> {
  const container = await docker.createContainer({
    Image: DEFAULT_SANDBOX_IMAGE,
    Entrypoint: ['sh', '-c'],
    Cmd: ['exit 0'],
    Labels: {
      [LABELS.sandbox]: '1',
      [LABELS.id]: randomBytes(8).toString('hex'),
      [LABELS.agentId]: agent,
      [LABELS.runtime]: 'runc',
      [LABELS.controller]: `another-controller-${suffix}`,
      [LABELS.deadline]: new Date(Date.now() + 3600_000).toISOString(),
    },
    HostConfig: { NetworkMode: 'none', LogConfig: { Type: 'none', Config: {} } },
  });
  await container.start();
  await waitForContainer(docker, container.id, (info) => info.State.Status === 'exited');
  return container.id;
}

describe('troubleshoot: bad input runs nothing', () => {
  it('names the areas for an unknown or missing word, and refuses someone without the on-call role', async () => {
    const before = await runTables(trail.pool);
    const typo = await run('troubleshoot cahce');
    expect(typo.rejection).toBe('usage');
    expect(typo.document.summary ?? JSON.stringify(typo.document)).toMatch(/`cahce` is not an area to troubleshoot; did you mean `cache`\? Known: memory, database, cache, sandbox/);
    for (const line of ['troubleshoot', 'troubleshoot everything', 'troubleshoot cache database']) expect((await run(line)).rejection, line).toBe('usage');
    expect((await run('troubleshoot cache', { user: VIEWER })).rejection).toBe('refused');
    expect(await runTables(trail.pool)).toEqual(before);
  });

  it('--dry-run checks for real, read-only, and records nothing', async () => {
    const before = await runTables(trail.pool);
    const plans = {
      cache: ['checked (read-only)', 'checked (read-only)', 'checked (read-only)', 'description only'],
      database: ['checked (read-only)', 'checked (read-only)', 'description only'],
      sandbox: ['checked (read-only)', 'checked (read-only)', 'description only'],
    };
    for (const [area, modes] of Object.entries(plans)) {
      const outcome = await run(`troubleshoot ${area} --dry-run`);
      expect(outcome.document.title).toMatch(/^Dry run: /);
      expect(outcome.document.summary, area).not.toMatch(/failed/);
      expect(block(outcome.document, 'table').rows.map((row) => row[3]), area).toEqual(modes);
    }
    const cache = await run('troubleshoot cache --dry-run');
    expect(block(cache.document, 'table').rows[0]![4]).toMatch(/^(The hit rate is|No decision was looked up yet)/);
    expect(await runTables(trail.pool)).toEqual(before);
  });

  it('a step whose port is missing stops the run with a sentence saying which, and acts on nothing', async () => {
    const full = stepPorts.commands;
    stepPorts.commands = { endpoints: stack.endpoints, checkTimeoutMs: 2000 };
    try {
      const stopped = await troubleshoot('cache');
      expect(stopped.state).toBe('needs_decision');
      expect(stopped.reason).toMatch(/^step "check-cache" .* failed: this process has no Policy Engine client, so the step cannot check anything/);
      const memory = await troubleshoot('memory');
      expect(memory.reason).toMatch(/failed: this process has no Stack driver \(Docker or local processes\)/);
      expect(Object.keys(await stepsOf(stopped.id))).toEqual(['check-cache']);
      await engine.runs.abort(stopped.id, ONCALL);
      await engine.runs.abort(memory.id, ONCALL);
      // Settled before the next test compares the run tables.
      for (const id of [stopped.id, memory.id]) await waitForRunState(engine.store, id, FINAL_RUN_STATES);
    } finally {
      stepPorts.commands = full;
    }
  });
});

describe('troubleshoot database without DATABASE_URL (the embedded default)', () => {
  it('answers up front that it does not apply, with a hint, and records nothing', async () => {
    const full = stepPorts.commands;
    stepPorts.commands = stack.servicesWith({ postgresUrl: null });
    try {
      const before = await runTables(trail.pool);
      for (const line of ['troubleshoot database', 'troubleshoot database --dry-run', 'run database-connections']) {
        const outcome = await run(line);
        expect(outcome.outcome, line).toBe('rejected');
        expect(outcome.document.summary, line).toMatch(/^database-connections does not apply here: no PostgreSQL is configured for the bot \(DATABASE_URL is not set\), so there is nothing to check/);
        expect(outcome.document.footer ?? '', line).toMatch(/Set DATABASE_URL to a PostgreSQL server/);
      }
      expect(await runTables(trail.pool)).toEqual(before);
    } finally {
      stepPorts.commands = full;
    }
  });
});

describe('troubleshoot cache', () => {
  it('on a healthy cache it warms nothing and says why', async () => {
    await policyEngine().warmCache();
    await hitTheWarmSet(3);
    const finished = await troubleshoot('cache');
    expect(finished.state, finished.reason ?? '').toBe('succeeded');
    const steps = await stepsOf(finished.id);
    expect(steps['check-cache']!.summary).toMatch(/^The hit rate is 100\.0 % of \d+ lookups, over the runbook's 95 %: the cache is not degraded\. L1 holds \d+ of/);
    expect(steps['check-redis']!.summary).toMatch(/^Redis at 127\.0\.0\.1:6379\S* answers in .*; eviction/);
    expect(steps['warm-cache']!.summary).toMatch(/^Skipped: the check found the cache healthy \(100\.0 % hit rate, \d+ L1 entries\), so nothing was warmed\.$/);
    expect(steps['verify-cache']!.summary).toMatch(/^The cache was healthy and still is: L1 holds \d+ entries/);
  });

  it('after a clear it finds the cache cold, warms it, and the verify sees L1 filled', async () => {
    await policyEngine().clearCache();
    expect((await policyEngine().metrics()).cache_stats.l1.size).toBe(0);
    const finished = await troubleshoot('cache');
    expect(finished.state, finished.reason ?? '').toBe('succeeded');
    const steps = await stepsOf(finished.id);
    expect(steps['check-cache']!.summary).toMatch(/the cache is cold \(empty L1, as after a restart or a clear\)\. L1 holds 0 of/);
    expect(steps['warm-cache']!.summary).toMatch(new RegExp(`^Warmed the cache: ${WARM_SET.length} common decisions evaluated and cached`));
    expect(steps['verify-cache']!.summary).toMatch(new RegExp(`^The warm helped: L1 holds ${WARM_SET.length} entries \\(was 0\\); no decision was looked up since the check`));
    expect((await policyEngine().metrics()).cache_stats.l1.size).toBe(WARM_SET.length);

    // The step's thread reply (what on-call reads in Slack) opens with the sentence, the evidence after it.
    const attempt = (await engine.store.attempts(finished.id)).find((each) => each.stepId === 'warm-cache')!;
    const reply = renderStepDetail(finished, { id: 'warm-cache', title: 'Warm the cache', kind: 'act' }, attempt);
    const texts = reply.blocks.flatMap((each) => (each.type === 'section' && each.text ? [each.text.text] : []));
    const returned = texts.find((text) => text.startsWith('*Returned*'));
    expect(returned).toMatch(/^\*Returned\*\n```\{\n {2}"summary": "Warmed the cache: \d+ common decisions/);
  });

  it('with Redis gone it says so and names restarting Redis by hand', async () => {
    const full = stepPorts.commands;
    stepPorts.commands = stack.servicesWith({ redisUrl: 'redis://127.0.0.1:1/0', checkTimeoutMs: 1000 });
    try {
      const finished = await troubleshoot('cache');
      expect(finished.state, finished.reason ?? '').toBe('succeeded');
      const steps = await stepsOf(finished.id);
      expect(steps['check-redis']!.summary).toMatch(/^Redis does not answer: 127\.0\.0\.1:1\S*: connection refused\.$/);
      expect(steps['verify-cache']!.summary).toMatch(/Next: `docker-compose restart redis` \(by hand: no \/acgs command does it\) Redis does not answer/);
    } finally {
      stepPorts.commands = full;
    }
  });
});

// Narrowed to this test's agent: other files on the same Docker Engine keep their exited sandboxes.
describe('troubleshoot sandbox (run sandbox-failures agent=...)', () => {
  it('refuses an agent id that is not one, recording nothing', async () => {
    const before = await runTables(trail.pool);
    const outcome = await run('run sandbox-failures agent=-x');
    expect(outcome.rejection, JSON.stringify(outcome.document)).toBe('usage');
    expect(outcome.document.summary).toMatch(/^The arguments for "sandbox-failures" are not valid:\n✖ must be an agent id .*\(got `-x`\)\n  → at agent$/);
    expect(await runTables(trail.pool)).toEqual(before);
  });

  it('prunes the exited sandbox containers it found, and the verify sees none left', async () => {
    const ids = await Promise.all([exitedSandbox(), exitedSandbox()]);
    const finished = await troubleshoot(`run sandbox-failures agent=${agent}`);
    expect(finished.state, finished.reason ?? '').toBe('succeeded');
    const steps = await stepsOf(finished.id);
    expect(steps['check-sandboxes']!.summary).toMatch(new RegExp(`0 sandboxes of agent ${agent} running; 2 exited sandbox containers of agent ${agent} left on the engine\\.$`));
    expect(steps['prune-sandboxes']!.summary).toBe('Removed 2 exited sandbox containers.');
    expect(steps['verify-sandboxes']!.summary).toMatch(/^Resolved\. 0 exited sandbox containers left after the prune \(was 2\)\. The Sandbox Controller is healthy: .* 0 exited sandbox containers of agent \S+ left on the engine\.$/);
    expect((await containersWithLabel(docker, `${LABELS.agentId}=${agent}`)).filter((container) => ids.includes(container.Id))).toEqual([]);
  });

  it('with nothing exited it prunes nothing and says why', async () => {
    const finished = await troubleshoot(`run sandbox-failures agent=${agent}`);
    expect(finished.state, finished.reason ?? '').toBe('succeeded');
    const steps = await stepsOf(finished.id);
    expect(steps['check-sandboxes']!.summary).toMatch(/0 exited sandbox containers of agent \S+ left on the engine\.$/);
    expect(steps['prune-sandboxes']!.summary).toBe('Skipped: the check found no exited sandbox containers, so nothing was pruned.');
    expect(steps['verify-sandboxes']!.summary).toMatch(/^Nothing was wrong and nothing is\. The Sandbox Controller is /);
  });
});

describe('troubleshoot database', () => {
  it('on a healthy PostgreSQL it counts the connections, including one idle in a transaction, and ends well', async () => {
    const client = new pg.Client({ connectionString: stack.auditDatabase.url, application_name: 'troubleshoot-test-idle' });
    client.on('error', () => undefined);
    sessions.push(client);
    await client.connect();
    await client.query('BEGIN; SELECT 1');
    const finished = await troubleshoot('database');
    expect(finished.state, finished.reason ?? '').toBe('succeeded');
    const steps = await stepsOf(finished.id);
    expect(steps['check-postgres']!.summary).toMatch(/^PostgreSQL \d[^@]* at 127\.0\.0\.1:5432\/acgs_stack_audit_\w+ answers in /);
    expect(steps['check-connections']!.summary).toMatch(/^\d+ of \d+ connections in use \(\d+ %\): \d+ active, \d+ idle, [1-9]\d* idle in a transaction; none for over the runbook's 1 h 0 min\.$/);
    expect(steps['verify-connections']!.summary).toMatch(/^Nothing was wrong and nothing is\. PostgreSQL/);
    await client.query('ROLLBACK');
  });

  it('with PostgreSQL gone it stops at the verify, saying so and naming the restart by hand', async () => {
    const full = stepPorts.commands;
    stepPorts.commands = stack.servicesWith({ postgresUrl: CLOSED_PORT_URL, checkTimeoutMs: 1000 });
    try {
      const stopped = await troubleshoot('database');
      expect(stopped.state).toBe('needs_decision');
      expect(stopped.reason).toMatch(
        /^step "verify-connections" .* failed: Not resolved \(this runbook terminates nothing by itself\): PostgreSQL does not answer: 127\.0\.0\.1:1\/acgs_gone: connection refused .* Next: `docker-compose restart postgres` \(by hand: no \/acgs command does it\)/,
      );
      const steps = await stepsOf(stopped.id);
      expect(steps['check-connections']!.summary).toMatch(/^Not read: PostgreSQL does not answer: 127\.0\.0\.1:1\/acgs_gone/);
      await engine.runs.abort(stopped.id, ONCALL);
    } finally {
      stepPorts.commands = full;
    }
  });
});
