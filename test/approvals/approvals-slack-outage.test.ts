/**
 * PostgreSQL going away in the middle of an approval flow, through Slack: the bot wired as
 * `npm start` wires it (test/testing/governance-bot.ts), its audit trail and approval store on one
 * database behind a TCP proxy that the test cuts (test/testing/postgres-proxy.ts), never stopping the
 * shared server. Escalated actions are refused with the reason and nothing runs on the real Policy
 * Engine; what did happen is spooled to the local append-only file and replayed in order once the
 * database is back; `audit verify` (typed in Slack) finds the chain intact, with the records in it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CommandDefinition } from '../../commands/command.js';
import { createCommandRegistry } from '../../commands/index.js';
import { createRegistry } from '../../commands/registry.js';
import { channelPeople, engineAllows, startGovernanceBot, type GovernanceBot } from '../testing/governance-bot.js';
import { ONCALL, OPS } from '../testing/slack-harness.js';

const APPROVER1 = 'U0APPROVER1';
const APPROVER2 = 'U0APPROVER2';
const ADMIN = 'U0ADMIN';
const ROLES = { oncall: [ONCALL], approvers: [APPROVER1, APPROVER2], admins: [ADMIN] };

/**
 * When set, the re-check of `strict-mode`'s plan at approval time (after the approving vote was
 * committed, before the execution is claimed) first cuts the database: PostgreSQL going away in
 * the middle of the click that would start the command.
 */
let cutWhenReplanned = false;
/** When set, the database is cut right after the approved `strict-mode` ran, before its end is stored. */
let cutAfterRun = false;

function registryCuttingMidClick() {
  const commands = createCommandRegistry()
    .list()
    .map((command): CommandDefinition => {
      if (command.name !== 'strict-mode' || !command.plan) return command;
      const plan = command.plan.bind(command);
      const run = command.run.bind(command);
      return {
        ...command,
        run: async (context, args) => {
          const result = await run(context, args);
          if (context.origin === 'approval' && cutAfterRun) {
            cutAfterRun = false;
            bot.proxy!.cut();
          }
          return result;
        },
        plan: async (context, args) => {
          if (context.origin === 'approval' && cutWhenReplanned) {
            cutWhenReplanned = false;
            bot.proxy!.cut();
          }
          return plan(context, args);
        },
      } as CommandDefinition;
    });
  return createRegistry(commands);
}

let bot: GovernanceBot;
let people: ReturnType<typeof channelPeople>;

beforeAll(async () => {
  bot = await startGovernanceBot({
    roles: ROLES,
    proxied: true,
    modesTtlMs: 0,
    registry: registryCuttingMidClick,
    extraUsers: [{ id: ADMIN, name: 'admin', realName: 'Ada Admin', roleLabel: 'admin' }],
    prefix: 'acgs_slack_outage',
  });
  people = channelPeople(bot.t);
}, 60_000);

afterEach(async () => {
  // Whatever a test left, the next one starts with the database reachable and the engine in normal mode.
  cutWhenReplanned = false;
  cutAfterRun = false;
  bot.proxy?.restore();
  await expect.poll(() => bot.trail.trail.status().waiting, { timeout: 15_000 }).toBe(0);
  await bot.engineClient.setMode('disable-strict-mode');
  await bot.engineClient.setMode('lift-lockdown');
});

afterAll(async () => {
  await bot?.close();
});

const modes = async () => (await bot.engineClient.metrics()).mode;

