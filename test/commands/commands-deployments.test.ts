/**
 * `releases`, `deploy status` and `deploy unlock` end to end through Slack: typed as `/acgs` slash
 * commands through the real Bolt HTTP receiver and the Slack stand-in, with the real authorization
 * policy, the bot's trail, the runbook engine and the deployment records on the real PostgreSQL,
 * and the real Policy Engine answering its /health (the other three services do not answer).
 * Every bad input gets a clear answer and changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { scriptedRunbook } from '../../runbooks/engine/testing/scripted-runbooks.js';
import { FINAL_RUN_STATES } from '../../runbooks/engine/run-store.js';
import { stackKey } from '../../runbooks/deploy/release-records.js';
import { channelPeople, type GovernanceBot } from '../testing/governance-bot.js';
import { ADMIN, startScriptedRunbookBot, VIEWER } from '../testing/scripted-runbook-bot.js';
import { ONCALL } from '../testing/slack-harness.js';
import { waitForRunState } from '../runbooks/testing/run-records.js';

const STACK = { kind: 'local' as const, description: 'local processes (deployments test)' };

let bot: GovernanceBot;
let people: ReturnType<typeof channelPeople>;

beforeAll(async () => {
  bot = await startScriptedRunbookBot({
    prefix: 'acgs_deployments',
    runbooks: (pool) => [scriptedRunbook(pool, 'deploy-drill', [{ id: 'prepare', title: 'Prepare the release' }, { id: 'roll', title: 'Roll out the new version' }], { level: 0, summary: 'Deploy drill' })],
    deploymentsFor: STACK,
  });
  people = channelPeople(bot.t);
}, 60_000);

afterAll(async () => {
  await bot?.close();
});

const pool = () => bot.trail.pool;
const recordCount = async () => (await pool().query<{ n: number }>('SELECT count(*)::int AS n FROM deployment_records')).rows[0]!.n;
const lockEvents = async () => (await pool().query('SELECT action, actor, reason FROM deploy_lock_events WHERE stack = $1 ORDER BY id', [stackKey(STACK)])).rows;

describe('releases', () => {
  it("records a service's initial version from its /health the first time it is seen, and lists every service", async () => {
    const { version } = await bot.engineClient.health();
    const answer = await people.type(VIEWER, 'releases', 'Releases');
    expect(answer.text).toContain(`policy-engine`);
    expect(answer.text).toContain(version);
    expect(answer.text).toContain('found running');
    expect(answer.text).toContain('stack start');
    // The three that do not answer have no record, and the answer says why.
    expect(answer.text).toContain('No record of what sandbox-controller, evolution-oversight, audit-engine run');
    const { rows } = await pool().query('SELECT service, version, kind, requested_by, run_id FROM deployment_records');
    expect(rows).toEqual([{ service: 'policy-engine', version, kind: 'initial', requested_by: 'stack start', run_id: null }]);

    // Seen once: listing again records nothing more.
    await people.type(VIEWER, 'releases', 'Releases');
    expect(await recordCount()).toBe(1);
  });

  it("shows one service's history", async () => {
    const answer = await people.type(VIEWER, 'releases policy-engine', 'Releases: policy-engine');
    expect(answer.text).toContain('Previous');
    expect(answer.text).toContain('none recorded');
    expect(answer.text).toMatch(/found running/);
  });

  it('refuses an unknown service with the closest one, privately, recording nothing', async () => {
    const before = await recordCount();
    const answer = await people.type(VIEWER, 'releases polcy-engine', 'is not a service');
    expect(answer.visibleTo).toBe(VIEWER);
    expect(answer.text).toContain('did you mean `policy-engine`?');
    expect(await recordCount()).toBe(before);
  });
});

describe('deploy status and deploy unlock', () => {
  it('say no deployment is in progress, and refuse to unlock a free lock', async () => {
    expect((await people.type(VIEWER, 'deploy status', 'Deploy status')).text).toContain('No deployment in progress');
    const refused = await people.type(ADMIN, 'deploy unlock the lock looks stuck to me', 'Nothing holds the deploy lock');
    expect(refused.visibleTo).toBe(ADMIN);
    expect(await lockEvents()).toEqual([]);
  });

  it("show who holds the lock and the run's current step; only an admin with a reason forces it open, on record", async () => {
    const runs = bot.runEngine!.runs;
    const run = await runs.submit({ runbook: 'deploy-drill', args: { holdMs: { roll: 30_000 } }, requester: ONCALL, origin: 'slash' });
    try {
      const lock = await bot.deployments!.acquire(run.id, 'deploy-drill', ONCALL);
      // The run reaches its second step and holds there.
      await vi.waitFor(
        async () => expect((await runs.get(run.id)).attempts.some((attempt) => attempt.stepId === 'roll' && attempt.outcome === 'running')).toBe(true),
        { timeout: 10_000, interval: 50 },
      );

      const status = await people.type(VIEWER, 'deploy status', 'Deploy status');
      expect(status.text).toContain(`A deploy-drill is in progress: ${ONCALL} holds the deploy lock since`);
      expect(status.text).toContain(run.id);
      expect(status.text).toContain('step 2 of 2: Roll out the new version, running since');
      expect(status.text).toContain('Run status');

      // Not an admin: the policy refuses, nothing runs.
      const notAdmin = await people.type(ONCALL, 'deploy unlock the lock looks stuck to me', 'deploy unlock: refused');
      expect(notAdmin.visibleTo).toBe(ONCALL);
      expect(notAdmin.text).toContain('deploy unlock: refused');
      expect(notAdmin.text).toContain('that the admins role may request; your roles: oncall');
      // No reason, or one too short: told what to type, nothing runs.
      for (const line of ['deploy unlock', 'deploy unlock stuck']) {
        const bad = await people.type(ADMIN, line, 'at least 10 characters');
        expect(bad.visibleTo).toBe(ADMIN);
      }
      expect(await bot.deployments!.lock()).toEqual(lock);
      expect(await lockEvents()).toEqual([{ action: 'acquire', actor: ONCALL, reason: null }]);

      const unlocked = await people.type(ADMIN, 'deploy unlock runner hung after a reboot, incident 42', 'Deploy lock forced open');
      expect(unlocked.text).toContain(`run abort ${run.id}`);
      expect(await bot.deployments!.lock()).toBeNull();
      expect((await lockEvents()).at(-1)).toEqual({ action: 'force-unlock', actor: ADMIN, reason: 'runner hung after a reboot, incident 42' });
      const recorded = await bot.services.trail!.query({ command: 'deploy unlock', user: ADMIN });
      expect(JSON.stringify(recorded.records)).toContain('runner hung after a reboot, incident 42');
      // The run goes on without the lock: the status shows it, not a free stack.
      const forced = await people.type(VIEWER, 'deploy status', 'Deploy status');
      expect(forced.text).not.toContain('No deployment in progress');
      expect(forced.text).toContain('The deploy lock is free, but a run whose lock was forced open is still running');
      expect(forced.text).toContain(`${run.id} (deploy-drill)`);
      expect(forced.text).toContain('runner hung after a reboot, incident 42');
      expect(forced.text).toContain('step 2 of 2: Roll out the new version, running since');
      await runs.abort(run.id, ADMIN);
      await waitForRunState(bot.runEngine!.store, run.id, FINAL_RUN_STATES, 10_000);
      expect((await people.type(VIEWER, 'deploy status', 'Deploy status')).text).toContain('No deployment in progress');
    } finally {
      await runs.abort(run.id, ADMIN).catch(() => undefined);
      await waitForRunState(bot.runEngine!.store, run.id, FINAL_RUN_STATES, 10_000);
    }
  });

  it('count a lock whose run ended as free', async () => {
    const runs = bot.runEngine!.runs;
    const run = await runs.submit({ runbook: 'deploy-drill', args: { holdMs: { prepare: 30_000 } }, requester: ONCALL, origin: 'slash' });
    await bot.deployments!.acquire(run.id, 'deploy-drill', ONCALL);
    expect((await people.type(VIEWER, 'deploy status', 'Deploy status')).text).toContain('is in progress');
    await runs.abort(run.id, ONCALL);
    await waitForRunState(bot.runEngine!.store, run.id, FINAL_RUN_STATES, 10_000);
    expect((await people.type(VIEWER, 'deploy status', 'Deploy status')).text).toContain('No deployment in progress');
  });
});
