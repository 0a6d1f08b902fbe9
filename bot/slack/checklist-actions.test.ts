/**
 * A checklist's message in the Slack stand-in, through the real bot (Bolt's HTTP receiver), the
 * real commands, the real authorization policy and the bot's audit trail on the real PostgreSQL:
 * started with `/acgs checklist monthly-review`, its buttons clicked by people with and without
 * the on-call role, until it is completed, then clicked again; and buttons nobody rendered.
 */
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createCommandRegistry } from '../../commands/index.js';
import type { ChecklistInfo } from '../../commands/ports.js';
import { allChecklists, createChecklistBook } from '../../runbooks/checklists/index.js';
import { migrateChecklistStore } from '../../runbooks/checklists/checklist-store.js';
import { openTestTrail, testGate, type TestTrail } from '../../test/testing/command-access.js';
import { servicesNowhere } from '../../test/testing/services-nowhere.js';
import { blockText, BOT_TOKEN, ONCALL, OPS, standInClient, startBotWithStandIn, type BotUnderTest } from '../../test/testing/slack-harness.js';
import { channelWriteQueue } from './channel-write-queue.js';
import { createChecklistMessages, type ChecklistMessages } from './checklist-messages.js';

/** In the stand-in's workspace, with no role here. */
const VIEWER = 'U0APPROVER2';

let trail: TestTrail;
let bot: BotUnderTest;
let book: ReturnType<typeof createChecklistBook>;
let messages: ChecklistMessages;

beforeAll(async () => {
  trail = await openTestTrail({ prefix: 'acgs_checklist_slack' });
  await migrateChecklistStore(trail.pool);
  const services = await servicesNowhere({ authorization: await testGate({ roles: { oncall: [ONCALL], approvers: [], admins: [] } }), trail: trail.trail });
  book = createChecklistBook({ pool: trail.pool, definitions: allChecklists, services, onChanged: async (checklist) => void messages?.show(checklist) });
  services.checklists = book;
  bot = await startBotWithStandIn({ mode: 'http', registry: () => createCommandRegistry(), botOverrides: { services } });
  messages = createChecklistMessages({ queue: channelWriteQueue(standInClient(bot.standIn), { minEditIntervalMs: 50 }), store: book.store });
}, 30_000);

afterAll(async () => {
  await messages?.idle();
  await bot?.close();
  await trail?.close();
});

const checklistMessage = () => bot.standIn.messages(OPS).find((message) => blockText(message.blocks).includes('Monthly review checklist'));
const waitForMessage = (words: string) =>
  bot.standIn.waitFor(() => {
    const message = checklistMessage();
    return message && blockText(message.blocks).includes(words) ? message : undefined;
  }, 10_000, `the checklist message to say ${words}`);
const privateTo = (user: string, since: number) => bot.standIn.messages(OPS, { includeEphemeralFor: user }).filter((message) => message.visibleTo === user).slice(since);
const waitForPrivate = (user: string, since: number) => bot.standIn.waitFor(() => privateTo(user, since)[0], 5000, `a private answer to ${user}`);
const click = (userId: string, messageTs: string, actionId: string, item?: string) =>
  bot.standIn.clickButton({ userId, channelId: OPS, messageTs, actionId, ...(item ? { blockId: `acgs_checklist_item_${item}` } : {}) });
const trailOf = async (command: string) => (await trail.trail.query({ command, limit: 200 })).records;

let started: ChecklistInfo;

