/**
 * In-channel approvals end to end, through the real Bolt HTTP receiver and the Slack stand-in, on
 * the real PostgreSQL: an escalated command posts a request with Approve / Deny / Cancel buttons,
 * clicks vote as the clicking person, the message updates live, and the approved command runs
 * exactly once as approved, or asks again when the state changed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApprovalStore, startExpiryScheduler, type ApprovalStore } from '../../bot/approvals/index.js';
import { decideOnApproval, retireStalledApproval, settleInterruptedRuns } from '../../bot/command-path/index.js';
import { createRegistry } from '../../commands/registry.js';
import { executeCommandLine } from '../../bot/command-path/index.js';
import { createPool } from '../../services/kit/postgres.js';
import { unusedLoopbackPort } from '../testing/loopback.js';
import { approvalTestDatabase, type ApprovalTestDatabase } from '../../bot/approvals/testing/fixtures.js';
import { defineCommand, type CommandDefinition } from '../../commands/command.js';
import { createCommandPathDependencies } from '../../bot/command-path/index.js';
import type { StandInMessage } from '../../bot/slack/stand-in/index.js';
import { DEFAULT_USERS } from '../../bot/slack/stand-in/workspace.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import type { CommandPathDependencies } from '../../bot/command-path/index.js';
import { blockText, fixtureRegistry, ONCALL, OPS, type RunLog, startBotWithStandIn, type BotUnderTest } from '../testing/slack-harness.js';

const APPROVER = 'U0APPROVER1';
const APPROVALS_CHANNEL = 'C0ACGSAPPR01';
/** In the workspace, but holds no approver role in these rules. */
const NOT_APPROVER = 'U0APPROVER2';
/** A second approver, for the commands that need two. */
const APPROVER3 = 'U0APPROVER3';
const ROLES = { oncall: [ONCALL], approvers: [APPROVER, APPROVER3], admins: [APPROVER3] };
const RULES = { commands: { resize: { level: 2 as const }, overhaul: { level: 3 as const }, seal: { level: 4 as const } } };

/** The stack's modes as the gate reads them; a test turns the lockdown on between request and approval. */
const modes = { strict: false, lockdown: false };

/** The fixture's "stack": resize plans from its replica count, and running it changes the count. */
const world = { replicas: 1 };

function flowRegistry(log: RunLog) {
  const resize = defineCommand({
    name: 'resize',
    summary: 'A Level 2 change bound to the replica count (fixture)',
    usage: '<replicas>',
    examples: ['resize 3'],
    level: 2,
    positionals: ['replicas'],
    args: z.object({ replicas: z.coerce.number().int().min(1).max(20) }),
    async plan(_context, { replicas }) {
      return { summary: `Resize from ${world.replicas} to ${replicas}`, target: 'fixture', fingerprint: `fixture runs ${world.replicas}` };
    },
    async run(context, { replicas }) {
      log.runs.push(`resize ${replicas} by ${context.actor.id} via ${context.origin}`);
      world.replicas = replicas;
      return { title: `Resized to ${replicas}`, tone: 'ok', blocks: [] };
    },
  });
  const overhaul = defineCommand({
    name: 'overhaul',
    summary: 'A Level 3 change that needs two approvers (fixture)',
    examples: ['overhaul'],
    level: 3,
    args: z.object({}),
    async run(context) {
      log.runs.push(`overhaul by ${context.actor.id} via ${context.origin}`);
      return { title: 'Overhauled', tone: 'ok', blocks: [] };
    },
  });
  const seal = defineCommand({
    name: 'seal',
    summary: 'A Level 4 emergency action (fixture)',
    examples: ['seal'],
    level: 4,
    args: z.object({}),
    async run(context) {
      log.runs.push(`seal by ${context.actor.id} via ${context.origin}`);
      return { title: 'Sealed', tone: 'ok', blocks: [] };
    },
  });
  return fixtureRegistry(log, [resize, overhaul, seal] as CommandDefinition[]);
}

let t: BotUnderTest;
let trail: TestTrail;
let database: ApprovalTestDatabase;
let store: ApprovalStore;
let services: CommandPathDependencies;

