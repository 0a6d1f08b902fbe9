/**
 * The governance commands of issue 5 end to end through Slack: typed as `/acgs` slash commands and
 * approved with the request message's buttons, through the real Bolt HTTP receiver and the Slack
 * stand-in, with the bot wired as `npm start` wires it (test/testing/governance-bot.ts): the full
 * registry, the authorization policy with a strict-mode patch, the approval store and the audit
 * trail on the real PostgreSQL, the delivery ledger in the real Redis, and the real Policy Engine,
 * whose modes and decisions are read back after every step. Break-glass too, including Slack
 * retrying its delivery.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channelPeople, engineAllows, startGovernanceBot, type GovernanceBot } from '../testing/governance-bot.js';
import { ONCALL } from '../testing/slack-harness.js';

const APPROVER1 = 'U0APPROVER1';
const APPROVER2 = 'U0APPROVER2';
const ADMIN = 'U0ADMIN';
const ROLES = { oncall: [ONCALL], approvers: [APPROVER1, APPROVER2], admins: [ADMIN] };
/** Strict mode asks two approvers for what normally needs one: the config file's `authorization.strict`. */
const STRICT_PATCH = { strict: { levels: { '2': { approvals: 2 } } } };

let bot: GovernanceBot;
let people: ReturnType<typeof channelPeople>;

beforeAll(async () => {
  bot = await startGovernanceBot({
    roles: ROLES,
    authorization: STRICT_PATCH,
    modesTtlMs: 0,
    extraUsers: [{ id: ADMIN, name: 'admin', realName: 'Ada Admin', roleLabel: 'admin' }],
    prefix: 'acgs_slack_governance',
  });
  people = channelPeople(bot.t);
}, 60_000);

afterAll(async () => {
  await bot?.close();
});

const modes = async () => (await bot.engineClient.metrics()).mode;

/** The trail's records of one approval request, oldest first. */
async function recordsOf(command: string, requestId: string) {
  const { records } = await bot.trail.trail.query({ command, limit: 200 });
  return records.filter((record) => (record.details as { request_id?: string } | null)?.request_id === requestId).reverse();
}

describe('strict mode through the buttons', () => {
  it('turns the Policy Engine\'s strict mode on after one approval, and later decisions follow the strict patch', async () => {
    expect(await modes()).toEqual({ strict: false, lockdown: false });
    const { ts, id } = await people.request(ONCALL, 'strict-mode on');
    expect(people.messageText(ts)).toContain('0 of 1 approved');
    expect(people.messageText(ts)).toContain('strict mode off · lockdown off');
    expect((await modes()).strict, 'nothing changes before the approval').toBe(false);

    await people.click(APPROVER1, 'approve', ts);
    const done = await people.untilMessage(ts, 'Strict mode on');
    expect(done).toContain(`1 of 1 approved by <@${APPROVER1}>`);
    expect(await modes()).toEqual({ strict: true, lockdown: false });
    expect(people.buttonsOf(ts)).toEqual([]);
    expect((await recordsOf('strict-mode', id)).map((record) => [record.kind, record.actor])).toEqual([
      ['approval_requested', ONCALL],
      ['vote', APPROVER1],
      ['approval_resolved', APPROVER1],
      ['execution', ONCALL],
      ['result', ONCALL],
    ]);

    // The same Level 2 command now needs two approvals: the policy read the engine's strict mode.
    const can = await people.type(ONCALL, 'can cache clear', 'cache clear');
    expect(can.text).toMatch(/2 approvals/);
    const clear = await people.request(ONCALL, 'cache clear');
    expect(people.messageText(clear.ts)).toContain('0 of 2 approved');
    await people.click(ONCALL, 'cancel', clear.ts);
    await people.untilMessage(clear.ts, `Cancelled by <@${ONCALL}>`);
  });

  it('turns strict mode off only after two approvals while it is on, and cache clear needs one again', async () => {
    expect((await modes()).strict).toBe(true);
    const { ts } = await people.request(ONCALL, 'strict-mode off');
    expect(people.messageText(ts)).toContain('0 of 2 approved');
    await people.click(APPROVER1, 'approve', ts);
    await people.untilMessage(ts, `1 of 2 approved by <@${APPROVER1}>`);
    expect((await modes()).strict, 'one approval of two changes nothing').toBe(true);
    await people.click(APPROVER2, 'approve', ts);
    await people.untilMessage(ts, 'Strict mode off');
    expect(await modes()).toEqual({ strict: false, lockdown: false });
    const can = await people.type(ONCALL, 'can cache clear', 'cache clear');
    expect(can.text).toMatch(/1 approval\b/);
  });
});