/** The spool file's records, in the order they were appended, as `kind command` (what is still waiting to be replayed). */
function spooled(): string[] {
  const path = join(bot.trail.spoolDir, 'trail.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { kind: string; command: string | null; idempotency_key: string })
    .map((record) => `${record.kind} ${record.command}`);
}

/** The chain's records after sequence `after`, oldest first. */
async function chainAfter(after: number) {
  const { records } = await bot.trail.trail.query({ limit: 200 });
  return records.filter((record) => record.sequence > after).reverse();
}

async function head(): Promise<number> {
  const { records } = await bot.trail.trail.query({ limit: 1 });
  return records[0]?.sequence ?? 0;
}

/** Types the line and waits until the request knows its message (attached after the post), as it would be long before anyone clicks. */
async function requestPosted(line: string) {
  const posted = await people.request(ONCALL, line);
  await expect.poll(async () => (await bot.approvals.get(posted.id))?.messages.length).toBe(1);
  return posted;
}

/** Types `audit verify` in the channel and returns what the bot says about its own trail. */
async function auditVerify(): Promise<string> {
  const answer = await people.type(ONCALL, 'audit verify', "Bot's trail");
  return answer.text;
}

describe('PostgreSQL unreachable while a request is pending', () => {
  it('refuses the approving click and every escalated action with the reason, runs nothing, spools what happened, and replays it in order once it is back', async () => {
    const { ts, id } = await requestPosted('strict-mode on');
    const before = await head();

    bot.proxy!.cut();

    // The approver clicks: the vote cannot be counted, so nothing can run; they are told why.
    await people.click(APPROVER1, 'approve', ts);
    const refusedVote = await people.toldOnly(APPROVER1, 'not available');
    expect(refusedVote).toMatch(/The approval store \(PostgreSQL\) is not available \(.+\); escalated actions are refused until it is back; nothing was counted\./);
    expect(await modes()).toEqual({ strict: false, lockdown: false });
    expect(people.messageText(ts), 'the request still waits, buttons and all').toContain('0 of 1 approved');
    expect(people.buttonsOf(ts)).toEqual(['acgs_approval_approve', 'acgs_approval_deny', 'acgs_approval_cancel']);

    // An admin's break-glass runs at once when it runs at all: here it is refused, fail closed.
    const glass = await people.type(ADMIN, 'break-glass "policy engine is serving bad decisions" lockdown', 'lockdown: not available right now');
    expect(glass.visibleTo).toBe(ADMIN);
    expect(glass.text).toMatch(/The bot's audit trail cannot be written to PostgreSQL \(.+\), so escalated actions are refused until it is back/);
    expect(await modes()).toEqual({ strict: false, lockdown: false });
    expect(await engineAllows(bot.engine.url)).toBe(true);

    // Read-only commands keep working, and say what an escalated one would meet now.
    const can = await people.type(ONCALL, 'can cache clear', 'cache clear');
    expect(can.text).toMatch(/right now it would be refused: The bot's audit trail cannot be written to PostgreSQL/);

    // A new escalated request cannot be stored either.
    const request = await people.type(ONCALL, 'cache clear', 'cache clear: refused');
    expect(request.text).toMatch(/`cache clear` needs 1 approval from someone holding `approvers` or `admins` \(not you\)\. The approval store \(PostgreSQL\) is not available \(.+\); escalated actions are refused until it is back; nothing was run\./);
    expect(request.text).toMatch(/nothing was run/);

    // What did happen is on disk, in order: the commands with their decisions, the refused break-glass's result.
    expect(spooled()).toEqual(['command lockdown', 'result lockdown', 'command can', 'result can', 'command cache clear']);

    bot.proxy!.restore();
    await expect.poll(() => bot.trail.trail.status().waiting, { timeout: 15_000 }).toBe(0);
    const replayed = await chainAfter(before);
    expect(replayed.map((record) => `${record.kind} ${record.command} ${record.actor} ${record.decision}`)).toEqual([
      `command lockdown ${ADMIN} break_glass`,
      `result lockdown ${ADMIN} break_glass`,
      `command can ${ONCALL} allow`,
      `result can ${ONCALL} allow`,
      `command cache clear ${ONCALL} needs_approval`,
    ]);
    expect(replayed[1]).toMatchObject({ outcome: 'refused', details: { reason: expect.stringMatching(/^The bot's audit trail cannot be written to PostgreSQL/) } });
    for (const record of replayed) expect(Date.parse(record.recordedAt), 'replayed later than it happened').toBeGreaterThanOrEqual(Date.parse(record.at));
    expect(replayed.find((record) => record.kind === 'command' && record.command === 'lockdown')?.details).toMatchObject({ break_glass_reason: 'policy engine is serving bad decisions' });

    const verified = await auditVerify();
    expect(verified).toMatch(/Bot's trail: bot's audit trail intact/);
    expect(await bot.trail.trail.verify()).toMatchObject({ valid: true, waiting: 0 });

    // The request survived the outage: the same button now counts the vote and runs it, once.
    await people.click(APPROVER1, 'approve', ts);
    await people.untilMessage(ts, 'Strict mode on');
    expect(await modes()).toEqual({ strict: true, lockdown: false });
    const { records } = await bot.trail.trail.query({ command: 'strict-mode', limit: 50 });
    const ofRequest = records.filter((record) => (record.details as { request_id?: string } | null)?.request_id === id).reverse();
    expect(ofRequest.map((record) => record.kind)).toEqual(['approval_requested', 'vote', 'approval_resolved', 'execution', 'result']);
  });
});

describe('PostgreSQL going away in the middle of the approving click', () => {
  it('runs nothing, tells the approver their approval was counted but nothing ran, the trail holds the vote and no execution, and the request never runs later by surprise', async () => {
    const { ts, id } = await requestPosted('strict-mode on');
    const before = await head();
    cutWhenReplanned = true;

    await people.click(APPROVER1, 'approve', ts);
    const told = await people.toldOnly(APPROVER1, 'not available');
    expect(told).toMatch(/Your approval was counted before it went away, but nothing was run; ask for the command again once it is back/);
    expect(told).not.toMatch(/nothing was counted/);
    expect(await modes()).toEqual({ strict: false, lockdown: false });
    // The vote and its resolution reached the chain before the database went; nothing after them happened.
    expect(spooled()).toEqual([]);

    bot.proxy!.restore();
    await expect.poll(() => bot.trail.trail.status().waiting, { timeout: 15_000 }).toBe(0);
    expect((await chainAfter(before)).map((record) => `${record.kind} ${record.actor} ${record.outcome ?? ''}`.trim())).toEqual([
      `vote ${APPROVER1}`,
      `approval_resolved ${APPROVER1} approved`,
    ]);
    expect(await auditVerify()).toMatch(/Bot's trail: bot's audit trail intact/);

    // Approved but never started: later clicks do not start it behind everyone's back.
    await people.click(APPROVER2, 'approve', ts);
    await people.toldOnly(APPROVER2, 'already approved');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await modes()).toEqual({ strict: false, lockdown: false });
    expect((await bot.approvals.get(id))?.state).toBe('approved');
    expect((await chainAfter(before)).map((record) => record.kind)).not.toContain('execution');

    // A minute later nobody is waiting for it: the next click ends it, so its message stops offering buttons.
    await bot.trail.pool.query(`UPDATE approval_requests SET state_changed_at = state_changed_at - interval '2 minutes' WHERE id = $1`, [id]);
    await people.click(APPROVER2, 'approve', ts);
    const ended = await people.untilMessage(ts, 'run never started');
    expect(people.buttonsOf(ts)).toEqual([]);
    expect(ended).toMatch(/ask again/i);
    expect((await bot.approvals.get(id))?.state).toBe('superseded');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await modes()).toEqual({ strict: false, lockdown: false });
    const after = (await chainAfter(before)).filter((record) => (record.details as { request_id?: string } | null)?.request_id === id);
    expect(after.map((record) => `${record.kind} ${record.outcome ?? ''}`.trim())).toEqual(['vote', 'approval_resolved approved', 'approval_resolved superseded']);
    expect(after.at(-1)?.origin).toBe('system');
  });
});

describe('PostgreSQL going away while the approved command runs', () => {
  it('shows what the run did instead of saying nothing ran, so nobody runs it a second time, and the trail gets its result once the database is back', async () => {
    const { ts, id } = await requestPosted('strict-mode on');
    cutAfterRun = true;
    const seen = new Set(bot.t.standIn.messages(OPS, { includeEphemeralFor: APPROVER1 }).map((message) => message.ts));

    await people.click(APPROVER1, 'approve', ts);
    const shown = await people.untilMessage(ts, 'Strict mode on');
    expect(shown).not.toMatch(/nothing was run|nothing ran/i);
    expect(people.buttonsOf(ts)).toEqual([]);
    expect(await modes()).toEqual({ strict: true, lockdown: false });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const since = bot.t.standIn.messages(OPS, { includeEphemeralFor: APPROVER1 }).filter((message) => !seen.has(message.ts));
    expect(JSON.stringify(since)).not.toMatch(/nothing was run|ask for the command again/);

    bot.proxy!.restore();
    await expect.poll(() => bot.trail.trail.status().waiting, { timeout: 15_000 }).toBe(0);
    const { records } = await bot.trail.trail.query({ command: 'strict-mode', limit: 50 });
    const ofRequest = records.filter((record) => (record.details as { request_id?: string } | null)?.request_id === id).reverse();
    expect(ofRequest.map((record) => record.kind)).toEqual(['approval_requested', 'vote', 'approval_resolved', 'execution', 'result']);
    // Its end never reached the store: it stays `executing`, never claimable again.
    expect((await bot.approvals.get(id))?.state).toBe('executing');
  });
});
