/**
 * The runbook engine on the embedded default of `npm start`: the bot's database is PGlite, which
 * has one session, so the bot's pool has one connection (bot/main.ts). The engine's transactions,
 * its lease renewals, the run commands and the trail's appends all share it; a run must still go
 * from start to success, stop for a decision, take a retry and an abort, with every step recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommandPathDependencies, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { startRunbookEngine, type RunbookEngine } from '../../bot/runbook-runs/index.js';
import { FINAL_RUN_STATES, type RunRecord, type RunState } from '../../runbooks/engine/run-store.js';
import { allRunbooks } from '../../runbooks/index.js';
import { testGate } from '../testing/command-access.js';
import { block, commandRunner, type CommandRunner } from '../testing/commands.js';
import { openPgliteBotDatabase, type PgliteBotDatabase } from '../testing/pglite-bot-database.js';
import { startHealthStandIn, type HealthStandIn } from './testing/health-stand-in.js';

const ONCALL = 'U0ONCALL';

let db: PgliteBotDatabase;
let health: HealthStandIn;
let engine: RunbookEngine;
let run: CommandRunner;

beforeAll(async () => {
  db = await openPgliteBotDatabase('runbooks');
  health = await startHealthStandIn();
  const base = createCommandPathDependencies({ endpoints: health.endpoints, checkTimeoutMs: 2000 });
  engine = await startRunbookEngine({
    pool: db.pool,
    trail: db.trail,
    runbooks: allRunbooks,
    ports: { commands: base },
    executor: { leaseMs: 3000, renewEveryMs: 200, scanEveryMs: 100 },
  });
  const services: CommandPathDependencies = { ...base, authorization: await testGate({ roles: { oncall: [ONCALL] } }), trail: db.trail, runs: engine.runs };
  run = commandRunner({ services: () => services, user: ONCALL });
}, 60_000);

afterAll(async () => {
  await engine?.stop();
  await health?.close();
  await db?.close();
});

async function waitForState(id: string, states: readonly RunState[], timeoutMs = 15_000): Promise<RunRecord> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const found = await engine.store.get(id);
    if (found && states.includes(found.state)) return found;
    if (Date.now() > until) throw new Error(`run ${id} is ${found?.state ?? 'missing'}, not ${states.join(' or ')}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function startRun(): Promise<string> {
  const outcome = await run('run health-check');
  expect(outcome.document.title, JSON.stringify(outcome.document)).toBe('Run started: health-check');
  return (outcome.document.data as { run: { id: string } }).run.id;
}

describe('the run commands on the embedded PGlite database (one connection)', () => {
  it('dry-runs without recording, then runs health-check to success with each step in the trail', async () => {
    const count = async () => (await db.pool.query<{ n: string }>('SELECT count(*) AS n FROM runbook_runs')).rows[0]!.n;
    const before = await count();
    expect((await run('run health-check --dry-run')).document.title).toBe('Dry run: health-check');
    expect(await count()).toBe(before);

    const id = await startRun();
    expect(await waitForState(id, FINAL_RUN_STATES)).toMatchObject({ state: 'succeeded' });
    expect(block((await run(`run status ${id}`)).document, 'table').rows.map((row) => row[3])).toEqual(['done', 'done']);
    await db.trail.flush();
    const steps = (await db.trail.query({ kind: 'run_step', limit: 50 })).records.filter((record) => (record.details as { run?: string }).run === id);
    expect(steps.map((record) => record.outcome).sort()).toEqual(['done', 'done', 'started', 'started']);
  });

  it('stops for a decision, takes a retry, and aborts another run', async () => {
    health.status['audit-engine'] = 'degraded';
    const retried = await startRun();
    await waitForState(retried, ['needs_decision']);
    health.status['audit-engine'] = 'healthy';
    expect((await run(`run decide ${retried} retry`)).outcome).toBe('ok');
    expect(await waitForState(retried, FINAL_RUN_STATES)).toMatchObject({ state: 'succeeded' });

    health.status['evolution-oversight'] = 'unhealthy';
    const aborted = await startRun();
    await waitForState(aborted, ['needs_decision']);
    expect((await run(`run abort ${aborted}`)).document.title).toBe('Abort requested: health-check');
    expect(await waitForState(aborted, ['aborted'])).toMatchObject({ state: 'aborted' });
    health.status['evolution-oversight'] = 'healthy';

    const listed = await run('runs');
    expect(JSON.stringify(listed.document.data)).toContain(aborted);
  });
});
