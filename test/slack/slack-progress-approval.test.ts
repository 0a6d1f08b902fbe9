/**
 * An approved multi-step command's steps, through the real HTTP receiver, the Slack stand-in and
 * the approval store on the real PostgreSQL: the approving click runs it, its steps appear in order
 * in the thread of the request that was clicked, and the request message shows the result.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createApprovalStore } from '../../bot/approvals/index.js';
import { approvalTestDatabase, type ApprovalTestDatabase } from '../../bot/approvals/testing/fixtures.js';
import { defineCommand, type CommandDefinition } from '../../commands/command.js';
import { createCommandPathDependencies } from '../../bot/command-path/index.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { blockText, fixtureRegistry, ONCALL, OPS, startBotWithStandIn, type BotUnderTest, type RunLog } from '../testing/slack-harness.js';

const APPROVER = 'U0APPROVER1';
const ROLES = { oncall: [ONCALL], approvers: [APPROVER], admins: [] };
const RULES = { commands: { migrate: { level: 2 as const } } };

/** How long each run of `migrate` spent between its start and its answer. */
const migrateWorkMs: number[] = [];

/** A Level 2 change in three steps (fixture). */
const migrate = (log: RunLog) =>
  defineCommand({
    name: 'migrate',
    summary: 'A Level 2 change in three steps (fixture)',
    examples: ['migrate'],
    level: 2,
    args: z.object({}),
    async run(context) {
      log.runs.push(`migrate via ${context.origin}`);
      const started = performance.now();
      for (const step of ['schema copied', 'rows moved', 'old table dropped']) {
        await context.progress({ text: step });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      migrateWorkMs.push(performance.now() - started);
      return { title: 'Migrated', tone: 'ok', summary: 'Three steps, all done.', blocks: [] };
    },
  });

let t: BotUnderTest;
let trail: TestTrail;
let database: ApprovalTestDatabase;

beforeAll(async () => {
  trail = await openTestTrail({ prefix: 'acgs_progress_approval' });
  database = await approvalTestDatabase();
  const authorization = await testGate({ roles: ROLES, overrides: RULES, modes: { read: async () => ({ known: true as const, strict: false, lockdown: false }) } });
  const unused = await unusedLoopbackUrl();
  const services = {
    ...createCommandPathDependencies({ endpoints: { 'policy-engine': unused, 'audit-engine': unused, 'evolution-oversight': unused, 'sandbox-controller': unused }, checkTimeoutMs: 500 }),
    authorization,
    trail: trail.trail,
    approvals: createApprovalStore({ pool: database.pool(4) }),
  };
  t = await startBotWithStandIn({
    mode: 'http',
    registry: (log) => fixtureRegistry(log, [migrate(log)] as CommandDefinition[]),
    botOverrides: { services },
  });
}, 30_000);

afterAll(async () => {
  await t?.close();
  await trail?.close();
  await database?.close();
});

describe('an approved multi-step command', () => {
  it('tells its steps in order in the thread of the request that was clicked, and the request shows the result', async () => {
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'migrate' });
    const request = await t.standIn.waitFor(() => t.standIn.messages(OPS).find((message) => blockText(message.blocks).includes('Approval: migrate')), 8000, 'the approval request');
    expect(t.log.runs).toEqual([]);
    await t.standIn.clickButton({ userId: APPROVER, actionId: 'acgs_approval_approve', channelId: OPS, messageTs: request.ts });
    const steps = await t.standIn.waitFor(
      () => {
        const replies = t.standIn.thread(OPS, request.ts).slice(1);
        return replies.length >= 3 ? replies : undefined;
      },
      8000,
      'three steps in the request thread',
    );
    expect(steps.map((message) => blockText(message.blocks))).toEqual([
      expect.stringContaining('*Step 1*  schema copied'),
      expect.stringContaining('*Step 2*  rows moved'),
      expect.stringContaining('*Step 3*  old table dropped'),
    ]);
    expect(t.log.runs).toEqual(['migrate via approval']);
    await t.standIn.waitFor(() => (blockText(t.standIn.workspace.find(OPS, request.ts)?.blocks).includes('Migrated') ? true : undefined), 8000, 'the request to show the result');
  });

  it('is not held by a slow Slack, and the request shows the result only after the steps are in its thread', async () => {
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'migrate' });
    const asked = () => t.standIn.messages(OPS).filter((message) => blockText(message.blocks).includes('Approval: migrate'));
    const request = await t.standIn.waitFor(() => (asked().length === 2 ? asked()[1] : undefined), 8000, 'the second approval request');
    // One 429 (Retry-After 2 s) for the first step; the WebClient resumes before it retries, so an
    // update of the request sent meanwhile would overtake the steps.
    t.standIn.rateLimitNext('chat.postMessage', 1, 2);
    await t.standIn.clickButton({ userId: APPROVER, actionId: 'acgs_approval_approve', channelId: OPS, messageTs: request.ts });
    await t.standIn.waitFor(
      () => blockText(t.standIn.workspace.find(OPS, request.ts)?.blocks).includes('Migrated') && t.standIn.thread(OPS, request.ts).length === 4,
      10_000,
      'the three steps, and the request to show the result',
    );
    expect(migrateWorkMs.at(-1)).toBeLessThan(1000);
    const calls = t.standIn.calls().filter((call) => call.ok && call.args.channel === OPS);
    const lastStep = calls.findIndex((call) => call.method === 'chat.postMessage' && call.args.thread_ts === request.ts && String(call.args.text).includes('old table dropped'));
    const result = calls.findIndex((call) => call.method === 'chat.update' && call.args.ts === request.ts && JSON.stringify(call.args.blocks).includes('Migrated'));
    expect(lastStep).toBeGreaterThanOrEqual(0);
    expect(result).toBeGreaterThan(lastStep);
    expect(t.standIn.thread(OPS, request.ts).slice(1).map((message) => blockText(message.blocks))).toEqual([
      expect.stringContaining('*Step 1*  schema copied'),
      expect.stringContaining('*Step 2*  rows moved'),
      expect.stringContaining('*Step 3*  old table dropped'),
    ]);
  }, 20_000);
});