describe('lockdown through the buttons', () => {
  it('`can lockdown` tells on-call that two different approvers must approve it, and runs nothing', async () => {
    const answer = await people.type(ONCALL, 'can lockdown', 'lockdown');
    expect(answer.visibleTo).toBe(ONCALL);
    expect(answer.text).toMatch(/Level 4/);
    expect(answer.text).toMatch(/2 approvals/);
    expect(answer.text).toMatch(/approvers or admins/);
    expect(answer.text).toMatch(/not you/);
    expect(await modes()).toEqual({ strict: false, lockdown: false });
  });

  it('puts the engine in lockdown only once two different approvers approve: it then denies a decision it allowed, and the lift allows it again', async () => {
    expect(await engineAllows(bot.engine.url)).toBe(true);
    const { ts, id } = await people.request(ONCALL, 'lockdown drill for incident 7');
    expect(people.messageText(ts)).toContain('0 of 2 approved');

    await people.click(APPROVER1, 'approve', ts);
    await people.untilMessage(ts, `1 of 2 approved by <@${APPROVER1}>`);
    await people.click(APPROVER1, 'approve', ts);
    await people.toldOnly(APPROVER1, 'Already counted');
    expect(await modes(), 'the same approver twice is one approval').toEqual({ strict: false, lockdown: false });
    expect(await engineAllows(bot.engine.url)).toBe(true);

    await people.click(APPROVER2, 'approve', ts);
    const done = await people.untilMessage(ts, 'Emergency lockdown on');
    expect(done).toContain(`2 of 2 approved by <@${APPROVER1}> and <@${APPROVER2}>`);
    expect(done).toContain('drill for incident 7');
    expect(await modes()).toEqual({ strict: false, lockdown: true });
    expect(await engineAllows(bot.engine.url)).toBe(false);
    expect((await recordsOf('lockdown', id)).filter((record) => record.kind === 'execution')).toHaveLength(1);

    // Under the lockdown the policy refuses other changes at once: nobody is even asked.
    const refused = await people.type(ONCALL, 'cache clear', 'cache clear: refused');
    expect(refused.text).toMatch(/lockdown/i);

    const lift = await people.request(ONCALL, 'lockdown lift');
    expect(people.messageText(lift.ts)).toContain('0 of 2 approved');
    expect(people.messageText(lift.ts)).toContain('lockdown on');
    await people.click(APPROVER2, 'approve', lift.ts);
    await people.untilMessage(lift.ts, `1 of 2 approved by <@${APPROVER2}>`);
    expect(await engineAllows(bot.engine.url)).toBe(false);
    await people.click(APPROVER1, 'approve', lift.ts);
    await people.untilMessage(lift.ts, 'Lockdown lifted');
    expect(await modes()).toEqual({ strict: false, lockdown: false });
    expect(await engineAllows(bot.engine.url)).toBe(true);
  });

  it('refuses the requester approving their own lockdown, and a deny ends it: the engine never locks down', async () => {
    const { ts, id } = await people.request(ONCALL, 'lockdown');
    await people.click(ONCALL, 'approve', ts);
    await people.toldOnly(ONCALL, 'You requested this; someone else must approve it');
    await people.click(APPROVER1, 'approve', ts);
    await people.untilMessage(ts, '1 of 2 approved');
    await people.click(APPROVER2, 'deny', ts);
    await people.untilMessage(ts, `Denied by <@${APPROVER2}>`);
    expect(people.buttonsOf(ts)).toEqual([]);
    expect(await modes()).toEqual({ strict: false, lockdown: false });
    expect((await recordsOf('lockdown', id)).map((record) => record.kind)).not.toContain('execution');
  });
});

