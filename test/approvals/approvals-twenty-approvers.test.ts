/**
 * Twenty different approvers click Approve on a two-approval request at the same moment, through
 * the real Bolt HTTP receiver and the Slack stand-in, with the approval store on the real
 * PostgreSQL: every click reaches the store as its own person (unlike one person clicking twenty
 * times, where the store stops all but the first as "already counted"), exactly two votes count,
 * and the command runs once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApprovalStore, type ApprovalStore } from '../../bot/approvals/index.js';
import { approvalTestDatabase, type ApprovalTestDatabase } from '../../bot/approvals/testing/fixtures.js';
import { DEFAULT_USERS } from '../../bot/slack/stand-in/workspace.js';
import { defineCommand, type CommandDefinition } from '../../commands/command.js';
import { createCommandPathDependencies } from '../../bot/command-path/index.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { blockText, fixtureRegistry, ONCALL, OPS, startBotWithStandIn, type BotUnderTest, type RunLog } from '../testing/slack-harness.js';

const APPROVERS = Array.from({ length: 20 }, (_, index) => `U0TWENTY${String(index).padStart(2, '0')}`);
/** A Level 3 fixture: the policy asks two approvers for it. */
const RULES = { commands: { overhaul: { level: 3 as const } } };

function registry(log: RunLog) {
  const overhaul = defineCommand({
    name: 'overhaul',
    summary: 'A Level 3 change that needs two approvers (fixture)',
    examples: ['overhaul'],
    level: 3,
    args: z.object({}),
    async run(context) {
      log.runs.push(`overhaul by ${context.actor.id} via ${context.origin}`);
      // Long enough that late clicks arrive while it runs.
      await new Promise((resolve) => setTimeout(resolve, 200));
      return { title: 'Overhauled', tone: 'ok', blocks: [] };
    },
  });
  return fixtureRegistry(log, [overhaul] as CommandDefinition[]);
}

let t: BotUnderTest;
let trail: TestTrail;
let database: ApprovalTestDatabase;
let store: ApprovalStore;

beforeAll(async () => {
  trail = await openTestTrail({ prefix: 'acgs_twenty_approvers' });
  database = await approvalTestDatabase();
  // A connection per click, so that all twenty meet at the request's row lock.
  const pool = database.pool(20);
  await Promise.all(APPROVERS.map(() => pool.query('SELECT 1')));
  store = createApprovalStore({ pool });
  const authorization = await testGate({ roles: { oncall: [ONCALL], approvers: APPROVERS }, overrides: RULES });
  const unused = await unusedLoopbackUrl();
  const services = {
    ...createCommandPathDependencies({ endpoints: { 'policy-engine': unused, 'audit-engine': unused, 'evolution-oversight': unused, 'sandbox-controller': unused }, checkTimeoutMs: 500 }),
    authorization,
    trail: trail.trail,
    approvals: store,
  };
  t = await startBotWithStandIn({
    mode: 'http',
    registry,
    workspace: {
      channels: [{ id: OPS, name: 'acgs-ops' }],
      users: [...DEFAULT_USERS, ...APPROVERS.map((id, index) => ({ id, name: `approver${index}`, realName: `Approver ${index}`, roleLabel: `approver ${index}` }))],
    },
    botOverrides: { services },
  });
}, 30_000);

afterAll(async () => {
  await t?.close();
  await trail?.close();
  await database?.close();
});

describe('twenty different approvers at once', () => {
  it('counts exactly two approvals of a two-approval request, runs it once, and tells each of the other eighteen it was already approved', async () => {
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'overhaul' });
    const posted = await t.standIn.waitFor(() => t.standIn.messages(OPS).find((message) => blockText(message.blocks).includes('Approval: overhaul')), 8000, 'the approval request');
    const id = /Request `([0-9a-f-]{36})`/.exec(blockText(posted.blocks))![1]!;

    const replies = await Promise.all(APPROVERS.map((userId) => t.standIn.clickButton({ userId, actionId: 'acgs_approval_approve', channelId: OPS, messageTs: posted.ts })));
    expect(replies.map((reply) => reply.status)).toEqual(APPROVERS.map(() => 200));

    await expect.poll(async () => (await store.get(id))?.state, { timeout: 15_000 }).toBe('executed');
    // Every click has finished its work: one was counted first, one approved and ran it, eighteen were refused.
    const refusedTo = () => APPROVERS.filter((userId) => t.standIn.messages(OPS, { includeEphemeralFor: userId }).some((message) => message.visibleTo === userId && /already approved/.test(message.text)));
    await t.standIn.waitFor(() => refusedTo().length === 18 || undefined, 15_000, '18 refusals');
    await expect.poll(() => t.metric('commands', { command: 'approval approve' }), { timeout: 5000 }).toBe(20);

    const final = (await store.get(id))!;
    expect(final.approvedBy).toHaveLength(2);
    expect(new Set(final.approvedBy).size).toBe(2);
    expect(final.votes).toHaveLength(2);
    const counted = new Set(final.approvedBy);
    expect(refusedTo().filter((userId) => counted.has(userId))).toEqual([]);
    expect(t.log.runs.filter((run) => run.startsWith('overhaul'))).toEqual([`overhaul by ${ONCALL} via approval`]);
    const { records } = await trail.trail.query({ command: 'overhaul', limit: 200 });
    const ofThis = records.filter((record) => (record.details as { request_id?: string } | null)?.request_id === id);
    expect(ofThis.filter((record) => record.kind === 'execution')).toHaveLength(1);
    expect(ofThis.filter((record) => record.kind === 'vote')).toHaveLength(2);
    expect(blockText(t.standIn.workspace.find(OPS, posted.ts)?.blocks)).toContain('Overhauled');
  }, 60_000);
});
