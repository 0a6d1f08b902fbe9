/**
 * Gate steps end to end through Slack: a scripted runbook check -> gate (Level 2) -> act, started
 * with `/acgs run`, whose gate asks for `run pass` through the command path and waits, with the
 * request posted and voted with its buttons through the real Bolt HTTP receiver and the Slack
 * stand-in, the real policy, approval store, trail and runbook engine on the real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MARKS_TABLE_SQL } from '../../runbooks/engine/testing/database.js';
import { scriptedRunbook } from '../../runbooks/engine/testing/scripted-runbooks.js';
import { FINAL_RUN_STATES } from '../../runbooks/engine/run-store.js';
import { blockText, OPS, ONCALL } from '../testing/slack-harness.js';
import { channelPeople, startGovernanceBot, type GovernanceBot } from '../testing/governance-bot.js';
import { runTables, waitForRunState } from '../runbooks/testing/run-records.js';

const APPROVER1 = 'U0APPROVER1';
const APPROVER2 = 'U0APPROVER2';
const ADMIN = 'U0ADMIN';
const ROLES = { oncall: [ONCALL], approvers: [APPROVER1, APPROVER2], admins: [ADMIN] };

let bot: GovernanceBot;
let people: ReturnType<typeof channelPeople>;

beforeAll(async () => {
  bot = await startGovernanceBot({
    roles: ROLES,
    modesTtlMs: 0,
    extraUsers: [{ id: ADMIN, name: 'admin', realName: 'Ada Admin', roleLabel: 'admin' }],
    prefix: 'acgs_slack_gates',
    runbooks: async (pool) => {
      await pool.query(MARKS_TABLE_SQL);
      return [
        scriptedRunbook(
          pool,
          'gated-deploy',
          [
            { id: 'checks', kind: 'check', title: 'Checks pass' },
            { id: 'approve', kind: 'gate', title: 'An approver lets the deploy go on', gate: { level: 2, pollEveryMs: 50 } },
            { id: 'deploy', title: 'Deploy the new version' },
          ],
          { level: 1, summary: 'A deploy behind a gate' },
        ),
        scriptedRunbook(pool, 'plain', [{ id: 'only' }], { level: 1, summary: 'No gate' }),
      ];
    },
  });
  people = channelPeople(bot.t);
}, 60_000);

afterAll(async () => {
  await bot?.close();
});

const marks = async (runId: string) =>
  (await bot.trail.pool.query<{ step_id: string }>('SELECT step_id FROM runbook_test_marks WHERE run_id = $1 ORDER BY id', [runId])).rows.map((row) => row.step_id);
const requestCount = async () => (await bot.trail.pool.query<{ n: string }>('SELECT count(*) AS n FROM approval_requests')).rows[0]!.n;

async function startRun(runbook: string): Promise<string> {
  const started = await people.type(ONCALL, `run ${runbook}`, `Run started: ${runbook}`);
  const id = /Run ([0-9a-f-]{36}) /.exec(started.text)?.[1];
  if (!id) throw new Error(`no run id in ${started.text}`);
  return id;
}

/** The gate's request as posted in the channel: its message ts and request id. */
async function gateRequest(runId: string): Promise<{ ts: string; id: string; text: string }> {
  const posted = await bot.t.standIn.waitFor(
    () => bot.t.standIn.messages(OPS).find((message) => blockText(message.blocks).includes(`Approval: run pass ${runId} gated-deploy approve`)),
    10_000,
    `the gate's approval request for run ${runId}`,
  );
  const text = blockText(posted.blocks);
  const id = /Request `([0-9a-f-]{36})`/.exec(text)?.[1];
  if (!id) throw new Error(`no request id in ${text}`);
  return { ts: posted.ts, id, text };
}