beforeAll(async () => {
  trail = await openTestTrail({ prefix: 'acgs_approval_flow' });
  database = await approvalTestDatabase();
  store = createApprovalStore({ pool: database.pool(10) });
  const authorization = await testGate({ roles: ROLES, overrides: RULES, modes: { read: async () => ({ known: true as const, ...modes }) } });
  const unused = await unusedLoopbackUrl();
  services = {
    ...createCommandPathDependencies({ endpoints: { 'policy-engine': unused, 'audit-engine': unused, 'evolution-oversight': unused, 'sandbox-controller': unused }, checkTimeoutMs: 500 }),
    authorization,
    trail: trail.trail,
    approvals: store,
  };
  t = await startBotWithStandIn({
    mode: 'http',
    registry: flowRegistry,
    workspace: {
      channels: [{ id: OPS, name: 'acgs-ops' }, { id: APPROVALS_CHANNEL, name: 'acgs-approvals' }],
      users: [...DEFAULT_USERS, { id: APPROVER3, name: 'approver3', realName: 'Chen Approver', roleLabel: 'approver 3' }],
    },
    botOverrides: { services, approvalsChannel: APPROVALS_CHANNEL },
  });
}, 30_000);

afterAll(async () => {
  await t?.close();
  await trail?.close();
  await database?.close();
});

const runsOf = (replicas: number) => t.log.runs.filter((run) => run.startsWith(`resize ${replicas} `));

/** Types the line as on-call and returns the request message it posted in the channel. */
async function requestResize(replicas: number): Promise<{ ts: string; id: string }> {
  return requestLine(`resize ${replicas}`);
}

async function requestLine(line: string): Promise<{ ts: string; id: string }> {
  const before = new Set(t.standIn.messages(OPS).map((message) => message.ts));
  await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: line });
  const posted = await t.standIn.waitFor(
    () => t.standIn.messages(OPS).find((message) => !before.has(message.ts) && blockText(message.blocks).includes(`Approval: ${line}`)),
    8000,
    'the approval request message',
  );
  const id = /Request `([0-9a-f-]{36})`/.exec(blockText(posted.blocks))![1]!;
  return { ts: posted.ts, id };
}

const messageText = (ts: string) => blockText(t.standIn.workspace.find(OPS, ts)?.blocks);
const buttonsOf = (ts: string) => [...JSON.stringify(t.standIn.workspace.find(OPS, ts)?.blocks ?? []).matchAll(/"action_id":"(acgs_approval_\w+)"/g)].map((match) => match[1]);

async function click(user: string, vote: 'approve' | 'deny' | 'cancel', ts: string) {
  return t.standIn.clickButton({ userId: user, actionId: `acgs_approval_${vote}`, channelId: OPS, messageTs: ts });
}

async function untilMessage(ts: string, text: string): Promise<string> {
  return blockText((await t.standIn.waitFor(() => (messageText(ts).includes(text) ? t.standIn.workspace.find(OPS, ts) : undefined), 8000, `message ${ts} to say "${text}"`)).blocks);
}

async function ephemeralTo(user: string, text: string): Promise<StandInMessage> {
  return t.standIn.waitFor(
    () => t.standIn.messages(OPS, { includeEphemeralFor: user }).find((message) => message.visibleTo === user && `${message.text}\n${blockText(message.blocks)}`.includes(text)),
    8000,
    `an answer to ${user} saying "${text}"`,
  );
}