describe('break-glass through Slack', () => {
  const lockdownRecords = async () => (await bot.trail.trail.query({ command: 'lockdown', limit: 200 })).records;

  it('runs an admin\'s break-glass lockdown at once, flagged for everyone in the channel and in the trail, and a Slack retry of that delivery runs nothing again', async () => {
    expect(await modes()).toEqual({ strict: false, lockdown: false });
    const before = (await lockdownRecords()).length;
    const reason = 'policy engine is serving bad decisions';
    const sent = { userId: ADMIN, channelId: 'C0ACGSOPS01', text: `break-glass "${reason}" lockdown` };
    const reply = await bot.t.standIn.slashCommand(sent);
    expect(reply.status).toBe(200);
    const flagged = await bot.t.standIn.waitFor(
      () => bot.t.standIn.messages('C0ACGSOPS01').find((message) => message.text.includes('BREAK-GLASS: Emergency lockdown on')),
      10_000,
      'the flagged answer in the channel',
    );
    expect(flagged.visibleTo, 'everyone in the channel sees the flag').toBeUndefined();
    expect(people.messageText(flagged.ts)).toContain(reason);
    expect(await modes()).toEqual({ strict: false, lockdown: true });
    expect(await engineAllows(bot.engine.url)).toBe(false);

    const records = (await lockdownRecords()).slice(0, (await lockdownRecords()).length - before).reverse();
    expect(records.map((record) => [record.kind, record.decision, record.actor])).toEqual([
      ['command', 'break_glass', ADMIN],
      ['break_glass', 'break_glass', ADMIN],
      ['execution', 'break_glass', ADMIN],
      ['result', 'break_glass', ADMIN],
    ]);
    expect(records[1]!.details).toMatchObject({ reason });

    // Slack did not see the ack in time and sends the same envelope again, twice: nothing runs again.
    const flags = () => bot.t.standIn.messages('C0ACGSOPS01').filter((message) => message.text.includes('BREAK-GLASS')).length;
    const flagsBefore = flags();
    expect((await reply.redeliver({ retry: { num: 1, reason: 'http_timeout' } })).status).toBe(200);
    expect((await reply.redeliver({ retry: { num: 2, reason: 'http_timeout' } })).status).toBe(200);
    await expect.poll(() => bot.t.metric('duplicateDeliveries', { kind: 'command' })).toBeGreaterThanOrEqual(2);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await lockdownRecords()).length, 'no record of a second run').toBe(before + 4);
    expect(flags()).toBe(flagsBefore);

    // Lifted the ordinary way: break-glass is only for Level 4, and the lift is Level 3.
    const liftByGlass = await people.type(ADMIN, `break-glass "${reason}" lockdown lift`, 'lockdown lift: refused');
    expect(liftByGlass.text).toMatch(/Level 4/);
    const lift = await people.request(ONCALL, 'lockdown lift');
    await people.click(APPROVER1, 'approve', lift.ts);
    await people.untilMessage(lift.ts, '1 of 2 approved');
    await people.click(APPROVER2, 'approve', lift.ts);
    await people.untilMessage(lift.ts, 'Lockdown lifted');
    expect(await engineAllows(bot.engine.url)).toBe(true);
  });

  it.each([
    { who: 'on-call (not an admin)', user: ONCALL, line: 'break-glass "policy engine is serving bad decisions" lockdown', answer: 'lockdown: refused', says: /admins/ },
    { who: 'an approver (not an admin)', user: APPROVER1, line: 'break-glass "policy engine is serving bad decisions" lockdown', answer: 'lockdown: refused', says: /admins/ },
    { who: 'an admin with a reason too short to review', user: ADMIN, line: 'break-glass "oops" lockdown', answer: 'lockdown: refused', says: /at least 10 characters/ },
    { who: 'an admin with a blank reason', user: ADMIN, line: 'break-glass "   " lockdown', answer: 'Break-glass needs a reason in quotes', says: /nothing was run/ },
    { who: 'an admin without a quoted reason', user: ADMIN, line: 'break-glass lockdown now', answer: 'Break-glass needs a reason in quotes', says: /nothing was run/ },
  ])('refuses break-glass by $who, only to them, and the engine does not lock down', async ({ user, line, answer, says }) => {
    const before = (await lockdownRecords()).filter((record) => record.kind === 'execution').length;
    const told = await people.type(user, line, answer);
    expect(told.visibleTo).toBe(user);
    expect(told.text).toMatch(says);
    expect(await modes()).toEqual({ strict: false, lockdown: false });
    expect((await lockdownRecords()).filter((record) => record.kind === 'execution')).toHaveLength(before);
  });
});

describe('help', () => {
  it('lists break-glass with the commands, and `help break-glass` explains it', async () => {
    const list = await people.type(ONCALL, 'help', 'ACGS ChatOps commands');
    expect(list.text).toContain('break-glass "<reason>" <command ...>');
    const one = await people.type(ONCALL, 'help break-glass', 'break-glass');
    expect(one.text).toContain('/acgs break-glass "policy engine is serving bad decisions" lockdown');
    expect(one.text).toMatch(/admins/);
    expect(one.text).toMatch(/Level 4/);
  });
});
