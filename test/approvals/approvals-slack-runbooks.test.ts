/**
 * Runbook runs decided at the runbook's own level, end to end through Slack: typed as `/acgs`
 * slash commands and approved with the request message's buttons, through the real Bolt HTTP
 * receiver and the Slack stand-in, with the real authorization policy (wasm), the approval store,
 * the audit trail and the runbook engine on the real PostgreSQL (test/testing/governance-bot.ts).
 * A Level 3 runbook waits for two different approvers and shows its plan; a plan that changed
 * before the last approval supersedes the request and starts nothing; a Level 0 runbook runs for
 * anyone; `can` answers with the runbook's level.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { scriptedRunbook } from '../../runbooks/engine/testing/scripted-runbooks.js';
import { FINAL_RUN_STATES } from '../../runbooks/engine/run-store.js';
import { channelPeople, type GovernanceBot } from '../testing/governance-bot.js';
import { ADMIN, APPROVER1, APPROVER2, startScriptedRunbookBot, VIEWER } from '../testing/scripted-runbook-bot.js';
import { ONCALL } from '../testing/slack-harness.js';
import { runTables, waitForRunState } from '../runbooks/testing/run-records.js';

/** What the replace step of `restore-drill` would act on: the plan-change test moves it. */
let replaceTarget = 'database acgs';
/** Every dry run finds a bigger dump: evidence, which must not supersede a request. */
let dumps = 0;
/** Called by the replace step's dry run, once the plan has taken its runbook's version. */
let duringReplaceDryRun = () => {};

/** `restore-drill`'s steps; another title for the replace step is other code (another version). */
const drillSteps = (replaceTitle = 'Replace the database') => [
  { id: 'take-backup', title: 'Take a backup first', dryRun: () => ({ mode: 'read-only-check' as const, text: `would dump acgs (${(dumps += 1) * 100} kB now)`, target: 'database acgs' }) },
  {
    id: 'replace',
    title: replaceTitle,
    idempotent: false,
    dryRun: () => {
      duringReplaceDryRun();
      return { mode: 'description' as const, text: 'would replace it from the backup', target: replaceTarget };
    },
  },
];

let bot: GovernanceBot;
let people: ReturnType<typeof channelPeople>;

beforeAll(async () => {
  bot = await startScriptedRunbookBot({
    prefix: 'acgs_slack_runbooks',
    runbooks: (pool) => [
      scriptedRunbook(pool, 'restore-drill', drillSteps(), { level: 3, summary: 'Restore drill' }),
      scriptedRunbook(pool, 'look-around', [{ id: 'look', kind: 'check' }], { level: 0, summary: 'Looks around' }),
      // The short form `backup` is decided at this runbook's level, not the command's Level 1.
      scriptedRunbook(pool, 'backup', [{ id: 'dump' }], { level: 2, summary: 'A stricter backup' }),
      // `rollback` picks its runbook from its arguments: with a backup, the Level 3 one.
      scriptedRunbook(pool, 'rollback', [{ id: 'back' }], { level: 2, summary: 'Rolls back' }),
      scriptedRunbook(pool, 'rollback-restore', [{ id: 'restore-and-back' }], { level: 3, summary: 'Restores and rolls back' }),
    ],
  });
  people = channelPeople(bot.t);
}, 60_000);

afterAll(async () => {
  await bot?.close();
});

beforeEach(() => {
  replaceTarget = 'database acgs';
});

const tables = () => runTables(bot.trail.pool);
const marks = async () => (await bot.trail.pool.query<{ step_id: string }>('SELECT step_id FROM runbook_test_marks ORDER BY id')).rows.map((row) => row.step_id);

async function runsOf(runbook: string) {
  return (await bot.runEngine!.store.recent(50)).filter((run) => run.runbook === runbook);
}

