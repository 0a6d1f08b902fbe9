/**
 * A runbook's notify step sending a deployment notice through the bot's notices port: the real run
 * executor on PostgreSQL, the real bot's Web API client on the Slack stand-in. The step's output
 * keeps what became of each target; a notice that reached nobody fails the step, saying why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDeploymentNotices } from '../../bot/notices/index.js';
import { channelWriteQueue } from '../../bot/slack/channel-write-queue.js';
import { noticeGroupDirectory, slackNoticeChat } from '../../bot/slack/deployment-notice-chat.js';
import { defineRunbook } from '../../runbooks/engine/definition.js';
import { sendDeploymentNotice } from '../../runbooks/engine/notify-step.js';
import type { NoticesPort } from '../../runbooks/engine/ports.js';
import { createRunbookRegistry } from '../../runbooks/engine/registry.js';
import { createRunExecutor } from '../../runbooks/engine/run-executor.js';
import { runbookTestDatabase, type RunbookTestDatabase } from '../../runbooks/engine/testing/database.js';
import { blockText, startBotWithStandIn, type BotUnderTest } from '../testing/slack-harness.js';

const DEPLOYS = 'C0ACGSDEPLY';

const announce = defineRunbook({
  source: import.meta.url,
  name: 'announce-deploy',
  summary: 'Announces a deployment (a drill: nothing is deployed)',
  level: 1,
  args: z.object({ version: z.string() }),
  steps: [
    {
      id: 'announce',
      kind: 'notify',
      title: 'Tell the deploys channel and the stakeholders',
      timeoutMs: 30_000,
      idempotent: true,
      async run(context) {
        return sendDeploymentNotice(context.ports, {
          kind: 'started',
          runId: context.runId,
          version: context.args.version,
          requester: context.requester,
          startedAt: '2026-12-06T03:00:00.000Z',
          services: [{ service: 'policy-engine', from: '1.3.2', to: context.args.version }],
        });
      },
      async dryRun() {
        return { mode: 'description', text: 'would post the notice' };
      },
    },
  ],
});

let t: RunbookTestDatabase;
let harness: BotUnderTest;
beforeAll(async () => {
  t = await runbookTestDatabase();
  harness = await startBotWithStandIn({ mode: 'http' });
}, 60_000);
afterAll(async () => {
  await harness?.close();
  await t?.close();
});

async function runWith(notices: NoticesPort | undefined) {
  const executor = createRunExecutor({ store: t.store, registry: createRunbookRegistry([announce]), ports: notices ? { notices } : {} });
  const submitted = await executor.submit({ runbook: 'announce-deploy', args: { version: '1.4.0' }, requester: 'U0ONCALL', origin: 'test' });
  await executor.scanNow();
  await executor.idle();
  const run = await executor.get(submitted.id);
  const [attempt] = await t.store.attempts(run.id);
  await executor.stop();
  return { run, attempt: attempt! };
}

function notices(channels: { deploys?: string }): NoticesPort {
  const client = harness.bot.webClient;
  return createDeploymentNotices({ chat: slackNoticeChat(client, channelWriteQueue(client)), channels, stakeholders: ['U0APPROVER1'], groups: noticeGroupDirectory(client) });
}

describe('a notify step', () => {
  it('posts the notice and keeps each target’s outcome as its output', async () => {
    const { run, attempt } = await runWith(notices({ deploys: DEPLOYS }));
    expect(run.state).toBe('succeeded');
    expect(attempt.output).toMatchObject({
      summary: 'posted to C0ACGSDEPLY (channels.deploys); DM to 1 of 1 stakeholder; no e-mail (SMTP_URL is not set)',
      delivered: 2,
      attempted: 2,
    });
    const posted = harness.standIn.messages(DEPLOYS).at(-1)!;
    expect(blockText(posted.blocks)).toContain(`U0ONCALL started deploying 1.4.0 to 1 service`);
    expect(blockText(posted.blocks)).toContain(`/acgs run status ${run.id}`);
  });

  it('succeeds when some targets missed it, saying which', async () => {
    const { run, attempt } = await runWith(notices({ deploys: 'C0GONE404' }));
    expect(run.state).toBe('succeeded');
    expect((attempt.output as { summary: string }).summary).toMatch(/^NOT posted to C0GONE404: channel_not_found: .*; DM to 1 of 1 stakeholder;/);
  });

  it('fails when the notice reached nobody, and the run waits for a person with the reason', async () => {
    const nobody = createDeploymentNotices({ chat: slackNoticeChat(harness.bot.webClient, channelWriteQueue(harness.bot.webClient)), channels: {}, stakeholders: [] });
    const { run, attempt } = await runWith(nobody);
    expect(run.state).toBe('needs_decision');
    expect(attempt.error).toBe(
      'The deployment notice reached nobody: NOT posted: no channel to post to: set channels.deploys (or channels.ops) in ACGS_CONFIG; no DMs (no stakeholders role in ACGS_CONFIG); no e-mail (SMTP_URL is not set)',
    );
  });

  it('fails saying so in a process without the notices port', async () => {
    const { run, attempt } = await runWith(undefined);
    expect(run.state).toBe('needs_decision');
    expect(attempt.error).toBe('This process sends no deployment notices (no notices port): run it in the bot.');
  });
});
