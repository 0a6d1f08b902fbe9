/**
 * A runbook's notify step sending a deployment notice through the bot's notices port: the real run
 * executor on PostgreSQL, the real bot's Web API client on the Slack stand-in. The step's output
 * keeps what became of each target; a notice that reached nobody fails the step, saying why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDeploymentNotices, createNoticeLedger, createNoticeMailer, emailSettingsFromEnv, migrateNoticeLedger } from '../../bot/notices/index.js';
import { startSmtpSink } from '../testing/smtp-sink.js';
import { channelWriteQueue } from '../../bot/slack/channel-write-queue.js';
import { noticeGroupDirectory, slackNoticeChat } from '../../bot/slack/deployment-notice-chat.js';
import { defineRunbook } from '../../runbooks/engine/definition.js';
import { sendDeploymentNotice } from '../../runbooks/engine/notify-step.js';
import type { NoticesPort } from '../../runbooks/engine/ports.js';
import { createRunbookRegistry } from '../../runbooks/engine/registry.js';
import { createRunExecutor } from '../../runbooks/engine/run-executor.js';
import { runbookTestDatabase, type RunbookTestDatabase } from '../../runbooks/engine/testing/database.js';
import { DEFAULT_CHANNELS } from '../../bot/slack/stand-in/index.js';
import { blockText, startBotWithStandIn, type BotUnderTest } from '../testing/slack-harness.js';

const DEPLOYS = 'C0ACGSDEPLY';
/** The bot is invited here only during a test. */
const LATE = 'C0LATEINVITE';

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
  await migrateNoticeLedger(t.pool);
  harness = await startBotWithStandIn({ mode: 'http', workspace: { channels: [...DEFAULT_CHANNELS, { id: LATE, name: 'late-invite', botIsMember: false }] } });
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
    expect(blockText(posted.blocks)).toContain(`<@U0ONCALL> started deploying 1.4.0 to 1 service`);
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

describe('a notice sent again for the same run', () => {
  it('goes only to the targets it has not reached, and says which got it earlier', async () => {
    const client = harness.bot.webClient;
    const port = createDeploymentNotices({
      chat: slackNoticeChat(client, channelWriteQueue(client)),
      channels: { deploys: LATE },
      stakeholders: ['U0APPROVER1', 'U0APPROVER2'],
      ledger: createNoticeLedger(t.pool),
    });
    const notice = { kind: 'started', runId: 'run-sent-again', version: '1.4.0', requester: 'U0ONCALL', startedAt: '2026-12-06T03:00:00.000Z', services: [] } as const;
    const dms = () => ['D0APPROVER1', 'D0APPROVER2'].map((channel) => (harness.standIn.workspace.findChannel(channel) ? harness.standIn.messages(channel) : []).filter((message) => message.text.includes('Deploy 1.4.0 started')).length);
    const before = dms();

    const first = await port.deploymentNotice({ ...notice, services: [] });
    expect(first.summary).toMatch(/^NOT posted to C0LATEINVITE: not_in_channel: .*; DM to 2 of 2 stakeholders; no e-mail \(SMTP_URL is not set\)$/);

    harness.standIn.workspace.findChannel(LATE)!.botIsMember = true;
    const again = await port.deploymentNotice({ ...notice, services: [] });
    expect(again.summary).toBe('posted to C0LATEINVITE (channels.deploys); DM to 2 of 2 stakeholders (2 on an earlier attempt); no e-mail (SMTP_URL is not set)');
    expect(dms().map((count, index) => count - before[index]!)).toEqual([1, 1]);
    expect(harness.standIn.messages(LATE)).toHaveLength(1);

    // A third time nothing is sent at all, and everything is reported as delivered.
    const calls = harness.standIn.calls('chat.postMessage').length;
    const third = await port.deploymentNotice({ ...notice, services: [] });
    expect(third).toMatchObject({ delivered: 3, attempted: 3 });
    expect(third.summary).toBe('posted to C0LATEINVITE (channels.deploys, sent on an earlier attempt); DM to 2 of 2 stakeholders (2 on an earlier attempt); no e-mail (SMTP_URL is not set)');
    expect(harness.standIn.calls('chat.postMessage')).toHaveLength(calls);
  });
});

describe('an e-mail notice sent again for the same run', () => {
  it('goes only to the addresses that did not take it', async () => {
    const smtp = await startSmtpSink({ user: 'notices', pass: 'secret', refuseRecipients: ['gone@example.com'] });
    const mailer = createNoticeMailer(emailSettingsFromEnv({ SMTP_URL: smtp.url, ACGS_NOTICE_EMAIL_FROM: 'acgs@example.com', ACGS_NOTICE_EMAIL_TO: 'oncall@example.com, gone@example.com' })!, { timeoutMs: 3000 });
    try {
      const client = harness.bot.webClient;
      const port = createDeploymentNotices({ chat: slackNoticeChat(client, channelWriteQueue(client)), channels: { deploys: DEPLOYS }, stakeholders: [], mailer, ledger: createNoticeLedger(t.pool) });
      const notice = { kind: 'started', runId: 'run-mail-again', version: '1.4.1', requester: 'U0ONCALL', startedAt: '2026-12-06T03:00:00.000Z', services: [] } as const;
      const first = await port.deploymentNotice({ ...notice, services: [] });
      expect(first.summary).toMatch(/e-mail sent to 1 address, NOT to gone@example\.com \(refused by smtp:\/\/127\.0\.0\.1:\d+\)$/);
      const again = await port.deploymentNotice({ ...notice, services: [] });
      expect(again.summary).toMatch(/e-mail sent to 1 address \(1 on an earlier attempt\), NOT to gone@example\.com \(smtp:\/\/127\.0\.0\.1:\d+: .*recipients were rejected/);
      expect(smtp.received().map((mail) => mail.to)).toEqual([['oncall@example.com']]);
    } finally {
      mailer.close();
      await smtp.close();
    }
  });
});
