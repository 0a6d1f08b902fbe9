/**
 * The run commands (`runbooks`, `run`, `runs`, `run status|abort|decide`) through the command
 * path every surface uses, with the real policy, the bot's trail and the runbook engine on a real
 * PostgreSQL bot database, running the `health-check` runbook against four health documents on
 * loopback. Every bad input gets a clear answer and writes nothing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createCommandPathDependencies, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { startRunbookEngine, type RunbookEngine } from '../../bot/runbook-runs/index.js';
import { defineRunbook } from '../../runbooks/engine/definition.js';
import { FINAL_RUN_STATES, type RunRecord, type RunState } from '../../runbooks/engine/run-store.js';
import { healthCheck } from '../../runbooks/health-check.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { block, commandRunner, type CommandRunner } from '../testing/commands.js';
import { startHealthStandIn, type HealthStandIn } from './testing/health-stand-in.js';
import { runTables, waitForRunState } from './testing/run-records.js';

const ONCALL = 'U0ONCALL';
const VIEWER = 'U0VIEWER';
const ROLES = { oncall: [ONCALL], approvers: [], admins: [] };

/** A Level 2 runbook: it needs an approval, which a process without the approval store cannot ask for. */
const restartAll = defineRunbook({
  source: import.meta.url,
  name: 'restart-everything',
  summary: 'Restart every service',
  level: 2,
  args: z.object({}).strict(),
  steps: [{ id: 'restart', kind: 'act', title: 'Restart', timeoutMs: 1000, idempotent: false, run: async () => ({}), dryRun: async () => ({ mode: 'description', text: 'Would restart' }) }],
});

let trail: TestTrail;
let health: HealthStandIn;
let engine: RunbookEngine;
let services: CommandPathDependencies;
let run: CommandRunner;

beforeAll(async () => {
  trail = await openTestTrail({ prefix: 'acgs_run_cmds' });
  health = await startHealthStandIn();
  const base = createCommandPathDependencies({ endpoints: health.endpoints, checkTimeoutMs: 2000 });
  engine = await startRunbookEngine({
    pool: trail.pool,
    trail: trail.trail,
    runbooks: [healthCheck, restartAll],
    ports: { commands: base },
    executor: { leaseMs: 2000, renewEveryMs: 200, scanEveryMs: 100 },
  });
  services = { ...base, authorization: await testGate({ roles: ROLES }), trail: trail.trail, runs: engine.runs };
  run = commandRunner({ services: () => services, user: ONCALL });
});

afterAll(async () => {
  await engine?.stop();
  await health?.close();
  await trail?.close();
});

function allHealthy(): void {
  for (const name of Object.keys(health.status) as (keyof HealthStandIn['status'])[]) health.status[name] = 'healthy';
}
beforeEach(allHealthy);

function waitForState(id: string, states: readonly RunState[], timeoutMs = 10_000): Promise<RunRecord> {
  return waitForRunState(engine.store, id, states, timeoutMs);
}

/** Runs and attempts now, so a refusal can show it wrote nothing. */
const tables = () => runTables(trail.pool);

async function startRun(line = 'run health-check'): Promise<string> {
  const outcome = await run(line);
  expect(outcome.document.title, JSON.stringify(outcome.document)).toBe('Run started: health-check');
  return (outcome.document.data as { run: { id: string } }).run.id;
}

describe('runbooks', () => {
  it('lists each runbook with its level and what it does, to anyone', async () => {
    const outcome = await run('runbooks', { user: VIEWER });
    expect(outcome.outcome).toBe('info');
    expect(block(outcome.document, 'table').rows).toEqual([
      ['health-check', 'read-only', '2', healthCheck.summary],
      ['restart-everything', 'Level 2 (human decision)', '1', 'Restart every service'],
    ]);
  });
});

describe('run --dry-run', () => {
  it('shows every step, whether its dry run really checked, and records no run', async () => {
    const before = await tables();
    const asked = health.asked['policy-engine'];
    const outcome = await run('run health-check service=policy-engine --dry-run');
    expect(outcome.document.title).toBe('Dry run: health-check');
    expect(outcome.document.summary).toBe('Nothing ran and nothing was recorded. 2 steps: 1 checked for real (read-only), 1 only described.');
    expect(block(outcome.document, 'table').rows).toEqual([
      ['1', "Ask each service's /health", 'check', 'checked (read-only)', 'Would ask policy-engine; now: policy-engine healthy'],
      ['2', 'Verify that every service says healthy', 'verify', 'description only', 'Would ask policy-engine again and require each to say "healthy"'],
    ]);
    expect(health.asked['policy-engine']).toBe(asked + 1);
    expect(await tables()).toEqual(before);
  });
});

