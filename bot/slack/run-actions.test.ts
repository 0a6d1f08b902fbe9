/**
 * The run message's buttons, clicked in the Slack stand-in on a message the real publisher posted
 * for a run a real RunExecutor drives on the real PostgreSQL. The click goes through the real bot
 * (Bolt's HTTP receiver) and the one command path; `run decide` and `run abort` here are small
 * test commands of those names (the real ones live in commands/), so what is checked is the line
 * a click produces, that it reaches the command path as the clicker, and that refusals are private.
 */
import type { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CommandError, defineCommand, type CommandDefinition } from '../../commands/command.js';
import { RunbookInputError } from '../../runbooks/engine/errors.js';
import { DECISIONS, type RunRecord } from '../../runbooks/engine/run-store.js';
import { runbookTestDatabase, type RunbookTestDatabase } from '../../runbooks/engine/testing/database.js';
import { scriptedRunbook } from '../../runbooks/engine/testing/scripted-runbooks.js';
import { runScriptedRunbooks, type PublishedRuns } from '../../test/testing/run-messages.js';
import { servicesNowhere } from '../../test/testing/services-nowhere.js';
import { blockText, fixtureRegistry, ONCALL, OPS, RunLog, standInClient, startBotWithStandIn, type BotUnderTest } from '../../test/testing/slack-harness.js';

let t: RunbookTestDatabase;
let bot: BotUnderTest;
let runs: PublishedRuns;
let client: WebClient;
const ran: Array<{ line: string; actor: string; origin: string }> = [];

/** What the real commands will do, reduced to a call on the executor. */
function testRunCommands(): CommandDefinition[] {
  const asCommandError = (error: unknown) => (error instanceof RunbookInputError ? new CommandError(error.message, 'See `/acgs run status <id>`.', 'refused') : error);
  return [
    defineCommand({
      name: 'run decide',
      summary: 'Test stand-in for the real run decide',
      usage: '<id> retry|skip|abort',
      examples: ['run decide <id> retry'],
      level: 'read',
      positionals: ['id', 'decision'],
      args: z.object({ id: z.string(), decision: z.enum(DECISIONS) }),
      async run(context, { id, decision }) {
        ran.push({ line: `run decide ${id} ${decision}`, actor: context.actor.id, origin: context.origin });
        await runs.executor.decide(id, decision, context.actor.id).catch((error: unknown) => Promise.reject(asCommandError(error)));
        return { title: `Decided ${decision}`, tone: 'ok', blocks: [] };
      },
    }),
    defineCommand({
      name: 'run abort',
      summary: 'Test stand-in for the real run abort (escalated: refused while no policy is loaded)',
      usage: '<id>',
      examples: ['run abort <id>'],
      level: 1,
      positionals: ['id'],
      args: z.object({ id: z.string() }),
      async run(context, { id }) {
        ran.push({ line: `run abort ${id}`, actor: context.actor.id, origin: context.origin });
        await runs.executor.abort(id, context.actor.id);
        return { title: 'Aborting', tone: 'ok', blocks: [] };
      },
    }),
  ] as CommandDefinition[];
}

beforeAll(async () => {
  t = await runbookTestDatabase();
  // No policy loaded: the gate fails closed, so read-only commands run and escalated ones are refused.
  const services = await servicesNowhere();
  const registry = fixtureRegistry(new RunLog(), testRunCommands());
  bot = await startBotWithStandIn({ mode: 'http', registry: () => registry, botOverrides: { services } });
  // The app registers the run buttons itself (app.ts), on the same command path as slash commands.

  runs = runScriptedRunbooks(t, [scriptedRunbook(t.pool, 'flaky', [{ id: 'first' }, { id: 'second' }, { id: 'third' }])]);
  client = standInClient(bot.standIn);
  await runs.publishTo(bot.standIn);
}, 30_000);

afterAll(async () => {
  await runs?.stop();
  await bot?.close();
  await t?.close();
});

const messageOf = (run: RunRecord) => bot.standIn.messages(OPS).find((message) => !message.threadTs && JSON.stringify(message.blocks).includes(run.id));
const headerOf = (run: RunRecord) => blockText(messageOf(run)?.blocks).split('\n')[0] ?? '';
const waitForHeader = (run: RunRecord, words: string) => bot.standIn.waitFor(() => (headerOf(run).includes(words) ? messageOf(run) : undefined), 10_000, `the message to say ${words}`);
const privateTo = (user: string, since: number) => bot.standIn.messages(OPS, { includeEphemeralFor: user }).filter((message) => message.visibleTo === user).slice(since);