describe('an escalated command asks in the channel', () => {
  it('posts the exact plan, requester, level, approvals needed, expiry and three buttons that carry the request id, and runs nothing', async () => {
    world.replicas = 1;
    const { ts, id } = await requestResize(2);
    const text = messageText(ts);
    expect(text).toContain('resize 2');
    expect(text).toContain('fixture runs 1');
    expect(text).toContain(`<@${ONCALL}>`);
    expect(text).toContain('Level 2 (human decision)');
    expect(text).toContain('1 from approvers');
    expect(text).toContain('Waiting for approval: 0 of 1 approved');
    const message = t.standIn.workspace.find(OPS, ts)!;
    const buttons = JSON.parse(JSON.stringify(message.blocks)).find((block: { type: string }) => block.type === 'actions').elements as Array<{ action_id: string; value: string; confirm?: unknown }>;
    expect(buttons.map((button) => button.action_id)).toEqual(['acgs_approval_approve', 'acgs_approval_deny', 'acgs_approval_cancel']);
    expect(buttons.every((button) => button.value === id && button.confirm !== undefined)).toBe(true);
    expect(runsOf(2)).toEqual([]);
    await expect.poll(async () => (await store.get(id))?.messages.length).toBe(2);
    expect((await store.get(id))?.messages).toContainEqual({ channel: OPS, ts });
    const { records } = await trail.trail.query({ command: 'resize', limit: 10 });
    expect(records.find((record) => record.kind === 'approval_requested')?.details).toMatchObject({ request_id: id, fingerprint: 'fixture runs 1' });
  });

  it('posts the request in the approvals channel too, and updates that copy as well', async () => {
    world.replicas = 1;
    const { ts, id } = await requestResize(11);
    const copy = await t.standIn.waitFor(() => t.standIn.messages(APPROVALS_CHANNEL).find((message) => blockText(message.blocks).includes(id)), 8000, 'the copy in the approvals channel');
    await expect.poll(async () => (await store.get(id))?.messages.length).toBe(2);
    await click(APPROVER, 'approve', ts);
    await untilMessage(ts, 'Resized to 11');
    await t.standIn.waitFor(() => blockText(t.standIn.workspace.find(APPROVALS_CHANNEL, copy.ts)?.blocks).includes('Resized to 11') || undefined, 8000, 'the updated copy');
    expect(runsOf(11)).toHaveLength(1);
  });
});

describe('a mention asks the same way', () => {
  it('posts an approval request for an escalated command typed after a mention of the bot', async () => {
    world.replicas = 1;
    const before = new Set(t.standIn.messages(OPS).map((message) => message.ts));
    await t.standIn.mention({ userId: ONCALL, channelId: OPS, text: 'resize 15' });
    const posted = await t.standIn.waitFor(
      () => t.standIn.messages(OPS).find((message) => !before.has(message.ts) && blockText(message.blocks).includes('Approval: resize 15')),
      8000,
      'the approval request message',
    );
    expect(buttonsOf(posted.ts)).toEqual(['acgs_approval_approve', 'acgs_approval_deny', 'acgs_approval_cancel']);
    expect(runsOf(15)).toEqual([]);
  });
});

