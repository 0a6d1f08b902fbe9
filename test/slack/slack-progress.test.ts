/**
 * A multi-step command through the real HTTP receiver and the Slack stand-in: the first step is
 * the reply in the channel, the next ones are thread replies under it in order, the answer is the
 * last reply, and the first message ends up showing the outcome. A mention keeps everything in
 * the mention's thread; a command without steps answers as before; a channel the bot cannot post
 * in drops the steps and still answers through the response_url.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { renderProgressParent, renderProgressStep } from '../../bot/slack/render.js';
import { validateBlocks } from '../../bot/slack/stand-in/index.js';
import { defineCommand } from '../../commands/command.js';
import { restartDocument } from '../../commands/restart.js';
import { blockText, fixtureRegistry, ONCALL, OPS, startBotWithStandIn, type BotUnderTest, type RunLog } from '../testing/slack-harness.js';

const ELSEWHERE = 'C0NOTMEMBER';

/** Tells `count` steps, a little apart (the second one warns), then answers. */
const steps = (log: RunLog) =>
  defineCommand({
    name: 'steps',
    summary: 'Reports each of its steps, then answers',
    usage: '<count>',
    examples: ['steps 3'],
    level: 'read',
    positionals: ['count'],
    args: z.object({ count: z.coerce.number().int().min(0).max(10) }),
    async run(context, { count }) {
      log.runs.push('steps');
      for (let n = 1; n <= count; n += 1) {
        await context.progress({ text: `part ${n} of ${count} <done> & checked`, ...(n === 2 ? { tone: 'warn' as const } : {}) });
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return { title: `All ${count} parts done`, tone: 'ok', summary: 'Everything is back.', blocks: [], actions: [{ label: 'Run again', command: `steps ${count}` }] };
    },
  });

/** Tells one step, then answers; its arguments are the rest of the line, as typed. */
const sayInSteps = (log: RunLog) =>
  defineCommand({
    name: 'say-in-steps',
    summary: 'Tells one step, then answers with what it was given',
    usage: '<text ...>',
    examples: ['say-in-steps hello'],
    level: 'read',
    rawArguments: true,
    args: z.object({ line: z.string() }),
    async run(context) {
      log.runs.push('say-in-steps');
      await context.progress({ text: 'said it' });
      return { title: 'Said', tone: 'ok', blocks: [] };
    },
  });

let t: BotUnderTest;

beforeAll(async () => {
  t = await startBotWithStandIn({
    mode: 'http',
    registry: (log) => fixtureRegistry(log, [steps(log), sayInSteps(log)]),
    workspace: {
      channels: [
        { id: OPS, name: 'acgs-ops' },
        { id: ELSEWHERE, name: 'elsewhere', botIsMember: false },
      ],
    },
  });
});

afterAll(async () => {
  await t?.close();
});

const parentOf = (text: string) => () => t.standIn.messages(OPS).find((message) => blockText(message.blocks).includes(text));

describe('a multi-step command in Slack', () => {
  it('posts the first step as the reply, the next ones in its thread in order, then the answer, and shows the outcome on the first message', async () => {
    const reply = await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'steps 3' });
    expect(reply.status).toBe(200);
    const parent = await t.standIn.waitFor(parentOf('part 1 of 3'), 5000, 'the first step');
    const thread = await t.standIn.waitFor(
      () => {
        const messages = t.standIn.thread(OPS, parent.ts);
        return messages.length === 4 && messages[0]!.edited ? messages : undefined;
      },
      5000,
      'the thread with every step and the answer',
    );
    const [first, second, third, answer] = thread.map((message) => blockText(message.blocks));
    expect(first).toContain('*Step 1*  part 1 of 3 &lt;done&gt; &amp; checked');
    expect(second).toContain(':warning: *Step 2*  part 2 of 3');
    expect(third).toContain(':white_check_mark: *Step 3*  part 3 of 3');
    expect(answer).toContain('All 3 parts done');
    expect(JSON.stringify(thread[3]!.blocks)).toContain('"value":"steps 3"');
    // The first message, edited: its step stays, the outcome is added under it.
    expect(first).toContain(':large_green_circle: *All 3 parts done*: Everything is back.');
    expect(first).toContain('The steps and the full answer are in the thread.');
    expect(thread.slice(1).every((message) => message.threadTs === parent.ts)).toBe(true);
    // Only the first step is a message in the channel itself.
    expect(t.standIn.messages(OPS).filter((message) => blockText(message.blocks).includes('parts done'))).toHaveLength(1);
  });

  it('says who ran which command on the first message, from the first step to the final edit', async () => {
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'steps 2' });
    const parent = await t.standIn.waitFor(parentOf('part 1 of 2'), 5000, 'the first step');
    const attribution = `<@${ONCALL}> ran \`/acgs steps 2\``;
    // As first posted, before any edit: the attribution is above the step.
    const posted = t.standIn.calls('chat.postMessage').find((call) => call.ok && call.args.thread_ts === undefined && String(call.args.text).includes('part 1 of 2'))!;
    expect(JSON.parse(String(posted.args.blocks))[0]).toEqual({ type: 'context', elements: [{ type: 'mrkdwn', text: attribution }] });
    const edited = await t.standIn.waitFor(() => t.standIn.messages(OPS).find((message) => message.ts === parent.ts && message.edited), 5000, 'the final edit');
    expect(blockText(edited.blocks).split('\n')[0]).toBe(attribution);
    expect(blockText(edited.blocks)).toContain('All 2 parts done');
    // Replies in the thread carry no attribution: the first message already says it.
    expect(t.standIn.thread(OPS, parent.ts).slice(1).some((message) => blockText(message.blocks).includes(' ran `'))).toBe(false);
  });

  it('shows the command line in the attribution escaped, with typed secrets redacted, and mentions only the person who ran it', async () => {
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'say-in-steps <!channel> &amp; <@U0EVIL> `x` --token xoxb-1-2-secretvalue' });
    const parent = await t.standIn.waitFor(
      () => t.standIn.messages(OPS).find((message) => message.edited && blockText(message.blocks).includes('say-in-steps')),
      5000,
      'the first message, finished',
    );
    const line = blockText(parent.blocks).split('\n')[0]!;
    expect(line).toBe(`<@${ONCALL}> ran \`/acgs say-in-steps &lt;!channel&gt; &amp; &lt;@U0EVIL&gt; ˋxˋ --token [redacted]\``);
    const json = JSON.stringify(parent.blocks);
    expect(json).not.toContain('secretvalue');
    expect(json.match(/<[@!#]/g)).toEqual(['<@']);
  });

  it('answers a command that tells no steps through the response_url as before, with no thread', async () => {
    const before = t.standIn.messages(OPS, { includeEphemeralFor: ONCALL }).length;
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'steps 0' });
    const answer = await t.standIn.waitFor(
      () => t.standIn.messages(OPS, { includeEphemeralFor: ONCALL }).slice(before).find((message) => blockText(message.blocks).includes('All 0 parts done')),
      5000,
      'the answer',
    );
    expect(answer.responseType).toBe('in_channel');
    expect(t.standIn.thread(OPS, answer.ts)).toHaveLength(1);
  });

  it('keeps the steps and the answer in the thread of a mention', async () => {
    const mention = await t.standIn.postUserMessage({ userId: ONCALL, channelId: OPS, text: `<@${t.standIn.workspace.bot.userId}> steps 2` });
    const ts = mention.message.ts;
    const replies = await t.standIn.waitFor(
      () => {
        const messages = t.standIn.thread(OPS, ts).slice(1);
        return messages.length === 3 ? messages : undefined;
      },
      5000,
      'two steps and the answer in the thread',
    );
    expect(replies.map((message) => blockText(message.blocks).split('\n')[0])).toEqual([
      expect.stringContaining('*Step 1*  part 1 of 2'),
      expect.stringContaining('*Step 2*  part 2 of 2'),
      expect.stringContaining('All 2 parts done'),
    ]);
  });

  it('drops the steps where the bot cannot post and still answers through the response_url', async () => {
    const before = t.log.count('steps');
    await t.standIn.slashCommand({ userId: ONCALL, channelId: ELSEWHERE, text: 'steps 2' });
    const answer = await t.standIn.waitFor(
      () => t.standIn.messages(ELSEWHERE, { includeEphemeralFor: ONCALL }).find((message) => blockText(message.blocks).includes('All 2 parts done')),
      5000,
      'the answer in the other channel',
    );
    expect(answer.responseType).toBe('in_channel');
    expect(t.log.count('steps')).toBe(before + 1);
    expect(t.standIn.messages(ELSEWHERE).some((message) => blockText(message.blocks).includes('Step 1'))).toBe(false);
  });
});