describe('a run of health-check', () => {
  it('starts, runs both steps to success, and shows in run status, runs and the trail', async () => {
    const id = await startRun();
    const finished = await waitForState(id, FINAL_RUN_STATES);
    expect(finished).toMatchObject({ state: 'succeeded', requester: ONCALL, origin: 'slash' });

    const status = await run(`run status ${id}`, { user: VIEWER });
    expect(status.document.summary).toBe('health-check has succeeded.');
    expect(block(status.document, 'table').rows.map((row) => [row[1], row[3], row[4]])).toEqual([
      ["Ask each service's /health", 'done', '1'],
      ['Verify that every service says healthy', 'done', '1'],
    ]);

    const listed = await run('runs', { user: VIEWER });
    expect(JSON.stringify(listed.document.data)).toContain(id);

    const records = (await trail.trail.query({ kind: 'run_step', limit: 200 })).records.filter((record) => (record.details as { run?: string } | null)?.run === id);
    expect(records.map((record) => `${(record.details as { step: string }).step} ${record.outcome}`).reverse()).toEqual([
      'probe-services started',
      'probe-services done',
      'verify-healthy started',
      'verify-healthy done',
    ]);
    // The runner records the run's end in the trail after the state it settled in is committed:
    // `run status` may show it succeeded a moment before the record is there.
    const states = async () => (await trail.trail.query({ kind: 'run_state', limit: 200 })).records.filter((record) => (record.details as { run?: string } | null)?.run === id).map((record) => record.outcome);
    await expect.poll(states, { timeout: 10_000 }).toEqual(['succeeded']);
  });

  it('stops for a decision when a service is not healthy; skip finishes it, with the step recorded as skipped', async () => {
    health.status['audit-engine'] = 'degraded';
    const id = await startRun();
    const stopped = await waitForState(id, ['needs_decision']);
    expect(stopped.reason).toContain('not healthy: audit-engine degraded');

    const status = await run(`run status ${id}`);
    expect(status.document.tone).toBe('warn');
    expect(block(status.document, 'table').rows[1]).toEqual(['2', 'Verify that every service says healthy', 'verify', 'failed', '1', expect.any(String), 'not healthy: audit-engine degraded']);
    expect(status.document.actions?.map((action) => action.command)).toEqual([`run decide ${id} retry`, `run decide ${id} skip`, `run abort ${id}`, `run status ${id}`]);

    const decided = await run(`run decide ${id} skip`);
    expect(decided.document.title).toBe('Skip decided: health-check');
    expect(await waitForState(id, FINAL_RUN_STATES)).toMatchObject({ state: 'succeeded' });
    expect(block((await run(`run status ${id}`)).document, 'table').rows[1]![3]).toBe('skipped');
  });

  it('runs the stopped step again on retry, once the service is healthy', async () => {
    health.status['sandbox-controller'] = 'unhealthy';
    const id = await startRun();
    await waitForState(id, ['needs_decision']);
    health.status['sandbox-controller'] = 'healthy';
    expect((await run(`run decide ${id} retry`)).document.title).toBe('Retry decided: health-check');
    expect(await waitForState(id, FINAL_RUN_STATES)).toMatchObject({ state: 'succeeded' });
    const attempts = (await engine.store.attempts(id)).filter((attempt) => attempt.stepId === 'verify-healthy').map((attempt) => attempt.outcome);
    expect(attempts).toEqual(['failed', 'done']);
  });

  it('aborts a run waiting for a decision', async () => {
    health.status['policy-engine'] = 'degraded';
    const id = await startRun();
    await waitForState(id, ['needs_decision']);
    const aborted = await run(`run abort ${id}`);
    expect(aborted.document.title).toBe('Abort requested: health-check');
    expect(aborted.document.summary).toContain(`Run ${id} is being aborted.`);
    expect(await waitForState(id, ['aborted'])).toMatchObject({ decidedBy: ONCALL });
  });
});