describe('votes by button', () => {
  it('runs the command once, as the requester, when an approver approves, and the message shows who approved and the result', async () => {
    world.replicas = 1;
    const { ts, id } = await requestResize(3);
    await click(APPROVER, 'approve', ts);
    const text = await untilMessage(ts, 'Resized to 3');
    expect(text).toContain(`Done (1 of 1 approved by <@${APPROVER}>)`);
    expect(runsOf(3)).toEqual([`resize 3 by ${ONCALL} via approval`]);
    expect(buttonsOf(ts)).toEqual([]);
    expect((await store.get(id))?.state).toBe('executed');
    const { records } = await trail.trail.query({ command: 'resize', limit: 50 });
    const ofThis = records.filter((record) => (record.details as { request_id?: string } | null)?.request_id === id).reverse();
    expect(ofThis.map((record) => record.kind)).toEqual(['approval_requested', 'vote', 'approval_resolved', 'execution', 'result']);
    expect(ofThis.find((record) => record.kind === 'vote')).toMatchObject({ actor: APPROVER });
    expect(ofThis.find((record) => record.kind === 'execution')).toMatchObject({ actor: ONCALL, origin: 'approval' });
  });

  it('refuses the requester approving their own request, only to them, and runs nothing', async () => {
    world.replicas = 1;
    const { ts, id } = await requestResize(4);
    await click(ONCALL, 'approve', ts);
    await ephemeralTo(ONCALL, 'You requested this; someone else must approve it');
    expect(runsOf(4)).toEqual([]);
    expect((await store.get(id))?.state).toBe('pending');
    expect(messageText(ts)).toContain('0 of 1 approved');
  });

  it('refuses a person without an approver role, only to them, and runs nothing', async () => {
    world.replicas = 1;
    const { ts, id } = await requestResize(5);
    await click(NOT_APPROVER, 'approve', ts);
    await ephemeralTo(NOT_APPROVER, 'can vote on this request; you have none of them');
    expect(runsOf(5)).toEqual([]);
    expect((await store.get(id))?.state).toBe('pending');
  });

  it('ends the request with one deny: the message names who denied, the buttons go, nothing runs', async () => {
    world.replicas = 1;
    const { ts, id } = await requestResize(6);
    await click(APPROVER, 'deny', ts);
    await untilMessage(ts, `Denied by <@${APPROVER}>`);
    expect(buttonsOf(ts)).toEqual([]);
    expect(runsOf(6)).toEqual([]);
    expect((await store.get(id))?.state).toBe('denied');
  });

  it('lets the requester cancel, and refuses anyone else cancelling', async () => {
    world.replicas = 1;
    const { ts, id } = await requestResize(7);
    await click(APPROVER, 'cancel', ts);
    await ephemeralTo(APPROVER, 'requester');
    expect((await store.get(id))?.state).toBe('pending');
    await click(ONCALL, 'cancel', ts);
    await untilMessage(ts, `Cancelled by <@${ONCALL}>`);
    expect(runsOf(7)).toEqual([]);
    expect((await store.get(id))?.state).toBe('cancelled');
  });

  it('counts two approvers for a Level 3 command: the message says 1 of 2 approved by the first, a second click by them counts nothing, the second approver runs it once', async () => {
    const before = t.log.runs.filter((run) => run.startsWith('overhaul')).length;
    const { ts } = await requestLine('overhaul');
    expect(messageText(ts)).toContain('0 of 2 approved');
    await click(APPROVER, 'approve', ts);
    await untilMessage(ts, `1 of 2 approved by <@${APPROVER}>`);
    await click(APPROVER, 'approve', ts);
    await ephemeralTo(APPROVER, 'Already counted');
    expect(t.log.runs.filter((run) => run.startsWith('overhaul')).length).toBe(before);
    await click(APPROVER3, 'approve', ts);
    const text = await untilMessage(ts, 'Overhauled');
    expect(text).toContain(`2 of 2 approved by <@${APPROVER}> and <@${APPROVER3}>`);
    expect(t.log.runs.filter((run) => run.startsWith('overhaul'))).toHaveLength(before + 1);
  });

  it("runs nothing again when Slack retries an Approve click that already ran the command", async () => {
    world.replicas = 1;
    const { ts } = await requestResize(12);
    const reply = await click(APPROVER, 'approve', ts);
    await untilMessage(ts, 'Resized to 12');
    const retried = await reply.redeliver({ retry: { num: 1, reason: 'http_timeout' } });
    expect(retried.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runsOf(12)).toHaveLength(1);
  });

  it('runs the command once when 20 Approve clicks arrive at the same moment', async () => {
    world.replicas = 1;
    const { ts, id } = await requestResize(8);
    const replies = await Promise.all(Array.from({ length: 20 }, () => click(APPROVER, 'approve', ts)));
    expect(replies.every((reply) => reply.status === 200)).toBe(true);
    await untilMessage(ts, 'Resized to 8');
    // Let every other click finish its work before counting.
    await t.standIn.waitFor(() => t.standIn.messages(OPS, { includeEphemeralFor: APPROVER }).filter((message) => message.visibleTo === APPROVER && /Already counted|already approved/.test(message.text)).length >= 19 || undefined, 15_000, '19 refusals');
    expect(runsOf(8)).toHaveLength(1);
    expect((await store.get(id))?.state).toBe('executed');
    const { records } = await trail.trail.query({ command: 'resize', limit: 200 });
    expect(records.filter((record) => record.kind === 'execution' && (record.details as { request_id?: string }).request_id === id)).toHaveLength(1);
  }, 30_000);

  it('asks again and runs nothing when the state changed between the request and the approval', async () => {
    world.replicas = 1;
    const { ts, id } = await requestResize(9);
    world.replicas = 2;
    await click(APPROVER, 'approve', ts);
    await untilMessage(ts, 'Not run');
    expect(runsOf(9)).toEqual([]);
    expect((await store.get(id))?.state).toBe('superseded');
    const thread = await t.standIn.waitFor(() => t.standIn.thread(OPS, ts).find((message) => message.text.includes('please ask again')), 8000, 'the ask-again reply');
    expect(thread.text).toContain(`<@${ONCALL}>`);
  });
});

