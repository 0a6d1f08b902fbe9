/**
 * A slow Slack does not slow the command that tells steps: with chat.postMessage answering 429
 * (Retry-After 2 s, which the real WebClient waits out), the command's own work still takes as long
 * as it takes without Slack, while its steps arrive in order and before its answer, after a slash
 * command, a mention and a button alike. Real HTTP receiver, Slack stand-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineCommand } from '../../commands/command.js';
import { blockText, fixtureRegistry, ONCALL, startBotWithStandIn, type BotUnderTest, type RunLog } from '../testing/slack-harness.js';

const SLOW = 'C0PROGSLOW1';
/**
 * One 429 with Retry-After 2 s: the first step waits two seconds for Slack. One, not more: the
 * WebClient resumes its queue before it retries, so an answer posted meanwhile would overtake the
 * step, which is what the order checks catch.
 */
const RATE_LIMITED_CALLS = 1;
const RETRY_AFTER_S = 2;
/** The command's own work is a few 20 ms pauses; Slack's two seconds must not show in it. */
const WORK_BUDGET_MS = 1000;

/** How long each run of `paced` spent between its start and its answer. */
const workMs: number[] = [];

/** Tells `count` steps 20 ms apart, then answers with a button that runs it again. */
const paced = (log: RunLog) =>
  defineCommand({
    name: 'paced',
    summary: 'Tells its steps 20 ms apart, then answers',
    usage: '<count>',
    examples: ['paced 3'],
    level: 'read',
    positionals: ['count'],
    args: z.object({ count: z.coerce.number().int().min(1).max(10) }),
    async run(context, { count }) {
      log.runs.push('paced');
      const started = performance.now();
      for (let n = 1; n <= count; n += 1) {
        await context.progress({ text: `paced part ${n} of ${count}` });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      workMs.push(performance.now() - started);
      return { title: `Paced ${count} parts`, tone: 'ok', blocks: [], actions: [{ label: 'Pace again', command: `paced ${count}` }] };
    },
  });

let t: BotUnderTest;

beforeAll(async () => {
  t = await startBotWithStandIn({
    mode: 'http',
    registry: (log) => fixtureRegistry(log, [paced(log)]),
    workspace: { channels: [{ id: SLOW, name: 'progress-slow' }] },
  });
});

afterAll(async () => {
  await t?.close();
});

/** Makes the next chat.postMessage calls wait for Slack, and returns how many 429s were answered before. */
function slowDownSlack(): number {
  const before = t.standIn.rateLimitedCount('chat.postMessage');
  t.standIn.rateLimitNext('chat.postMessage', RATE_LIMITED_CALLS, RETRY_AFTER_S);
  return before;
}

const firstLines = (messages: Array<{ blocks?: unknown[] }>) => messages.map((message) => blockText(message.blocks).split('\n')[0]);

describe('steps told while Slack is slow', () => {
  it('do not hold a slash command, and still come in order before its answer in the thread', async () => {
    const limitedBefore = slowDownSlack();
    await t.standIn.slashCommand({ userId: ONCALL, channelId: SLOW, text: 'paced 3' });
    const parent = await t.standIn.waitFor(() => t.standIn.messages(SLOW).find((message) => blockText(message.blocks).includes('paced part 1 of 3')), 10_000, 'the first step');
    const thread = await t.standIn.waitFor(
      () => {
        const messages = t.standIn.thread(SLOW, parent.ts);
        return messages.length === 4 && messages[0]!.edited ? messages : undefined;
      },
      10_000,
      'every step and the answer',
    );
    // Slack really was slow: the first step waited out the 429.
    expect(t.standIn.rateLimitedCount('chat.postMessage') - limitedBefore).toBe(RATE_LIMITED_CALLS);
    expect(workMs.at(-1)).toBeLessThan(WORK_BUDGET_MS);
    expect(firstLines(thread.slice(1))).toEqual([
      expect.stringContaining('*Step 2*  paced part 2 of 3'),
      expect.stringContaining('*Step 3*  paced part 3 of 3'),
      expect.stringContaining('Paced 3 parts'),
    ]);
    expect(blockText(thread[0]!.blocks)).toContain('*Step 1*  paced part 1 of 3');
  });

  it('do not hold a command run by a button in the thread, and come before its answer there', async () => {
    const parent = t.standIn.messages(SLOW).find((message) => blockText(message.blocks).includes('paced part 1 of 3'))!;
    const before = t.standIn.thread(SLOW, parent.ts).length;
    const answer = t.standIn.thread(SLOW, parent.ts).at(-1)!;
    slowDownSlack();
    await t.standIn.clickButton({ userId: ONCALL, channelId: SLOW, messageTs: answer.ts, actionId: 'acgs_run_0' });
    const added = await t.standIn.waitFor(
      () => {
        const messages = t.standIn.thread(SLOW, parent.ts).slice(before);
        return messages.length === 4 ? messages : undefined;
      },
      10_000,
      'three more steps and the answer in the thread',
    );
    expect(workMs.at(-1)).toBeLessThan(WORK_BUDGET_MS);
    expect(firstLines(added)).toEqual([
      expect.stringContaining('*Step 1*  paced part 1 of 3'),
      expect.stringContaining('*Step 2*  paced part 2 of 3'),
      expect.stringContaining('*Step 3*  paced part 3 of 3'),
      expect.stringContaining('Paced 3 parts'),
    ]);
  });

  it('do not hold a command run by a mention, and come before its answer in the mention thread', async () => {
    slowDownSlack();
    const mention = await t.standIn.postUserMessage({ userId: ONCALL, channelId: SLOW, text: `<@${t.standIn.workspace.bot.userId}> paced 2` });
    const replies = await t.standIn.waitFor(
      () => {
        const messages = t.standIn.thread(SLOW, mention.message.ts).slice(1);
        return messages.length === 3 ? messages : undefined;
      },
      10_000,
      'two steps and the answer in the mention thread',
    );
    expect(workMs.at(-1)).toBeLessThan(WORK_BUDGET_MS);
    expect(firstLines(replies)).toEqual([
      expect.stringContaining('*Step 1*  paced part 1 of 2'),
      expect.stringContaining('*Step 2*  paced part 2 of 2'),
      expect.stringContaining('Paced 2 parts'),
    ]);
  });
});
