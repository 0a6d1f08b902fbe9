/**
 * `/acgs run` in the Slack stand-in, through the real bot (Bolt's HTTP receiver), the real
 * commands and authorization policy, with the runbook engine on the real PostgreSQL and the real
 * run-message publisher, wired as bot/main.ts wires them: the channel gets one message per run
 * (the run's own, kept current), and the person who typed the command a short private pointer to
 * it, never a second card with the state at the start and an Abort button.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCommandRegistry } from '../../commands/index.js';
import { createGateStore } from '../../runbooks/engine/gate-store.js';
import { runbookTestDatabase, type RunbookTestDatabase } from '../../runbooks/engine/testing/database.js';
import { scriptedRunbook } from '../../runbooks/engine/testing/scripted-runbooks.js';
import { openTestTrail, testGate, type TestTrail } from '../../test/testing/command-access.js';
import { runScriptedRunbooks, type PublishedRuns } from '../../test/testing/run-messages.js';
import { servicesNowhere } from '../../test/testing/services-nowhere.js';
import { blockText, ONCALL, OPS, startBotWithStandIn, type BotUnderTest } from '../../test/testing/slack-harness.js';
import { createRunbookRuns } from '../runbook-runs/runbook-runs.js';

let t: RunbookTestDatabase;
let trail: TestTrail;
let bot: BotUnderTest;
let runs: PublishedRuns;

beforeAll(async () => {
  t = await runbookTestDatabase();
  trail = await openTestTrail({ prefix: 'acgs_run_answer' });
  runs = runScriptedRunbooks(t, [scriptedRunbook(t.pool, 'look-around', [{ id: 'first' }, { id: 'second' }], { level: 0 })]);
  const services = await servicesNowhere({ authorization: await testGate({ roles: { oncall: [ONCALL], approvers: [], admins: [] } }), trail: trail.trail });
  services.runs = createRunbookRuns({ registry: runs.registry, executor: runs.executor, store: t.store, gates: createGateStore(t.pool), onStartedInChannel: async (runId, channel) => runs.publisher.publish(runId, channel) });
  bot = await startBotWithStandIn({ mode: 'http', registry: () => createCommandRegistry(), botOverrides: { services } });
  await runs.publishTo(bot.standIn);
}, 30_000);

afterAll(async () => {
  await runs?.stop();
  await bot?.close();
  await trail?.close();
  await t?.close();
});

const privateTo = (user: string) => bot.standIn.messages(OPS, { includeEphemeralFor: user }).filter((message) => message.visibleTo === user);
const hasButtons = (blocks: unknown) => JSON.stringify(blocks ?? []).includes('"button"');

describe('a run started with /acgs run in a channel', () => {
  it('is one message in the channel, kept to its end; the answer points to it privately, without buttons', async () => {
    const channelBefore = bot.standIn.messages(OPS).filter((message) => !message.threadTs).length;
    await bot.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'run look-around' });
    const answer = await bot.standIn.waitFor(() => privateTo(ONCALL).find((reply) => blockText(reply.blocks).includes('Run started: look-around')), 10_000, 'the answer to run');
    const runId = /Run ([0-9a-f-]{36}) /.exec(blockText(answer.blocks))?.[1];
    expect(runId, blockText(answer.blocks)).toBeDefined();
    expect(blockText(answer.blocks)).toContain('is shown in its own message in this channel');
    expect(blockText(answer.blocks)).not.toContain('waiting to start');
    expect(hasButtons(answer.blocks)).toBe(false);

    const ended = await bot.standIn.waitFor(
      () => bot.standIn.messages(OPS).find((message) => !message.threadTs && blockText(message.blocks).includes(runId!) && blockText(message.blocks).includes('succeeded')),
      15_000,
      'the run message to show the run succeeded',
    );
    await runs.publisher.idle();
    const inChannel = bot.standIn.messages(OPS).filter((message) => !message.threadTs);
    expect(inChannel.length - channelBefore, JSON.stringify(inChannel.map((message) => blockText(message.blocks).split('\n')[0]))).toBe(1);
    expect(inChannel.at(-1)!.ts).toBe(ended.ts);
    expect(blockText(ended.blocks)).toContain(`Started by <@${ONCALL}>`);
    // Only the run's own message carries buttons while it runs; ended, it has none.
    expect(hasButtons(ended.blocks)).toBe(false);
  }, 30_000);

  it('answers `run status` with the requester as a mention', async () => {
    const [run] = await t.store.activeAndRecent(1);
    await bot.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: `run status ${run!.id}` });
    const answer = await bot.standIn.waitFor(
      () => bot.standIn.messages(OPS, { includeEphemeralFor: ONCALL }).filter((message) => blockText(message.blocks).includes(`Run ${run!.id.slice(0, 8)}: look-around`)).at(-1),
      10_000,
      'the answer to run status',
    );
    expect(blockText(answer.blocks)).toContain(`<@${ONCALL}> (slash)`);
  });
});