describe('an approval whose run never started', () => {
  it('is ended (superseded) when a bot finds it a minute later, as npm start does at start, and never runs; a fresh one is left to the process about to run it', async () => {
    // Approved in the store, then the process stopped before claiming the run.
    const stalled = await requestResize(7);
    expect((await store.vote(stalled.id, APPROVER, ['approvers'], 'approve')).code).toBe('approved');
    const fresh = await requestResize(8);
    expect((await store.vote(fresh.id, APPROVER, ['approvers'], 'approve')).code).toBe('approved');
    await database.pool(1).query(`UPDATE approval_requests SET state_changed_at = state_changed_at - interval '61 seconds' WHERE id = $1`, [stalled.id]);

    const deps = { registry: createRegistry([]), services };
    const retired = await retireStalledApproval(deps, (await store.get(stalled.id))!);
    expect(retired?.state).toBe('superseded');
    expect(retired?.endedReason).toMatch(/never started/);
    expect(await retireStalledApproval(deps, (await store.get(stalled.id))!)).toBeUndefined();
    expect(await retireStalledApproval(deps, (await store.get(fresh.id))!)).toBeUndefined();
    expect((await store.get(fresh.id))?.state).toBe('approved');
    // The one that stalled cannot be claimed any more: nothing runs it later.
    expect((await store.claimExecution(stalled.id)).code).toBe('closed');
    expect(runsOf(7)).toEqual([]);
    const { records } = await trail.trail.query({ command: 'resize', limit: 20 });
    expect(records.filter((record) => (record.details as { request_id?: string } | null)?.request_id === stalled.id).map((record) => `${record.kind} ${record.outcome ?? ''}`.trim())).toContain('approval_resolved superseded');
  });
});

describe('an approval whose run was interrupted by a crash', () => {
  it('is marked outcome unknown at start by exactly one of two replicas: its message loses the buttons and says so, the channel is told once, the trail records it, and nothing runs', async () => {
    world.replicas = 1;
    const { ts, id } = await requestResize(6);
    // The process that claimed the run (instance "bot-crashed") stopped before it finished.
    const crashed = createApprovalStore({ pool: database.pool(2), instance: 'bot-crashed' });
    expect((await crashed.vote(id, APPROVER, ['approvers'], 'approve')).code).toBe('approved');
    expect((await crashed.claimExecution(id)).code).toBe('claimed');
    expect(buttonsOf(ts)).toEqual(['acgs_approval_approve', 'acgs_approval_deny', 'acgs_approval_cancel']);

    // Two replicas start again under that instance name, at the same moment, as npm start does.
    const replicas = [0, 1].map(() => ({ registry: createRegistry([]), services: { ...services, approvals: createApprovalStore({ pool: database.pool(2), instance: 'bot-crashed' }) } }));
    const found = (await Promise.all(replicas.map((deps) => settleInterruptedRuns(deps)))).flat();
    expect(found.map((request) => request.id)).toEqual([id]);
    for (const request of found) await t.bot.announceOutcomeUnknown(request);

    expect(buttonsOf(ts)).toEqual([]);
    expect(messageText(ts)).toContain('Outcome unknown (1 of 1 approved by <@U0APPROVER1>): it was running when the bot stopped');
    const told = t.standIn.messages(OPS).filter((message) => message.text.includes('was running when the bot stopped. Whether it finished is unknown'));
    expect(told).toHaveLength(1);
    expect(told[0]!.text).toBe(`<@${ONCALL}>: the approved \`resize 6\` was running when the bot stopped. Whether it finished is unknown, and it was not run again; check the stack (for example \`/acgs status\`) before asking again.`);
    expect((await store.get(id))?.state).toBe('outcome_unknown');
    // A late vote (a click on a copy Slack still showed) changes nothing and runs nothing.
    const late = await decideOnApproval({ registry: createRegistry([]), services }, { id, choice: 'approve', actor: { id: APPROVER3 } });
    expect(late).toMatchObject({ code: 'closed', changed: false });
    expect(late.sentence.join('')).toBe('This request was running when the bot stopped; its outcome is unknown and it is not run again');
    expect(runsOf(6)).toEqual([]);
    const { records } = await trail.trail.query({ command: 'resize', limit: 200 });
    expect(records.filter((record) => record.kind === 'approval_resolved' && record.outcome === 'outcome_unknown' && (record.details as { request_id?: string }).request_id === id)).toHaveLength(1);
  });
});

