/**
 * A runbook run started in an incident's channel, on the incident's timeline, with the real bot
 * (Bolt's HTTP receiver, the command path, the policy, the approval store, the runbook engine) on
 * the Slack stand-in and the real PostgreSQL: each step's start and end at their original times,
 * once however often the run is looked at (the engine's hook, the command, two at once); the
 * approval of a Level 2 run; and nothing for a run started in a channel that is no incident's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandIncidents, createIncidentStore, incidentCommandTimeline, incidentRunTimeline, migrateIncidentStore, type IncidentStore, type RunTimeline } from '../../bot/incidents/index.js';
import { MARKS_TABLE_SQL } from '../../runbooks/engine/testing/database.js';
import { scriptedRunbook } from '../../runbooks/engine/testing/scripted-runbooks.js';
import { channelPeople, startGovernanceBot, type GovernanceBot } from '../testing/governance-bot.js';
import { blockText, ONCALL, OPS } from '../testing/slack-harness.js';

const APPROVER = 'U0APPROVER1';
/** Another channel of the stand-in's workspace, no incident's. */
const ELSEWHERE = 'C0ACGSALERT';

let gov: GovernanceBot;
let incidents: IncidentStore;
let runTimeline: RunTimeline | undefined;

beforeAll(async () => {
  gov = await startGovernanceBot({
    roles: { oncall: [ONCALL], approvers: [APPROVER], admins: [] },
    modesTtlMs: 0,
    prefix: 'acgs_run_timeline',
    runbooks: async (pool) => {
      await pool.query(MARKS_TABLE_SQL);
      return [
        scriptedRunbook(pool, 'triage', [{ id: 'look' }, { id: 'fix' }, { id: 'check' }]),
        scriptedRunbook(pool, 'mitigate', [{ id: 'shed-load' }], { level: 2 }),
        scriptedRunbook(pool, 'gated', [{ id: 'checks', kind: 'check' }, { id: 'approve', kind: 'gate', title: 'An approver lets it go on', gate: { level: 2, pollEveryMs: 50 } }, { id: 'act' }]),
      ];
    },
    onStepRecorded: async (runId) => runTimeline?.runChanged(runId),
  });
  await migrateIncidentStore(gov.trail.pool);
  incidents = createIncidentStore(gov.trail.pool);
  runTimeline = incidentRunTimeline({ incidents, runs: gov.runEngine!.store, approvals: gov.approvals });
  gov.services.incidents = commandIncidents(incidents, { timezone: 'UTC' });
  gov.services.afterCommand = incidentCommandTimeline(incidents, { runs: runTimeline });
}, 60_000);
afterAll(async () => {
  await gov?.close();
});

async function until<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function finishedRun(runbook: string): Promise<string> {
  return until(async () => {
    const run = (await gov.runEngine!.store.recent(20)).find((candidate) => candidate.runbook === runbook && candidate.state === 'succeeded');
    return run?.id;
  }, `a finished ${runbook} run`);
}

