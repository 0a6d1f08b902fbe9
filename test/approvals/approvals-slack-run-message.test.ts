/**
 * An escalated run approved with the request's buttons, with the run-message publisher wired as
 * bot/main.ts wires it, through the real Bolt HTTP receiver and the Slack stand-in, the real
 * policy, approval store, trail and runbook engine on the real PostgreSQL: the run gets its own
 * message in the channel, and the approval card's answer only points to it (no second card with
 * the state at the start and an Abort button going stale beside the run's own).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MARKS_TABLE_SQL } from '../../runbooks/engine/testing/database.js';
import { scriptedRunbook } from '../../runbooks/engine/testing/scripted-runbooks.js';
import { FINAL_RUN_STATES } from '../../runbooks/engine/run-store.js';
import { channelPeople, startGovernanceBot, type GovernanceBot } from '../testing/governance-bot.js';
import { blockText, ONCALL, OPS } from '../testing/slack-harness.js';
import { waitForRunState } from '../runbooks/testing/run-records.js';

const APPROVER1 = 'U0APPROVER1';
const APPROVER2 = 'U0APPROVER2';

let bot: GovernanceBot;
let people: ReturnType<typeof channelPeople>;

beforeAll(async () => {
  bot = await startGovernanceBot({
    roles: { oncall: [ONCALL], approvers: [APPROVER1, APPROVER2], admins: [] },
    modesTtlMs: 0,
    prefix: 'acgs_slack_run_message',
    runMessages: true,
    runbooks: async (pool) => {
      await pool.query(MARKS_TABLE_SQL);
      return [scriptedRunbook(pool, 'flush-drill', [{ id: 'flush', title: 'Flush the cache' }, { id: 'check', kind: 'verify', title: 'The cache answers' }], { level: 2, summary: 'A Level 2 drill' })];
    },
  });
  people = channelPeople(bot.t);
}, 60_000);

afterAll(async () => {
  await bot?.close();
});

const topLevel = () => bot.t.standIn.messages(OPS).filter((message) => !message.threadTs);
/** A button of a rendered answer carries its command line (bot/slack/render.ts). */
const offersAbort = (blocks: unknown) => /"button".*run abort/.test(JSON.stringify(blocks ?? []));

describe('an approved run with its own run message', () => {
  it('is shown once in the channel, kept to its end; the approval card only points to it', async () => {
    const { ts, id } = await people.request(ONCALL, 'run flush-drill');
    const before = new Set(topLevel().map((message) => message.ts));
    await people.click(APPROVER1, 'approve', ts);

    const card = await people.untilMessage(ts, 'Run started: flush-drill');
    const runId = /Run ([0-9a-f-]{36}) /.exec(card)?.[1];
    expect(runId, card).toBeDefined();
    expect(card).toContain('is shown in its own message in this channel');
    // The pointer, not the whole start card: no state at the start, no step table, no Abort.
    expect(card).not.toContain('waiting to start');
    expect(card).not.toContain('Undo on abort');
    expect(offersAbort(bot.t.standIn.workspace.find(OPS, ts)?.blocks)).toBe(false);
    expect((await bot.approvals.get(id))?.state).toBe('executed');

    expect(await waitForRunState(bot.runEngine!.store, runId!, FINAL_RUN_STATES, 15_000)).toMatchObject({ state: 'succeeded', requester: ONCALL, origin: 'approval' });
    const ended = await bot.t.standIn.waitFor(
      () => topLevel().find((message) => blockText(message.blocks).includes(runId!) && blockText(message.blocks).includes('succeeded')),
      15_000,
      'the run message to show the run succeeded',
    );
    await bot.runMessages!.idle();
    const added = topLevel().filter((message) => !before.has(message.ts));
    expect(added.map((message) => message.ts), 'one new message in the channel: the run\'s own').toEqual([ended.ts]);
    expect(blockText(ended.blocks)).toContain(`Started by <@${ONCALL}>`);
  }, 40_000);
});