describe('bad input: a clear answer, and nothing written', () => {
  let finishedId: string;
  beforeAll(async () => {
    allHealthy();
    finishedId = await startRun();
    await waitForState(finishedId, FINAL_RUN_STATES);
  });

  it.each([
    ['run helth-check', 'There is no runbook "helth-check".', /Did you mean `health-check`\? Runbooks: health-check, restart-everything\./],
    ['run nothing-like-it', 'There is no runbook "nothing-like-it".', /^Runbooks: health-check, restart-everything\.$/],
    ['run health-check service=nope', /The arguments for "health-check" are not valid:\n.*service must be one of .*policy-engine.*\n  → at service/s, /`runbooks` lists/],
    ['run health-check colour=red', /The arguments for "health-check" are not valid:\n.*colour/s, /`runbooks` lists/],
    ['run health-check policy-engine', /`policy-engine` is not an argument; a runbook's arguments are key=value/, /run/],
    ['run health-check --force', /`--force` is not an option of `run`/, /run/],
    ['run', /name the runbook to run/, /run/],
    [
      'run restart-everything',
      '`run` needs 1 approval from someone holding `approvers` or `admins` (not you). The approval store is not set up in this process, so it cannot be requested; nothing was run.',
      /`\/acgs can run` explains who may approve it/,
    ],
    ['run status 00000000-0000-4000-8000-000000000000', 'There is no run "00000000-0000-4000-8000-000000000000".', /`runs` lists/],
    ['run status 12345', /`12345` is not a run id; a run id looks like/, /run status/],
    ['run status 1b9d6bcd', /`1b9d6bcd` is only the start of a run id; give the whole id, as `runs` and the run's message show it/, /run status/],
    ['run abort not-a-run', /`not-a-run` is not a run id/, /run abort/],
    ['run decide 00000000-0000-4000-8000-000000000000 retry', 'There is no run "00000000-0000-4000-8000-000000000000".', /`runs` lists/],
    ['run decide 00000000-0000-4000-8000-000000000000 maybe', /`maybe` is not a decision\. Known: retry, skip, abort/, /run decide/],
  ])('%s', async (line, message, hint) => {
    const before = await tables();
    const outcome = await run(line);
    expect(outcome.outcome).toBe('rejected');
    if (typeof message === 'string') expect(outcome.document.summary).toBe(message);
    else expect(outcome.document.summary).toMatch(message);
    expect(outcome.document.footer ?? '').toMatch(hint);
    expect(await tables()).toEqual(before);
  });

  it('refuses a decision on a run that waits for none, and an abort of a finished run', async () => {
    const before = await tables();
    const decide = await run(`run decide ${finishedId} retry`);
    expect(decide.outcome).toBe('rejected');
    expect(decide.document.summary).toBe(`Run ${finishedId} (health-check) has succeeded; it waits for no decision.`);
    const abort = await run(`run abort ${finishedId}`);
    expect(abort.outcome).toBe('rejected');
    expect(abort.document.summary).toBe(`Run ${finishedId} (health-check) has succeeded; there is nothing to abort.`);
    expect(await tables()).toEqual(before);
    expect(await engine.store.get(finishedId)).toMatchObject({ state: 'succeeded', decision: null });
  });

  it("refuses a run above the user's roles, naming the runbook, and lists runs for anyone", async () => {
    const before = await tables();
    const refused = await run('run restart-everything', { user: VIEWER });
    expect(refused.outcome).toBe('rejected');
    expect(refused.decision).toMatchObject({ code: 'role', level: 2 });
    expect(refused.document.summary).toBe('runbook "restart-everything" is a Level 2 (human decision) action that the oncall or admins role may request; you hold no role.');
    expect(await tables()).toEqual(before);
    expect((await run('runs', { user: VIEWER })).outcome).not.toBe('rejected');
  });

  it('starts a Level 0 runbook for someone without any role', async () => {
    const outcome = await run('run health-check', { user: VIEWER });
    expect(outcome.decision).toMatchObject({ code: 'allowed', level: 0 });
    const id = (outcome.document.data as { run: { id: string } }).run.id;
    expect(await waitForState(id, FINAL_RUN_STATES)).toMatchObject({ state: 'succeeded', requester: VIEWER });
  });

  it('says the engine is not set up in a process without it', async () => {
    const { runs: _runs, ...without } = services;
    for (const line of ['runbooks', 'runs', 'run health-check --dry-run', 'run status 00000000-0000-4000-8000-000000000000']) {
      const outcome = await run(line, { services: without });
      expect(outcome.document.summary, line).toBe('The runbook engine is not set up in this process.');
    }
  });
});

describe('runs', () => {
  it('lists every active run however old, with only the newest finished ones limited', async () => {
    // A run left waiting for a decision a month ago, older than every finished run here.
    // Written in one statement: a pending row would be claimed and run by this file's runner at once.
    const inserted = await trail.pool.query<{ id: string }>(
      `INSERT INTO runbook_runs (id, runbook, version, args, requester, origin, state, reason, created_at)
       VALUES (gen_random_uuid(), 'health-check', $1, '{}'::jsonb, $2, 'slash', 'needs_decision', 'step "verify-healthy" failed: waited a month', now() - interval '30 days')
       RETURNING id`,
      [healthCheck.version, ONCALL],
    );
    const old = { id: inserted.rows[0]!.id };
    try {
      for (let n = 0; n < 2; n += 1) await waitForState(await startRun(), FINAL_RUN_STATES);
      const listed = await run('runs --limit 1', { user: VIEWER });
      const data = listed.document.data as { active: Array<{ id: string }>; recent: Array<{ id: string }> };
      expect(data.active.map((each) => each.id)).toContain(old.id);
      expect(data.recent).toHaveLength(1);
      expect(listed.document.summary).toMatch(/^\d+ active \(\d+ waiting for a decision\), 1 finished\./);
    } finally {
      await trail.pool.query(`UPDATE runbook_runs SET state = 'aborted', reason = 'test over' WHERE id = $1`, [old.id]);
    }
  });
});