describe('a checklist started in Slack', () => {
  it('is posted as one message with a Tick per manual item and Confirm by hand for the check the bot could not make', async () => {
    await bot.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'checklist monthly-review' });
    const message = await waitForMessage('0 of 7 items passed or ticked');
    await messages.idle();
    const text = blockText(message.blocks);
    expect(text).toContain('Could not check: This process has no backup catalog');
    const { open } = await book.recent(10);
    expect(open).toHaveLength(1);
    started = open[0]!;
    expect(started).toMatchObject({ checklist: 'monthly-review', startedBy: ONCALL, origin: 'slash', channel: OPS, messageTs: message.ts });
    // The one who started it reads privately that the message is where to tick.
    const answer = await bot.standIn.waitFor(() => privateTo(ONCALL, 0).find((reply) => blockText(reply.blocks).includes('Started: Monthly review checklist')), 5000, 'the start answer');
    expect(blockText(answer.blocks)).toContain('Its message in the channel is kept current');
    expect(blockText(answer.blocks)).toContain(`Started by <@${ONCALL}> at`);
  });

  it('records a tick by the on-call engineer in the trail with who and when, and the message shows it', async () => {
    const since = new Date(Date.now() - 1000);
    const message = checklistMessage()!;
    await click(ONCALL, message.ts, 'acgs_checklist_tick', 'team-training');
    await waitForMessage('1 of 7 items passed or ticked');
    expect(blockText(checklistMessage()!.blocks)).toContain(`Ticked by <@${ONCALL}>`);
    // The result record follows the command's end, which the message can show before it.
    const records = await vi.waitFor(async () => {
      const found = await trailOf('checklist tick');
      expect(found.map((record) => record.kind).sort()).toEqual(['command', 'execution', 'result']);
      return found;
    }, { timeout: 5000, interval: 50 });
    for (const record of records) {
      expect(record).toMatchObject({ actor: ONCALL, origin: 'button', channel: OPS, args: { id: started.id, item: 'team-training' } });
    }
    for (const record of records) expect(Date.parse(record.at)).toBeGreaterThanOrEqual(since.getTime());
    const { checklist, events } = await book.get(started.id);
    expect(checklist.items.find((item) => item.id === 'team-training')).toMatchObject({ state: 'ticked', tickedBy: ONCALL });
    expect(events.filter((event) => event.action === 'tick')).toMatchObject([{ itemId: 'team-training', actor: ONCALL }]);
  });

  it('refuses a tick by someone without the role, privately, recording the refusal and changing nothing', async () => {
    const before = await book.get(started.id);
    const privateBefore = privateTo(VIEWER, 0).length;
    await click(VIEWER, checklistMessage()!.ts, 'acgs_checklist_tick', 'security-review');
    const answer = await waitForPrivate(VIEWER, privateBefore);
    expect(blockText(answer.blocks)).toContain('checklist tick: refused');
    expect(blockText(answer.blocks)).toContain('the oncall or admins role may request; you hold no role');
    expect(bot.standIn.messages(OPS).some((message) => message.ts === answer.ts)).toBe(false);
    expect(await book.get(started.id)).toEqual(before);
    const refused = (await trailOf('checklist tick')).filter((record) => record.actor === VIEWER);
    expect(refused.map((record) => [record.kind, record.decision])).toEqual([['command', 'deny']]);
  });

  it('completes with the last tick, says who completed it, drops its buttons; a click on the stale buttons is refused privately', async () => {
    const stale = structuredClone(checklistMessage()!.blocks);
    const ts = checklistMessage()!.ts;
    for (const item of ['performance-trends', 'capacity-planning', 'security-review', 'backup-integrity', 'dr-procedures-tested']) {
      await click(ONCALL, ts, 'acgs_checklist_tick', item);
    }
    await waitForMessage('6 of 7 items passed or ticked');
    await click(ONCALL, ts, 'acgs_checklist_tick', 'documentation-updated');
    const done = await waitForMessage('completed by');
    expect(blockText(done.blocks)).toContain(`completed by <@${ONCALL}>`);
    expect(JSON.stringify(done.blocks)).not.toContain('acgs_checklist_tick');
    expect((await book.get(started.id)).checklist.completedBy).toBe(ONCALL);

    const eventsBefore = (await book.get(started.id)).events.length;
    bot.standIn.workspace.edit(OPS, ts, { blocks: stale }, 'test');
    const privateBefore = privateTo(ONCALL, 0).length;
    await click(ONCALL, ts, 'acgs_checklist_untick', 'team-training');
    const answer = await bot.standIn.waitFor(
      () => privateTo(ONCALL, privateBefore).find((reply) => blockText(reply.blocks).includes('was completed by')),
      5000,
      'a private refusal',
    );
    expect(blockText(answer.blocks)).toContain('it changes no more');
    expect((await book.get(started.id)).events.length).toBe(eventsBefore);
  });
});

describe('bad input', () => {
  it('answers an unknown checklist name by naming the ones there are, and starts nothing', async () => {
    const before = (await book.recent(100)).open.length;
    const privateBefore = privateTo(ONCALL, 0).length;
    await bot.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'checklist weekly-review' });
    const answer = await waitForPrivate(ONCALL, privateBefore);
    expect(blockText(answer.blocks)).toContain('There is no checklist "weekly-review"; the checklists are pre-deployment, post-deployment, monthly-review.');
    expect((await book.recent(100)).open.length).toBe(before);
  });

  it('answers a forged button privately and runs no command', async () => {
    const client = new WebClient(BOT_TOKEN, { slackApiUrl: bot.standIn.apiUrl });
    const posted = await client.chat.postMessage({
      channel: OPS,
      text: 'forged',
      blocks: [
        { type: 'section', block_id: 'forged', text: { type: 'mrkdwn', text: 'Tick me' }, accessory: { type: 'button', action_id: 'acgs_checklist_tick', text: { type: 'plain_text', text: 'Tick' }, value: `${started.id} team-training; redis flush` } },
      ],
    });
    const ticks = (await trailOf('checklist')).length;
    const privateBefore = privateTo(ONCALL, 0).length;
    await bot.standIn.clickButton({ userId: ONCALL, channelId: OPS, messageTs: posted.ts!, actionId: 'acgs_checklist_tick' });
    const answer = await waitForPrivate(ONCALL, privateBefore);
    expect(answer.text).toBe('This button names no checklist item; nothing was done.');
    expect((await trailOf('checklist')).length).toBe(ticks);
  });
});