describe('a gate step', () => {
  it('holds the act until an approver approves; the requester cannot approve; the request names the run and what it guards', async () => {
    const runId = await startRun('gated-deploy');
    const request = await gateRequest(runId);
    expect(request.text).toContain(runId);
    expect(request.text).toContain('gated-deploy');
    expect(request.text).toContain('Deploy the new version');
    expect(await bot.approvals.get(request.id)).toMatchObject({ requester: ONCALL, level: 2, approvalsRequired: 1, state: 'pending' });
    expect(await marks(runId)).toEqual(['checks']);
    expect((await bot.runEngine!.store.get(runId))?.state).toBe('running');

    await people.click(ONCALL, 'approve', request.ts);
    expect(await people.toldOnly(ONCALL, 'You requested this')).toContain('someone else must approve it');
    expect(await marks(runId), 'the requester approving changes nothing').toEqual(['checks']);

    await people.click(APPROVER1, 'approve', request.ts);
    expect(await waitForRunState(bot.runEngine!.store, runId, FINAL_RUN_STATES)).toMatchObject({ state: 'succeeded' });
    expect(await marks(runId)).toEqual(['checks', 'deploy']);
    const gate = (await bot.runEngine!.store.attempts(runId)).find((attempt) => attempt.stepId === 'approve')!;
    expect(gate.output).toEqual({ passed: true, request: request.id, approvedBy: [APPROVER1] });
    expect((await bot.approvals.get(request.id))?.state).toBe('executed');
  });

  it('stops the run for a decision when an approver denies, saying who; the act never runs', async () => {
    const runId = await startRun('gated-deploy');
    const request = await gateRequest(runId);
    await people.click(APPROVER2, 'deny', request.ts);
    const stopped = await waitForRunState(bot.runEngine!.store, runId, ['needs_decision']);
    expect(JSON.stringify(stopped.detail)).toContain(`the approval was denied by ${APPROVER2}`);
    expect(await marks(runId)).toEqual(['checks']);
    await people.type(ONCALL, `run decide ${runId} skip`, 'skip');
    expect((await bot.runEngine!.store.get(runId))?.state, 'a gate is never skipped').toBe('needs_decision');
    await people.type(ONCALL, `run abort ${runId}`, 'Abort requested');
    expect(await waitForRunState(bot.runEngine!.store, runId, FINAL_RUN_STATES)).toMatchObject({ state: 'aborted' });
    expect(await marks(runId)).toEqual(['checks']);
  });
});

describe('run pass typed by hand', () => {
  it('is refused for an unknown run, a run of another runbook, a step that is no gate, and a gate that is not waiting; nothing changes', async () => {
    const plainRun = await startRun('plain');
    await waitForRunState(bot.runEngine!.store, plainRun, FINAL_RUN_STATES);
    const before = { tables: await runTables(bot.trail.pool), requests: await requestCount() };

    const unknown = await people.type(ONCALL, 'run pass 00000000-0000-4000-8000-000000000000 gated-deploy approve', 'run');
    expect(unknown.text).toMatch(/no run|unknown/i);
    const foreign = await people.type(ONCALL, `run pass ${plainRun} gated-deploy approve`, 'not of gated-deploy');
    expect(foreign.text).toContain(`is a run of plain, not of gated-deploy`);
    const noGate = await people.type(ONCALL, `run pass ${plainRun} plain only`, 'no gate step');
    expect(noGate.text).toContain('has no gate step "only"');
    const finished = (await bot.runEngine!.store.recent(50)).find((run) => run.runbook === 'gated-deploy' && run.state === 'succeeded')!;
    const notWaiting = await people.type(ONCALL, `run pass ${finished.id} gated-deploy approve`, 'not waiting');
    expect(notWaiting.text).toContain('is not waiting for approvers');
    const badId = await people.type(ONCALL, 'run pass 12345 gated-deploy approve', 'not a run id');
    expect(badId.text).toContain('is not a run id');

    expect({ tables: await runTables(bot.trail.pool), requests: await requestCount() }).toEqual(before);
  });
});
