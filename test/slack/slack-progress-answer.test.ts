/**
 * How a slash command that told steps gets its answer when the answer cannot simply be the last
 * reply of the public thread: an ephemeral answer (a refusal, an internal error after a step) must
 * reach only the person who asked and never the thread or the first message's edit; an answer the
 * thread refuses (the bot removed from the channel mid-command) still reaches the person through
 * the response_url instead of "something went wrong" about a command that did run.
 * Real HTTP receiver, Slack stand-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CommandError, defineCommand } from '../../commands/command.js';
import { blockText, fixtureRegistry, ONCALL, startBotWithStandIn, type BotUnderTest, type RunLog } from '../testing/slack-harness.js';

const STEPS = 'C0PROGSTEPS';
const LEAVING = 'C0PROGLEAVE';

let t: BotUnderTest;

const stepThenRefuse = (log: RunLog) =>
  defineCommand({
    name: 'step-then-refuse',
    summary: 'Tells one step, then refuses',
    usage: '',
    examples: ['step-then-refuse'],
    level: 'read',
    args: z.object({}),
    async run(context) {
      log.runs.push('step-then-refuse');
      await context.progress({ text: 'first replica is back' });
      throw new CommandError('the second replica is private-detail-xyz', 'Ask someone with the key.', 'refused');
    },
  });

const stepThenLeave = (log: RunLog) =>
  defineCommand({
    name: 'step-then-leave',
    summary: 'Tells one step, then the bot is removed from the channel before the answer',
    usage: '',
    examples: ['step-then-leave'],
    level: 'read',
    args: z.object({}),
    async run(context) {
      log.runs.push('step-then-leave');
      await context.progress({ text: 'flushed the cache' });
      // Steps are posted without holding the command: leave once the step is the thread's parent.
      await t.standIn.waitFor(() => t.standIn.messages(LEAVING).some((message) => blockText(message.blocks).includes('flushed the cache')), 5000, 'the step posted');
      t.standIn.workspace.findChannel(LEAVING)!.botIsMember = false;
      return { title: 'Leave done', tone: 'ok', summary: 'Everything was done.', blocks: [] };
    },
  });

beforeAll(async () => {
  t = await startBotWithStandIn({
    mode: 'http',
    registry: (log) => fixtureRegistry(log, [stepThenRefuse(log), stepThenLeave(log)]),
    workspace: {
      channels: [
        { id: STEPS, name: 'progress-steps' },
        { id: LEAVING, name: 'progress-leaving' },
      ],
    },
  });
});

afterAll(async () => {
  await t?.close();
});

describe('the answer of a slash command that told steps', () => {
  it('keeps an ephemeral answer to the person who asked: not in the thread, not on the first message', async () => {
    await t.standIn.slashCommand({ userId: ONCALL, channelId: STEPS, text: 'step-then-refuse' });
    const answer = await t.standIn.waitFor(
      () => t.standIn.messages(STEPS, { includeEphemeralFor: ONCALL }).find((message) => blockText(message.blocks).includes('private-detail-xyz')),
      5000,
      'the refusal, shown to the person who asked',
    );
    expect(answer.visibleTo ?? (answer.responseType === 'ephemeral' ? ONCALL : undefined)).toBe(ONCALL);
    const parent = t.standIn.messages(STEPS).find((message) => blockText(message.blocks).includes('first replica is back'))!;
    expect(parent).toBeDefined();
    // The first message says the command ended without telling the channel how.
    await t.standIn.waitFor(() => t.standIn.messages(STEPS).find((message) => message.ts === parent.ts && message.edited), 5000, 'the first message closed');
    const closed = t.standIn.messages(STEPS).find((message) => message.ts === parent.ts)!;
    expect(blockText(closed.blocks)).toContain('Finished. The answer was shown only to the person who ran the command.');
    expect(t.standIn.thread(STEPS, parent.ts)).toHaveLength(1);
    const everyoneSees = [...t.standIn.messages(STEPS), ...t.standIn.thread(STEPS, parent.ts)];
    expect(everyoneSees.some((message) => `${message.text}\n${blockText(message.blocks)}`.includes('private-detail-xyz'))).toBe(false);
    expect(everyoneSees.some((message) => message.visibleTo === undefined && blockText(message.blocks).includes('Ask someone with the key'))).toBe(false);
  });

  it('answers through the response_url when the thread refuses the answer, instead of saying something went wrong', async () => {
    await t.standIn.slashCommand({ userId: ONCALL, channelId: LEAVING, text: 'step-then-leave' });
    const answer = await t.standIn.waitFor(
      () => t.standIn.messages(LEAVING, { includeEphemeralFor: ONCALL }).find((message) => blockText(message.blocks).includes('Leave done')),
      5000,
      'the answer through the response_url',
    );
    expect(answer.responseType).toBe('in_channel');
    expect(t.log.count('step-then-leave')).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const said = t.standIn.messages(LEAVING, { includeEphemeralFor: ONCALL }).map((message) => `${message.text}\n${blockText(message.blocks)}`);
    expect(said.some((text) => text.includes('Something went wrong'))).toBe(false);
    // What the thread refused is in the log, not lost.
    expect(t.logLines.some((line) => line.msg === 'a progress message could not be posted in Slack')).toBe(true);
  });
});
