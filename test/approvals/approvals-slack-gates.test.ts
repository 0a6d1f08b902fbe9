/**
 * Gate steps end to end through Slack: a scripted runbook check -> gate (Level 2) -> act, started
 * with `/acgs run`, whose gate asks for `run pass` through the command path and waits, with the
 * request posted and voted with its buttons through the real Bolt HTTP receiver and the Slack
 * stand-in, the real policy, approval store, trail and runbook engine on the real PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MARKS_TABLE_SQL } from '../../runbooks/engine/testing/database.js';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { followRun } from '../../bot/cli-follow.js';
import { decideOnApproval } from '../../bot/command-path/index.js';
import { closeGatesForAbort, createGateApprovals } from '../../bot/runbook-runs/gate-approvals.js';
import type { ApprovalStore } from '../../bot/approvals/index.js';
import { slackGateRequests } from '../../bot/slack/gate-requests.js';
import { createCommandRegistry } from '../../commands/index.js';
import { createGateStore } from '../../runbooks/engine/gate-store.js';
import { createRunExecutor } from '../../runbooks/engine/run-executor.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { gateRunbooks } from './testing/gate-runbooks.js';
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
      return gateRunbooks(pool);
    },
  });
  people = channelPeople(bot.t);
}, 60_000);

const children: ChildProcessWithoutNullStreams[] = [];
const runnerStateDirs: string[] = [];
afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await bot?.close();
  for (const dir of runnerStateDirs) rmSync(dir, { recursive: true, force: true });
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
async function gateRequest(runId: string, runbook = 'gated-deploy'): Promise<{ ts: string; id: string; text: string }> {
  const posted = await bot.t.standIn.waitFor(
    () => bot.t.standIn.messages(OPS).find((message) => blockText(message.blocks).includes(`Approval: run pass ${runId} ${runbook} approve`)),
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
    const skip = await people.type(ONCALL, `run decide ${runId} skip`, 'cannot be skipped');
    expect(skip.text).toContain('it is a gate, passed only by its approvers');
    expect((await bot.runEngine!.store.get(runId))?.state, 'a gate is never skipped').toBe('needs_decision');
    await people.type(ONCALL, `run abort ${runId}`, 'Abort requested');
    expect(await waitForRunState(bot.runEngine!.store, runId, FINAL_RUN_STATES)).toMatchObject({ state: 'aborted' });
    expect(await marks(runId)).toEqual(['checks']);
  });
});

describe('a gate that says how many approvers it needs', () => {
  it('asks for that many, more than its level gives, and the run goes on only after the last of them', async () => {
    const runId = await startRun('two-eyes');
    const request = await gateRequest(runId, 'two-eyes');
    expect(await bot.approvals.get(request.id)).toMatchObject({ level: 2, approvalsRequired: 2, distinctApprovers: true, state: 'pending' });
    expect(request.text).toContain('0 of 2 approved');
    expect(request.text).toContain('at least 2 approvals');
    await people.click(APPROVER1, 'approve', request.ts);
    await people.untilMessage(request.ts, '1 of 2 approved');
    expect(await marks(runId), 'one approval of two lets nothing through').toEqual([]);
    expect((await bot.runEngine!.store.get(runId))?.state).toBe('running');
    await people.click(APPROVER2, 'approve', request.ts);
    expect(await waitForRunState(bot.runEngine!.store, runId, FINAL_RUN_STATES)).toMatchObject({ state: 'succeeded' });
    expect(await marks(runId)).toEqual(['change']);
  });
});

describe('aborting a run whose gate waits', () => {
  it('cancels the gate\'s request, its message says the abort cancelled it, and a late approval lets nothing run', async () => {
    const runId = await startRun('gated-deploy');
    const request = await gateRequest(runId);
    await people.type(ADMIN, `run abort ${runId}`, 'Abort requested');
    expect(await waitForRunState(bot.runEngine!.store, runId, FINAL_RUN_STATES)).toMatchObject({ state: 'aborted' });
    expect(await bot.approvals.get(request.id)).toMatchObject({ state: 'cancelled', endedBy: ADMIN, endedReason: `its run ${runId} was aborted` });
    const shown = await people.untilMessage(request.ts, `its run ${runId} was aborted`);
    expect(shown).toContain('Cancelled by');
    expect(people.buttonsOf(request.ts), 'a cancelled request has no buttons').toEqual([]);

    // A vote that arrives anyway (a stale client) is refused with why.
    const late = await decideOnApproval({ registry: createCommandRegistry(), services: bot.services }, { id: request.id, choice: 'approve', actor: { id: APPROVER1 } });
    expect(late).toMatchObject({ code: 'closed', changed: false });
    expect(JSON.stringify(late.sentence)).toContain(`its run ${runId} was aborted`);
    expect(await marks(runId)).toEqual(['checks']);
    expect((await bot.approvals.get(request.id))?.state).toBe('cancelled');
  });
});

describe('run pass typed by hand while the gate waits', () => {
  it('makes no second request: it says which request the gate waits on and where; an approval of that one lets the run go on', async () => {
    const runId = await startRun('gated-deploy');
    const request = await gateRequest(runId);
    const line = `run pass ${runId} gated-deploy approve`;
    const before = await requestCount();
    for (const who of [ONCALL, ADMIN]) {
      const answer = await people.type(who, line, 'already waits on approval request');
      expect(answer.text).toContain(request.id);
      expect(answer.text).toContain(`posted in channel ${OPS}`);
      expect(answer.text).toContain('no second request was made');
    }
    expect(await requestCount()).toBe(before);
    expect((await bot.trail.pool.query('SELECT id FROM approval_requests WHERE line = $1', [line])).rows).toEqual([{ id: request.id }]);

    // What `npx acgs run` reads to follow the run (the port the control channel relays) says so too.
    expect((await bot.runEngine!.runs.get(runId)).gate).toEqual({ stepId: 'approve', request: { id: request.id, state: 'pending', approvalsRequired: 1, approvedBy: [], channels: [OPS] } });
    const told: string[] = [];
    const following = new AbortController();
    await followRun({ runs: bot.runEngine!.runs, runId, pollMs: 20, signal: following.signal, report: (said) => (told.push(said.text), said.text.startsWith('Waiting for approvers') && following.abort()) });
    expect(told).toContain(`Waiting for approvers at "An approver lets the deploy go on": approval request ${request.id} (1 approval needed, pending); approvers vote with its buttons in channel ${OPS}`);

    await people.click(APPROVER1, 'approve', request.ts);
    expect(await waitForRunState(bot.runEngine!.store, runId, FINAL_RUN_STATES)).toMatchObject({ state: 'succeeded' });
    expect(await marks(runId)).toEqual(['checks', 'deploy']);
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

describe('a runner SIGKILLed while its gate waits', () => {
  it('leaves the request to the next runner, which waits on the same one (no second request); the approval lets the run go on', async () => {
    // Only the runner process runs runs from here on.
    await bot.runEngine!.executor.stop();
    const stateDir = mkdtempSync(join(tmpdir(), 'acgs-gate-runner-'));
    runnerStateDirs.push(stateDir);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('./testing/gate-runner-process.ts', import.meta.url)),
        JSON.stringify({ databaseUrl: bot.database.url, stateDir, owner: 'runner-a', leaseMs: 2000, renewEveryMs: 200, scanEveryMs: 100, policyEngineUrl: bot.engine.url, unusedUrl: await unusedLoopbackUrl(), roles: ROLES }),
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    children.push(child);
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const run = await bot.runEngine!.runs.submit({ runbook: 'gated-deploy', args: {}, requester: ONCALL, origin: 'slash' });
    const line = `run pass ${run.id} gated-deploy approve`;
    const requestsFor = async () => (await bot.trail.pool.query<{ id: string; state: string }>("SELECT id::text AS id, state FROM approval_requests WHERE line = $1", [line])).rows;
    const until = async <T>(read: () => Promise<T>, done: (value: T) => boolean, what: string): Promise<T> => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const value = await read();
        if (done(value)) return value;
        if (Date.now() > deadline) throw new Error(`${what} did not happen; runner stderr: ${errors}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const [asked] = await until(requestsFor, (rows) => rows.length === 1, 'the gate asking in runner A');
    expect(asked!.state).toBe('pending');
    expect(await marks(run.id)).toEqual(['checks']);
    const heldBy = (await bot.runEngine!.store.get(run.id))!.leaseOwner;
    expect(heldBy).toBe('runner-a');

    child.kill('SIGKILL');
    await once(child, 'exit');

    // The next runner: this process again, with the bot's gates as main.ts wires them.
    const pool = bot.trail.pool;
    const gates = createGateApprovals({
      runs: bot.runEngine!.store,
      gates: createGateStore(pool),
      ...slackGateRequests({ execution: { registry: createCommandRegistry(), services: bot.services }, approvals: bot.approvals, client: () => bot.t.bot.webClient, places: async () => [{ channel: OPS }] }),
    });
    const next = createRunExecutor({ store: bot.runEngine!.store, registry: bot.runEngine!.registry, owner: 'runner-b', leaseMs: 2000, renewEveryMs: 200, scanEveryMs: 100, ports: { gates } });
    next.start();
    try {
      const attempts = async () => (await bot.runEngine!.store.attempts(run.id)).filter((attempt) => attempt.stepId === 'approve').map((attempt) => `${attempt.attempt} ${attempt.outcome} ${attempt.owner.split('/')[0]}`);
      await until(attempts, (rows) => rows.includes('2 running runner-b'), 'the takeover of the gate');
      expect(await attempts()).toContain('1 interrupted runner-a');
      // Runner B had its look at the same request: still one, still pending, and one gate row.
      expect(await requestsFor()).toEqual([{ id: asked!.id, state: 'pending' }]);
      expect((await pool.query('SELECT request_id FROM runbook_gates WHERE run_id = $1', [run.id])).rows).toEqual([{ request_id: asked!.id }]);
      expect(await marks(run.id)).toEqual(['checks']);

      const voted = await decideOnApproval({ registry: createCommandRegistry(), services: bot.services }, { id: asked!.id, choice: 'approve', actor: { id: APPROVER1 } });
      expect(voted.code).toBe('executed');
      expect(await waitForRunState(bot.runEngine!.store, run.id, FINAL_RUN_STATES, 20_000)).toMatchObject({ state: 'succeeded' });
      expect(await marks(run.id)).toEqual(['checks', 'deploy']);
      expect(await requestsFor()).toEqual([{ id: asked!.id, state: 'executed' }]);
    } finally {
      await next.stop();
    }
  }, 60_000);
});

describe('a runner that dies between the gate\'s two writes (its id kept, its request made)', () => {
  /**
   * Runner A keeps the gate's request id, then "dies" at `where`: its ask never returns (nothing
   * after it runs in A) and A is stopped, handing the run back; runner B takes the run over with
   * the bot's gates as main.ts wires them. `zombie` is A's ask if it wakes up late (before-create).
   */
  async function dieAt(where: 'before-create' | 'after-create') {
    await bot.runEngine!.executor.stop();
    const pool = bot.trail.pool;
    const asking = () => slackGateRequests({ execution: { registry: createCommandRegistry(), services: bot.services }, approvals: bot.approvals, client: () => bot.t.bot.webClient, places: async () => [{ channel: OPS }] });
    const { ask, ...rest } = asking();
    let wake!: () => void;
    const woken = new Promise<void>((resolve) => (wake = resolve));
    let zombie: Promise<unknown> | undefined;
    const dying = createGateApprovals({
      runs: bot.runEngine!.store,
      gates: createGateStore(pool),
      ...rest,
      async ask(line, run, approvalId) {
        if (where === 'after-create') await ask(line, run, approvalId);
        else await woken.then(() => (zombie = ask(line, run, approvalId)));
        return new Promise<never>(() => undefined);
      },
    });
    const runnerA = createRunExecutor({ store: bot.runEngine!.store, registry: bot.runEngine!.registry, owner: 'runner-a', leaseMs: 2000, renewEveryMs: 200, scanEveryMs: 100, ports: { gates: dying } });
    runnerA.start();
    const run = await bot.runEngine!.runs.submit({ runbook: 'gated-deploy', args: {}, requester: ONCALL, origin: 'slash' });
    const line = `run pass ${run.id} gated-deploy approve`;
    const requestsFor = async () => (await pool.query<{ id: string; state: string }>('SELECT id::text AS id, state FROM approval_requests WHERE line = $1', [line])).rows;
    const gateRows = async () => (await pool.query<{ request_id: string }>('SELECT request_id FROM runbook_gates WHERE run_id = $1', [run.id])).rows.map((row) => row.request_id);
    const until = async (done: () => Promise<boolean>, what: string) => {
      const deadline = Date.now() + 10_000;
      while (!(await done())) {
        if (Date.now() > deadline) throw new Error(`${what} did not happen`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    if (where === 'after-create') await until(async () => (await requestsFor()).length === 1, 'the request of runner A');
    else await until(async () => (await gateRows()).length === 1, 'the id kept by runner A');
    const kept = await gateRows();
    await runnerA.stop();
    const runnerB = createRunExecutor({
      store: bot.runEngine!.store,
      registry: bot.runEngine!.registry,
      owner: 'runner-b',
      leaseMs: 2000,
      renewEveryMs: 200,
      scanEveryMs: 100,
      ports: { gates: createGateApprovals({ runs: bot.runEngine!.store, gates: createGateStore(pool), ...asking() }) },
    });
    runnerB.start();
    return { run, kept, requestsFor, gateRows, runnerB, wake, zombie: () => zombie };
  }

  it('after the request was made: the next runner waits on it and shows it, no second request; its approval lets the run go on', async () => {
    const { run, kept, requestsFor, gateRows, runnerB } = await dieAt('after-create');
    try {
      // Nobody showed it before A died: B does, once.
      const shown = await gateRequest(run.id);
      expect(shown.id).toBe(kept[0]);
      expect(await requestsFor()).toEqual([{ id: kept[0], state: 'pending' }]);
      expect(await gateRows()).toEqual(kept);
      expect(bot.t.standIn.messages(OPS).filter((message) => blockText(message.blocks).includes(`Approval: run pass ${run.id}`))).toHaveLength(1);
      await people.click(APPROVER1, 'approve', shown.ts);
      expect(await waitForRunState(bot.runEngine!.store, run.id, FINAL_RUN_STATES, 20_000)).toMatchObject({ state: 'succeeded' });
      expect(await marks(run.id)).toEqual(['checks', 'deploy']);
      expect(await requestsFor()).toEqual([{ id: kept[0], state: 'executed' }]);
    } finally {
      await runnerB.stop();
    }
  }, 30_000);

  it('after only the id was kept: the next runner asks with that id, and the dead one waking up late finds the same request', async () => {
    const { run, kept, requestsFor, gateRows, runnerB, wake, zombie } = await dieAt('before-create');
    try {
      const shown = await gateRequest(run.id);
      expect(shown.id).toBe(kept[0]);
      wake();
      await new Promise((resolve) => setImmediate(resolve));
      expect(await zombie()).toMatchObject({ id: kept[0], state: 'pending' });
      expect(await requestsFor()).toEqual([{ id: kept[0], state: 'pending' }]);
      expect(await gateRows()).toEqual(kept);
      await people.click(APPROVER2, 'approve', shown.ts);
      expect(await waitForRunState(bot.runEngine!.store, run.id, FINAL_RUN_STATES, 20_000)).toMatchObject({ state: 'succeeded' });
      expect(await requestsFor()).toEqual([{ id: kept[0], state: 'executed' }]);
    } finally {
      await runnerB.stop();
    }
  }, 30_000);
});

describe('an abort that lands while the gate makes its first request', () => {
  /**
   * Runner A (the bot's gates as main.ts wires them) asks for the gate's request; the abort (as
   * `run abort` does it: the run marked aborting, then its gates' requests withdrawn) lands at
   * `when`: inside the command path, after the gate's id was kept and `run pass` was planned but
   * before the store created the request, or just after the creation. Every withdrawal that
   * closed a request is counted, the abort's and the runner's. `creating-stopped`: as `creating`,
   * but the abort is asked of the runner itself (as the bot's `run abort` does), so the gate step is
   * told to stop at once, and the request is held back until the runner either ended the run or
   * renewed its lease twice meanwhile (it still waits for the step), so the run never reads as
   * aborted before the step's withdrawal in any order but the one that was the bug.
   */
  async function abortWhile(when: 'creating' | 'creating-stopped' | 'created') {
    await bot.runEngine!.executor.stop();
    const pool = bot.trail.pool;
    const gateStore = createGateStore(pool);
    const closedBy: string[] = [];
    let runId = '';
    let runner: ReturnType<typeof createRunExecutor> | undefined;
    const abort = async () => {
      await (when === 'creating-stopped' ? runner! : bot.runEngine!.executor).abort(runId, ADMIN);
      await closeGatesForAbort({ gates: gateStore, approvals: bot.approvals, closed: async () => void closedBy.push('abort') }, { id: runId }, ADMIN);
    };
    /** Until the run ended, or its lease was renewed twice (its runner still drives it). */
    const runEndedOrTwiceRenewed = async () => {
      const renewals = new Set<number>();
      for (;;) {
        const run = (await bot.runEngine!.store.get(runId))!;
        if (FINAL_RUN_STATES.includes(run.state) || !run.leaseExpiresAt) return;
        renewals.add(run.leaseExpiresAt.getTime());
        if (renewals.size > 2) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const approvals: ApprovalStore = {
      ...bot.approvals,
      async create(input, now) {
        if (when === 'created' || !input.action.line.startsWith(`run pass ${runId} `)) return bot.approvals.create(input, now);
        await abort();
        const made = await bot.approvals.create(input, now);
        if (when === 'creating-stopped') await runEndedOrTwiceRenewed();
        return made;
      },
    };
    const { ask, ...rest } = slackGateRequests({ execution: { registry: createCommandRegistry(), services: { ...bot.services, approvals } }, approvals: bot.approvals, client: () => bot.t.bot.webClient, places: async () => [{ channel: OPS }] });
    const gates = createGateApprovals({
      runs: bot.runEngine!.store,
      gates: gateStore,
      ...rest,
      closed: async () => void closedBy.push('runner'),
      async ask(line, run, approvalId) {
        const request = await ask(line, run, approvalId);
        if (when === 'created') await abort();
        return request;
      },
    });
    runner = createRunExecutor({ store: bot.runEngine!.store, registry: bot.runEngine!.registry, owner: 'runner-a', leaseMs: 2000, renewEveryMs: 200, scanEveryMs: 100, ports: { gates } });
    runId = (await bot.runEngine!.runs.submit({ runbook: 'gated-deploy', args: {}, requester: ONCALL, origin: 'slash' })).id;
    runner.start();
    try {
      expect(await waitForRunState(bot.runEngine!.store, runId, FINAL_RUN_STATES, 20_000)).toMatchObject({ state: 'aborted' });
      await runner.idle();
      const requests = (await pool.query<{ id: string }>('SELECT id::text AS id FROM approval_requests WHERE line = $1', [`run pass ${runId} gated-deploy approve`])).rows;
      expect(requests).toHaveLength(1);
      return { request: await bot.approvals.get(requests[0]!.id), closedBy };
    } finally {
      await runner.stop();
    }
  }

  it('made after the abort withdrew nothing: the runner withdraws it, as the one who aborted', async () => {
    const { request, closedBy } = await abortWhile('creating');
    expect(request).toMatchObject({ state: 'cancelled', endedBy: ADMIN });
    expect(request?.endedReason).toContain('was aborted');
    expect(closedBy).toEqual(['runner']);
  }, 30_000);

  it('made after the abort stopped the gate step: the run reads aborted only once the runner withdrew it', async () => {
    const { request, closedBy } = await abortWhile('creating-stopped');
    expect(request).toMatchObject({ state: 'cancelled', endedBy: ADMIN });
    expect(request?.endedReason).toContain('was aborted');
    expect(closedBy).toEqual(['runner']);
  }, 30_000);

  it('made just before the abort: the abort withdraws it, and the runner does not withdraw it again', async () => {
    const { request, closedBy } = await abortWhile('created');
    expect(request).toMatchObject({ state: 'cancelled', endedBy: ADMIN });
    expect(closedBy).toEqual(['abort']);
  }, 30_000);
});