describe('runs in an incident channel', () => {
  it("puts each step's start and end on the incident's timeline at their original times, once; a run elsewhere puts nothing", async () => {
    const people = channelPeople(gov.t, OPS);
    await people.type(ONCALL, 'incident declare sev2 Policy Engine slow', 'INC-1 declared');
    await people.type(ONCALL, 'run triage', 'triage');
    const runId = await finishedRun('triage');
    const steps = await until(async () => {
      const entries = (await incidents.timeline('INC-1')).filter((entry) => entry.kind === 'runbook-step');
      return entries.length === 6 ? entries : undefined;
    }, 'six step entries');
    const attempts = await gov.runEngine!.store.attempts(runId);
    expect(steps.map((entry) => entry.text)).toEqual([
      'triage step 1 look started',
      expect.stringMatching(/^triage step 1 look done in \d+\.\d s$/),
      'triage step 2 fix started',
      expect.stringMatching(/^triage step 2 fix done in /),
      'triage step 3 check started',
      expect.stringMatching(/^triage step 3 check done in /),
    ]);
    // The times the steps happened, not when the timeline learnt of them.
    expect(steps.map((entry) => entry.occurredAt.getTime())).toEqual(attempts.flatMap((attempt) => [attempt.startedAt.getTime(), attempt.finishedAt!.getTime()]));
    expect(new Set(steps.map((entry) => entry.reference))).toEqual(new Set([`run:${runId}`]));
    expect(steps.every((entry) => entry.actor === ONCALL)).toBe(true);
    const command = (await incidents.timeline('INC-1')).filter((entry) => entry.kind === 'command');
    expect(command).toEqual([expect.objectContaining({ reference: `run:${runId}` })]);

    // Looked at again, twice at once (two replicas, a redelivered hook): nothing new.
    await Promise.all([runTimeline!.runChanged(runId), runTimeline!.runChanged(runId), runTimeline!.recordRun('INC-1', runId)]);
    expect((await incidents.timeline('INC-1')).filter((entry) => entry.kind === 'runbook-step')).toHaveLength(6);

    // The same runbook asked for in a channel that is no incident's.
    const before = (await incidents.timeline('INC-1')).length;
    await channelPeople(gov.t, ELSEWHERE).type(ONCALL, 'run triage', 'triage');
    await until(async () => ((await gov.runEngine!.store.recent(20)).filter((run) => run.runbook === 'triage' && run.state === 'succeeded').length === 2 ? true : undefined), 'the second run');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await incidents.timeline('INC-1')).toHaveLength(before);
  }, 60_000);

  it('puts the approval of a Level 2 run on the timeline: requested, approved, then its steps', async () => {
    const people = channelPeople(gov.t, OPS);
    const request = await people.request(ONCALL, 'run mitigate');
    await people.click(APPROVER, 'approve', request.ts);
    const runId = await finishedRun('mitigate');
    const approvals = await until(async () => {
      const entries = (await incidents.timeline('INC-1')).filter((entry) => entry.kind === 'approval');
      return entries.length === 2 ? entries : undefined;
    }, 'two approval entries');
    expect(approvals.map((entry) => [entry.actor, entry.text, entry.reference])).toEqual([
      [ONCALL, 'approval requested for /acgs run mitigate (Level 2, 1 approval)', `approval:${request.id}`],
      [APPROVER, 'approved /acgs run mitigate', `approval:${request.id}`],
    ]);
    const steps = await until(async () => {
      const entries = (await incidents.timeline('INC-1')).filter((entry) => entry.kind === 'runbook-step' && entry.reference === `run:${runId}`);
      return entries.length === 2 ? entries : undefined;
    }, 'the approved run steps');
    expect(steps.map((entry) => entry.text)).toEqual(['mitigate step 1 shed-load started', expect.stringMatching(/^mitigate step 1 shed-load done in /)]);
    expect(approvals[1]!.occurredAt.getTime()).toBeLessThanOrEqual(steps[0]!.occurredAt.getTime());
  }, 60_000);

  it("puts a gate step's approval mid-run on the timeline beside the run's steps", async () => {
    const people = channelPeople(gov.t, OPS);
    await people.type(ONCALL, 'run gated', 'gated');
    const runId = await until(async () => (await gov.runEngine!.store.recent(20)).find((run) => run.runbook === 'gated')?.id, 'the gated run');
    const request = await gov.t.standIn.waitFor(() => gov.t.standIn.messages(OPS).find((message) => blockText(message.blocks).includes(`Approval: run pass ${runId} gated approve`)), 10_000, 'the gate request');
    const id = /Request `([0-9a-f-]{36})`/.exec(blockText(request.blocks))![1]!;
    await people.click(APPROVER, 'approve', request.ts);
    await finishedRun('gated');
    const approvals = await until(async () => {
      const entries = (await incidents.timeline('INC-1')).filter((entry) => entry.kind === 'approval' && entry.reference === `approval:${id}`);
      return entries.length === 2 ? entries : undefined;
    }, "the gate's approval entries");
    expect(approvals.map((entry) => entry.actor)).toEqual([ONCALL, APPROVER]);
    const steps = await until(async () => {
      const entries = (await incidents.timeline('INC-1')).filter((entry) => entry.kind === 'runbook-step' && entry.reference === `run:${runId}`);
      return entries.length === 6 ? entries : undefined;
    }, 'the gated run steps');
    expect(steps.map((entry) => entry.text.replace(/ in [0-9.]+ s$/, ''))).toEqual([
      'gated step 1 checks started',
      'gated step 1 checks done',
      'gated step 2 approve started',
      'gated step 2 approve done',
      'gated step 3 act started',
      'gated step 3 act done',
    ]);
  }, 60_000);
});