describe('an interrupted run whose announcement did not reach Slack', () => {
  it('loses its buttons at the next click on it, and the clicker is told its outcome is unknown', async () => {
    world.replicas = 1;
    const { ts, id } = await requestResize(5);
    const crashed = createApprovalStore({ pool: database.pool(2), instance: 'bot-crashed-2' });
    await crashed.vote(id, APPROVER, ['approvers'], 'approve');
    expect((await crashed.claimExecution(id)).code).toBe('claimed');
    const restarted = { registry: createRegistry([]), services: { ...services, approvals: createApprovalStore({ pool: database.pool(2), instance: 'bot-crashed-2' }) } };
    expect((await settleInterruptedRuns(restarted)).map((request) => request.id)).toEqual([id]);
    // Slack was away: the message still shows the buttons.
    expect(buttonsOf(ts)).toHaveLength(3);
    await click(APPROVER3, 'approve', ts);
    await ephemeralTo(APPROVER3, 'its outcome is unknown and it is not run again');
    await t.standIn.waitFor(() => buttonsOf(ts).length === 0 || undefined, 8000, 'the buttons to go');
    expect(messageText(ts)).toContain('Outcome unknown');
    expect(runsOf(5)).toEqual([]);
  });
});

describe('two bot replicas sharing PostgreSQL', () => {
  let second: BotUnderTest;

  beforeAll(async () => {
    // Its own approval store and pool on the same database, as another process would have.
    const replicaServices = { ...services, approvals: createApprovalStore({ pool: database.pool(10) }) };
    second = await startBotWithStandIn({
      mode: 'http',
      registry: flowRegistry,
      workspace: { channels: [{ id: OPS, name: 'acgs-ops' }] },
      botOverrides: { services: replicaServices },
    });
  }, 30_000);

  afterAll(async () => {
    await second?.close();
  });

  it('runs an approved command once when Approve clicks reach both replicas at the same moment', async () => {
    world.replicas = 1;
    const { ts, id } = await requestResize(14);
    // The same channel message as Slack would show it to clicks routed to the other replica.
    const shown = t.standIn.workspace.find(OPS, ts)!;
    second.standIn.workspace.post({ channel: OPS, user: shown.user, ...(shown.botId ? { botId: shown.botId } : {}), text: shown.text, blocks: shown.blocks ?? [], ts });
    const clicks = Array.from({ length: 20 }, (_, index) =>
      (index % 2 === 0 ? t : second).standIn.clickButton({ userId: APPROVER, actionId: 'acgs_approval_approve', channelId: OPS, messageTs: ts }),
    );
    await Promise.all(clicks);
    await expect.poll(async () => (await store.get(id))?.state, { timeout: 10_000 }).toBe('executed');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await expect.poll(() => second.metric('commands', { command: 'approval approve' })).toBe(10);
    const runs = [...t.log.runs, ...second.log.runs].filter((run) => run.startsWith('resize 14 '));
    expect(runs).toHaveLength(1);
    const { records } = await trail.trail.query({ command: 'resize', limit: 200 });
    expect(records.filter((record) => record.kind === 'execution' && (record.details as { request_id?: string }).request_id === id)).toHaveLength(1);
  }, 30_000);
});