describe('clicking a run message\'s buttons', () => {
  it('Retry runs `run decide <id> retry` as the clicker through the command path, and the message follows the run to its end', async () => {
    const run = await runs.executor.submit({ runbook: 'flaky', args: { failAttempts: { second: 1 } }, requester: ONCALL, origin: 'test' });
    await runs.publisher.publish(run.id, OPS);
    const waiting = await waitForHeader(run, 'needs a decision');
    await bot.standIn.clickButton({ userId: ONCALL, channelId: OPS, messageTs: waiting.ts, actionId: 'acgs_runbook_retry' });
    await waitForHeader(run, 'succeeded');
    expect(ran).toContainEqual({ line: `run decide ${run.id} retry`, actor: ONCALL, origin: 'button' });
    expect((await t.store.get(run.id))!.decidedBy).toBe(ONCALL);
  });

  it('Skip runs `run decide <id> skip`; a second click on the stale buttons is answered privately and changes nothing', async () => {
    const run = await runs.executor.submit({ runbook: 'flaky', args: { failAttempts: { second: 5 } }, requester: ONCALL, origin: 'test' });
    await runs.publisher.publish(run.id, OPS);
    const waiting = await waitForHeader(run, 'needs a decision');
    const staleBlocks = structuredClone(waiting.blocks);
    const privateBefore = privateTo(ONCALL, 0).length;
    await bot.standIn.clickButton({ userId: ONCALL, channelId: OPS, messageTs: waiting.ts, actionId: 'acgs_runbook_skip' });
    await waitForHeader(run, 'succeeded');
    expect(ran).toContainEqual({ line: `run decide ${run.id} skip`, actor: ONCALL, origin: 'button' });
    // The message has no buttons now; a click from a client that still shows them finds the run decided.
    bot.standIn.workspace.edit(OPS, waiting.ts, { blocks: staleBlocks }, 'test');
    await bot.standIn.clickButton({ userId: ONCALL, channelId: OPS, messageTs: waiting.ts, actionId: 'acgs_runbook_decide_abort' });
    const answer = await bot.standIn.waitFor(() => privateTo(ONCALL, privateBefore)[0], 5000, 'a private answer');
    expect(blockText(answer.blocks)).toContain('waits for no decision');
    expect((await t.store.get(run.id))!.state).toBe('succeeded');
  });

  it('Abort (refused here: escalated, and no policy is loaded) is answered to the clicker only, and the run goes on', async () => {
    const run = await runs.executor.submit({ runbook: 'flaky', args: { holdMs: { second: 1500 } }, requester: ONCALL, origin: 'test' });
    await runs.publisher.publish(run.id, OPS);
    const running = await waitForHeader(run, 'running');
    const privateBefore = privateTo(ONCALL, 0).length;
    await bot.standIn.clickButton({ userId: ONCALL, channelId: OPS, messageTs: running.ts, actionId: 'acgs_runbook_abort' });
    const answer = await bot.standIn.waitFor(() => privateTo(ONCALL, privateBefore)[0], 5000, 'a private refusal');
    expect(blockText(answer.blocks)).toContain('"run abort" is refused');
    // Private: nobody else in the channel sees the refusal.
    expect(bot.standIn.messages(OPS).some((message) => message.ts === answer.ts)).toBe(false);
    expect(ran.some((entry) => entry.line === `run abort ${run.id}`)).toBe(false);
    await waitForHeader(run, 'succeeded');
  });

  it('a button that names no run is answered privately; nothing runs', async () => {
    const before = ran.length;
    const posted = await client.chat.postMessage({
      channel: OPS,
      text: 'forged',
      blocks: [{ type: 'actions', elements: [{ type: 'button', action_id: 'acgs_runbook_retry', text: { type: 'plain_text', text: 'Retry' }, value: 'backup; rm -rf' }] }],
    });
    const privateBefore = privateTo(ONCALL, 0).length;
    await bot.standIn.clickButton({ userId: ONCALL, channelId: OPS, messageTs: posted.ts!, actionId: 'acgs_runbook_retry' });
    const answer = await bot.standIn.waitFor(() => privateTo(ONCALL, privateBefore)[0], 5000, 'a private answer');
    expect(answer.text).toBe('This button names no run; nothing was done.');
    expect(ran.length).toBe(before);
  });
});