const GOLDEN_DIR = new URL('../../bot/slack/golden/', import.meta.url);

describe('golden Block Kit of the progress messages', () => {
  const replica = (n: number) => ({ name: `acgs-policy-engine-${n}`, previousId: `${n}`.repeat(64), id: `${n + 5}`.repeat(64), previousStartedAt: null, startedAt: '2025-06-01T03:02:0' + n + 'Z', health: 'healthy' as const });
  const done = restartDocument(
    { kind: 'docker', description: 'Docker Engine at /var/run/docker.sock, project acgs' },
    { service: 'policy-engine', replicas: [replica(1), replica(2), replica(3)], durationMs: 8400, health: 'healthy' },
  );
  const first = { text: 'acgs-policy-engine-1 (1 of 3) is back: container 111111111111 → 666666666666 · healthy' };
  const ranBy = { userId: ONCALL, command: '/acgs restart policy-engine' };
  // name, build, the one mention it may hold (the person who ran the command).
  const messages: Array<[string, () => unknown, string?]> = [
    ['step', () => renderProgressStep({ text: 'acgs-policy-engine-2 (2 of 3) is back: container 222222222222 → 777777777777 · healthy <@U024BE7LH>', tone: 'ok' }, 2)],
    ['step-warn', () => renderProgressStep({ text: 'acgs-policy-engine-3 (3 of 3) is back: running (no health check)', tone: 'warn' }, 3)],
    ['parent-first', () => renderProgressStep(first, 1, ranBy), ONCALL],
    ['parent-finished', () => renderProgressParent(first, done, ranBy), ONCALL],
  ];
  for (const [name, build, mention] of messages) {
    it(`renders ${name} exactly as bot/slack/golden/progress-${name}.json records it, inside Slack's limits, with ${mention ? 'one mention, of who ran it' : 'no mention'}`, () => {
      const message = build() as { blocks: unknown[] };
      expect(validateBlocks(message.blocks, 'message')).toEqual([]);
      const json = JSON.stringify(message.blocks);
      expect(json.match(/<[@!#][^>]*>|<https?:/g) ?? []).toEqual(mention ? [`<@${mention}>`] : []);
      const rendered = `${JSON.stringify(message, null, 2)}\n`;
      const file = new URL(`progress-${name}.json`, GOLDEN_DIR);
      if (process.env.UPDATE_GOLDEN) writeFileSync(file, rendered);
      if (!existsSync(file)) throw new Error(`bot/slack/golden/progress-${name}.json is missing: run UPDATE_GOLDEN=1 npx vitest run test/slack/slack-progress.test.ts and review it`);
      expect(rendered).toBe(readFileSync(file, 'utf8'));
    });
  }
});