describe('the policy asked again', () => {
  it('asks again and runs nothing when the policy decides differently at approval time (a lockdown began)', async () => {
    world.replicas = 1;
    const { ts, id } = await requestResize(13);
    modes.lockdown = true;
    try {
      await click(APPROVER, 'approve', ts);
      const text = await untilMessage(ts, 'Not run');
      expect(text).toContain("the policy's decision changed");
    } finally {
      modes.lockdown = false;
    }
    expect(runsOf(13)).toEqual([]);
    expect((await store.get(id))?.state).toBe('superseded');
  });
});

describe('expiry', () => {
  it('refuses a click after the request expired, and the updated message says so without buttons', async () => {
    world.replicas = 1;
    const { ts, id } = await requestResize(10);
    await expect.poll(async () => (await store.get(id))?.messages.length).toBe(2);
    expect((await store.get(id))?.messages).toContainEqual({ channel: OPS, ts });
    const expired = await store.expireDue(new Date(Date.now() + 16 * 60 * 1000));
    expect(expired.map((request) => request.id)).toContain(id);
    await click(APPROVER, 'approve', ts);
    await ephemeralTo(APPROVER, 'expired');
    expect(runsOf(10)).toEqual([]);
    for (const request of expired) await t.bot.updateApprovalMessages(request);
    const text = await untilMessage(ts, 'Expired at');
    expect(text).toContain('buttons no longer work');
    expect(buttonsOf(ts)).toEqual([]);
  });

  it('updates a request message by itself when the expiry scheduler (as npm start runs it) finds the request due', async () => {
    world.replicas = 1;
    const { ts, id } = await requestResize(16);
    await expect.poll(async () => (await store.get(id))?.messages.length).toBe(2);
    // The scheduler's clock is 16 minutes ahead: every pending request is due at once.
    const scheduler = startExpiryScheduler({
      store,
      clock: () => new Date(Date.now() + 16 * 60 * 1000),
      onExpired: async (requests) => {
        for (const request of requests) await t.bot.updateApprovalMessages(request);
      },
    });
    try {
      await scheduler.ready;
      const text = await untilMessage(ts, 'Expired at');
      expect(text).toContain('buttons no longer work');
      expect(buttonsOf(ts)).toEqual([]);
      expect((await store.get(id))?.state).toBe('expired');
    } finally {
      await scheduler.stop();
    }
  });
});

describe('bad input and fail closed', () => {
  it('refuses a vote on a request id that does not exist or is not an id, counting nothing', async () => {
    const deps = { registry: flowRegistry(t.log), services };
    const forged = await decideOnApproval(deps, { id: 'resize 3', choice: 'approve', actor: { id: APPROVER } });
    expect(forged).toMatchObject({ code: 'not-found', changed: false });
    expect(forged.sentence.join('')).toContain('There is no approval request "resize 3"');
    const unknown = await decideOnApproval(deps, { id: '00000000-0000-4000-8000-000000000000', choice: 'approve', actor: { id: APPROVER } });
    expect(unknown).toMatchObject({ code: 'not-found', changed: false });
  });

  it('refuses an escalated command with the reason when the approval store cannot be reached, and runs nothing', async () => {
    const pool = createPool({ databaseUrl: `postgres://postgres@127.0.0.1:${await unusedLoopbackPort()}/none`, max: 1, applicationName: 'acgs-approvals-down' });
    try {
      const down = { ...services, approvals: createApprovalStore({ pool }) };
      const before = t.log.runs.length;
      const outcome = await executeCommandLine({ registry: flowRegistry(t.log), services: down }, { line: 'resize 4', actor: { id: ONCALL }, origin: 'cli' });
      expect(outcome).toMatchObject({ outcome: 'rejected', rejection: 'refused' });
      expect(outcome.approval).toBeUndefined();
      expect(outcome.document.summary).toContain('`resize` needs 1 approval');
      expect(outcome.document.summary).toContain('nothing was run');
      expect(t.log.runs.length).toBe(before);
      const click = await decideOnApproval({ registry: flowRegistry(t.log), services: down }, { id: '00000000-0000-4000-8000-000000000000', choice: 'approve', actor: { id: APPROVER } });
      expect(click).toMatchObject({ code: 'unavailable', changed: false });
    } finally {
      await pool.end().catch(() => undefined);
    }
  });

  it('refuses a command that needs approvals without an approval store in the process', async () => {
    const { approvals: _none, ...without } = services;
    const outcome = await executeCommandLine({ registry: flowRegistry(t.log), services: without }, { line: 'resize 4', actor: { id: ONCALL }, origin: 'slash' });
    expect(outcome.document.summary).toContain('The approval store is not set up in this process');
    expect(outcome.rejection).toBe('refused');
    // From a terminal, where there are no buttons, it says where to ask instead.
    const fromCli = await executeCommandLine({ registry: flowRegistry(t.log), services: without }, { line: 'resize 4', actor: { id: ONCALL }, origin: 'cli' });
    expect(fromCli.document.summary).toContain('ask for it in Slack or the local console: `/acgs resize 4`');
    expect(runsOf(4)).toEqual([]);
  });
});