describe('a Level 3 runbook', () => {
  it('shows its plan, refuses the requester, and runs only after two different approvers', async () => {
    const before = await tables();
    const { ts, id } = await people.request(ADMIN, 'run restore-drill');
    const shown = people.messageText(ts);
    expect(shown).toContain('Level 3 (critical)');
    expect(shown).toContain('0 of 2 approved');
    expect(shown).toContain('1. Take a backup first (act on database acgs); checked (read-only): would dump acgs');
    expect(shown).toContain('2. Replace the database (act on database acgs); description only: would replace it from the backup');
    expect(shown).toMatch(/plan [0-9a-f]{32} · restore-drill@[0-9a-f]{16}/);
    const request = await bot.approvals.get(id);
    expect(request).toMatchObject({ level: 3, approvalsRequired: 2, approverRoles: ['approvers', 'admins'], distinctApprovers: true, action: { target: 'runbook restore-drill' } });
    expect(request!.action.plan).toHaveLength(2);

    await people.click(ADMIN, 'approve', ts);
    expect(await people.toldOnly(ADMIN, 'You requested this')).toContain('someone else must approve it');
    await people.click(APPROVER1, 'approve', ts);
    await people.untilMessage(ts, '1 of 2 approved');
    await people.click(APPROVER1, 'approve', ts);
    await people.toldOnly(APPROVER1, 'Already counted');
    expect(await tables(), 'no run before the second approval').toEqual(before);
    expect(await runsOf('restore-drill')).toEqual([]);

    await people.click(APPROVER2, 'approve', ts);
    await people.untilMessage(ts, 'Run started: restore-drill');
    const [run] = await runsOf('restore-drill');
    // Its steps see who let it start (StepContext.approvedBy), whichever runner runs them.
    expect(run).toMatchObject({ requester: ADMIN, origin: 'approval', approvedBy: [APPROVER1, APPROVER2] });
    expect(await waitForRunState(bot.runEngine!.store, run!.id, FINAL_RUN_STATES)).toMatchObject({ state: 'succeeded' });
    expect(await marks()).toEqual(['take-backup', 'replace']);
    expect((await bot.approvals.get(id))?.approvedBy).toEqual([APPROVER1, APPROVER2]);
  });

  it('is superseded, saying which step changed, and starts no run when its plan changed before the last approval', async () => {
    const { ts, id } = await people.request(ONCALL, 'run restore-drill');
    await people.click(APPROVER1, 'approve', ts);
    await people.untilMessage(ts, '1 of 2 approved');
    const before = await tables();
    const runsBefore = (await runsOf('restore-drill')).length;

    replaceTarget = 'database acgs_restored';
    await people.click(APPROVER2, 'approve', ts);
    const text = await people.untilMessage(ts, 'the plan changed since the request');
    expect(text).toContain('what step 2 (Replace the database, now on database acgs_restored) would do changed');
    expect(await bot.approvals.get(id)).toMatchObject({ state: 'superseded', endedReason: expect.stringContaining('what step 2 (Replace the database, now on database acgs_restored) would do changed') });
    expect(await tables()).toEqual(before);
    expect(await runsOf('restore-drill')).toHaveLength(runsBefore);
    const { records } = await bot.trail.trail.query({ command: 'run', kind: 'approval_resolved', limit: 50 });
    expect(records.find((record) => (record.details as { request_id?: string }).request_id === id)).toMatchObject({ outcome: 'superseded' });
  });

  it("is superseded, naming both versions, and starts no run when the runbook's code changed between the last plan and the start", async () => {
    const { ts, id } = await people.request(ONCALL, 'run restore-drill');
    await people.click(APPROVER1, 'approve', ts);
    await people.untilMessage(ts, '1 of 2 approved');
    const before = await tables();
    const runsBefore = (await runsOf('restore-drill')).length;
    const registry = bot.runEngine!.registry;
    const approved = registry.current('restore-drill');
    const changed = scriptedRunbook(bot.trail.pool, 'restore-drill', drillSteps('Replace the database, new code'), { level: 3, summary: 'Restore drill' });
    expect(changed.version).not.toBe(approved.version);
    // The plan made at the last approval is the approved one; the new code arrives before the start.
    duringReplaceDryRun = () => {
      duringReplaceDryRun = () => {};
      registry.register(changed);
    };
    try {
      await people.click(APPROVER2, 'approve', ts);
      const text = await people.untilMessage(ts, 'the plan changed since the request');
      expect(text).toContain(`is version ${changed.version} now, not version ${approved.version} its plan was made and approved for`);
      expect(text).not.toContain('Run started');
      expect(await bot.approvals.get(id)).toMatchObject({ state: 'superseded', endedReason: expect.stringContaining(`not version ${approved.version}`) });
      expect(await runsOf('restore-drill')).toHaveLength(runsBefore);
      expect(await tables()).toEqual(before);
      const { records } = await bot.trail.trail.query({ command: 'run', kind: 'approval_resolved', limit: 50 });
      expect(records.find((record) => (record.details as { request_id?: string }).request_id === id)).toMatchObject({ outcome: 'superseded' });
    } finally {
      duringReplaceDryRun = () => {};
      registry.register(approved);
    }
  });

  it('is not superseded by evidence that changes between two dry runs (sizes, ages)', async () => {
    const { ts } = await people.request(ONCALL, 'run restore-drill');
    await people.click(APPROVER1, 'approve', ts);
    await people.untilMessage(ts, '1 of 2 approved');
    const dumpsSeen = dumps;
    await people.click(APPROVER2, 'approve', ts);
    const text = await people.untilMessage(ts, 'Run started: restore-drill');
    expect(dumps, 'the plan was made again at the last approval, with other evidence').toBeGreaterThan(dumpsSeen);
    // Finished before the next test, whose refusal must see no row change at all.
    const id = /Run ([0-9a-f-]{36}) /.exec(text)?.[1];
    expect(await waitForRunState(bot.runEngine!.store, id!, FINAL_RUN_STATES)).toMatchObject({ state: 'succeeded', requester: ONCALL });
  });
});