describe('break-glass', () => {
  /** Types a line as `user` and returns the answer that contains `text`, in the channel or only to them. */
  async function typed(user: string, line: string, text: string): Promise<string> {
    await t.standIn.slashCommand({ userId: user, channelId: OPS, text: line });
    const answer = await t.standIn.waitFor(
      () => t.standIn.messages(OPS, { includeEphemeralFor: user }).find((message) => blockText(message.blocks).includes(text)),
      8000,
      `the answer to ${line}`,
    );
    return blockText(answer.blocks);
  }
  const seals = () => t.log.runs.filter((run) => run.startsWith('seal'));

  it('lets an admin run a Level 4 action at once with a quoted reason, flagged in the channel and in the trail before it runs', async () => {
    const before = seals().length;
    const text = await typed(APPROVER3, 'break-glass "the engine serves bad decisions now" seal', 'BREAK-GLASS: Sealed');
    expect(text).toContain('the engine serves bad decisions now');
    expect(seals()).toHaveLength(before + 1);
    expect(seals().at(-1)).toBe(`seal by ${APPROVER3} via slash`);
    const message = t.standIn.messages(OPS).find((each) => blockText(each.blocks).includes('BREAK-GLASS: Sealed'));
    expect(message?.visibleTo, 'the flag is for everyone in the channel').toBeUndefined();
    const { records } = await trail.trail.query({ command: 'seal', limit: 10 });
    const kinds = records.map((record) => [record.kind, record.decision]).reverse();
    expect(kinds).toEqual([
      ['command', 'break_glass'],
      ['break_glass', 'break_glass'],
      ['execution', 'break_glass'],
      ['result', 'break_glass'],
    ]);
    expect(records.find((record) => record.kind === 'break_glass')?.details).toMatchObject({ reason: 'the engine serves bad decisions now' });
  });

  it('refuses break-glass by someone who is not an admin, and runs nothing', async () => {
    const before = seals().length;
    await typed(ONCALL, 'break-glass "the engine serves bad decisions now" seal', 'seal: refused');
    expect(seals()).toHaveLength(before);
  });

  it('refuses break-glass without a quoted reason, saying how to write it, and runs nothing', async () => {
    const before = seals().length;
    const text = await typed(APPROVER3, 'break-glass seal', 'Break-glass needs a reason in quotes');
    expect(text).toContain('break-glass "policy engine is serving bad decisions" lockdown');
    expect(seals()).toHaveLength(before);
  });

  it('refuses break-glass with a reason too short to review, and runs nothing', async () => {
    const before = seals().length;
    await typed(APPROVER3, 'break-glass "oops" seal', 'seal: refused');
    expect(seals()).toHaveLength(before);
  });

  it('asks for approvals as usual when a Level 4 action is typed without break-glass', async () => {
    const { ts } = await requestLine('seal');
    expect(messageText(ts)).toContain('0 of 2 approved');
    expect(seals().filter((run) => run.includes('via approval'))).toHaveLength(0);
  });
});