describe('bad input to an escalated run', () => {
  it('answers arguments the runbook refuses before any request or run exists', async () => {
    const requests = async () => (await bot.trail.pool.query<{ n: string }>('SELECT count(*) AS n FROM approval_requests')).rows[0]!.n;
    const before = { tables: await tables(), requests: await requests() };
    const answer = await people.type(ONCALL, 'run restore-drill stepMs=soon', 'not valid');
    expect(answer.text).toContain('The arguments for "restore-drill" are not valid');
    expect(answer.visibleTo).toBe(ONCALL);
    expect({ tables: await tables(), requests: await requests() }).toEqual(before);
  });
});

describe('can', () => {
  it("answers with the runbook's level and approver roles, for run and for a short form", async () => {
    const run = await people.type(ONCALL, 'can run restore-drill', 'restore-drill');
    expect(run.text).toContain('Level 3 (critical)');
    expect(run.text).toContain('2 approvals from different people holding `approvers` or `admins` (not you)');
    expect(run.text).toContain('runbook "restore-drill" is a Level 3 (critical) action');

    const short = await people.type(ONCALL, 'can backup', 'backup');
    expect(short.text).toContain('Level 2 (human decision)');
    expect(short.text).toContain('runbook "backup" is a Level 2 (human decision) action');

    const rollback = await people.type(ONCALL, 'can rollback policy-engine', 'rollback');
    expect(rollback.text).toContain('runbook "rollback" is a Level 2 (human decision) action');
    const withBackup = await people.type(ONCALL, 'can rollback --backup 20261206T152000Z-a1b2c3', 'rollback-restore');
    expect(withBackup.text).toContain('runbook "rollback-restore" is a Level 3 (critical) action');
    expect(withBackup.text).toContain('2 approvals from different people holding `approvers` or `admins` (not you)');

    const dry = await people.type(VIEWER, 'can run restore-drill --dry-run', 'restore-drill');
    expect(dry.text).toContain('the dry run of runbook "restore-drill" is a read-only command; everyone may run it.');
  });
});

describe('a Level 0 runbook', () => {
  it('runs at once for a user with no role; a Level 3 one is refused for them, naming it', async () => {
    const started = await people.type(VIEWER, 'run look-around', 'Run started: look-around');
    const id = /Run ([0-9a-f-]{36}) /.exec(started.text)?.[1];
    expect(id).toBeDefined();
    expect(await waitForRunState(bot.runEngine!.store, id!, FINAL_RUN_STATES)).toMatchObject({ state: 'succeeded', requester: VIEWER });

    const before = await tables();
    const refused = await people.type(VIEWER, 'run restore-drill', 'refused');
    expect(refused.text).toContain('runbook "restore-drill" is a Level 3 (critical) action that the oncall or admins role may request; you hold no role.');
    expect(await tables()).toEqual(before);
  });
});
