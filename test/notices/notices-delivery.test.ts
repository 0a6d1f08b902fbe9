/**
 * Deployment notices end to end: the real bot (Bolt, its Web API client) against the Slack
 * stand-in, and a real SMTP server process with AUTH on loopback. Each target's outcome is in the
 * answer (what a notify step keeps as its output) and failures are logged; no target's failure
 * stops another.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDeploymentNotices, createNoticeMailer, emailSettingsFromEnv, type DeploymentNoticesOptions, type NoticeMailer } from '../../bot/notices/index.js';
import { channelWriteQueue, type ChannelWriteQueue } from '../../bot/slack/channel-write-queue.js';
import { noticeGroupDirectory, slackNoticeChat } from '../../bot/slack/deployment-notice-chat.js';
import { DEFAULT_CHANNELS, DEFAULT_USERS } from '../../bot/slack/stand-in/index.js';
import type { DeploymentFinished, DeploymentNotice, DeploymentRolledBack, NoticesPort } from '../../runbooks/engine/ports.js';
import { blockText, startBotWithStandIn, type BotUnderTest } from '../testing/slack-harness.js';
import { decodeQuotedPrintable, startSmtpSink, type SmtpSink } from '../testing/smtp-sink.js';
import { unusedLoopbackPort } from '../testing/loopback.js';

const DEPLOYS = 'C0ACGSDEPLY';
const OPS = 'C0ACGSOPS01';
const OUTSIDE = 'C0NOTMEMBER';
const SMTP_USER = 'acgs-notices';
const SMTP_PASS = 'p@ss word/42';
const TO = ['oncall@example.com', 'release@example.com'];

const finished: DeploymentFinished = {
  kind: 'finished',
  runId: '7f3c2a10-5d1e-4b7a-9c2e-0a1b2c3d4e5f',
  version: '1.4.0',
  commit: '0123456789abcdef0123456789abcdef01234567',
  requester: 'U0ONCALL',
  startedAt: '2026-12-06T03:00:00.000Z',
  finishedAt: '2026-12-06T03:03:12.000Z',
  services: [
    { service: 'policy-engine', from: '1.3.2', to: '1.4.0' },
    { service: 'audit-engine', from: '1.3.2', to: '1.4.0' },
    { service: 'evolution-oversight', from: '1.3.2', to: '1.4.0' },
    { service: 'sandbox-controller', from: '1.3.2', to: '1.4.0' },
  ],
  verification: [
    { name: 'policy-engine p99 latency', value: '3.1 ms', limit: '5 ms', ok: true },
    { name: 'error rate', value: '0.02 %', limit: '0.1 %', ok: true },
  ],
};

const rolledBack: DeploymentRolledBack = {
  kind: 'rolled-back',
  runId: '9a8b7c6d-1111-4222-8333-444455556666',
  version: '9.3.0-slow',
  requester: 'U0ONCALL',
  startedAt: '2026-12-06T03:00:00.000Z',
  rolledBackAt: '2026-12-06T03:05:03.000Z',
  services: [{ service: 'policy-engine', from: '9.1.0', to: '9.3.0-slow' }],
  reason: 'policy-engine p99 latency stayed above 5 ms for 3 samples in a row.',
  breaches: [
    { at: '2026-12-06T03:04:00.000Z', service: 'policy-engine', metric: 'p99 latency', value: '41.0 ms', limit: '5 ms' },
    { at: '2026-12-06T03:04:30.000Z', service: 'policy-engine', metric: 'p99 latency', value: '39.5 ms', limit: '5 ms' },
  ],
};

let harness: BotUnderTest;
let queue: ChannelWriteQueue;
let smtp: SmtpSink;
let mailer: NoticeMailer;
const mailers: NoticeMailer[] = [];
let logged: Array<{ message: string; error?: unknown }> = [];

beforeAll(async () => {
  smtp = await startSmtpSink({ user: SMTP_USER, pass: SMTP_PASS, refuseRecipients: ['gone@example.com'] });
  harness = await startBotWithStandIn({
    mode: 'http',
    workspace: {
      channels: [...DEFAULT_CHANNELS, { id: OUTSIDE, name: 'not-a-member', botIsMember: false }],
      users: [...DEFAULT_USERS, { id: 'U0GONE', name: 'gone', realName: 'Gone Person', roleLabel: 'left', deleted: true }],
      userGroups: [
        { id: 'S0RELEASE', handle: 'release', name: 'Release managers', users: ['U0APPROVER1', 'U0APPROVER2'] },
        { id: 'S0PRODUCT', handle: 'product', name: 'Product', users: ['U0APPROVER2', 'U0ONCALL'] },
      ],
    },
  });
  queue = channelWriteQueue(harness.bot.webClient);
  mailer = mailerFor({ SMTP_URL: smtp.url, ACGS_NOTICE_EMAIL_FROM: 'acgs@example.com', ACGS_NOTICE_EMAIL_TO: TO.join(', ') });
}, 60_000);

afterEach(() => {
  harness.standIn.rateLimitNext('chat.postMessage', 0, 0);
  logged = [];
});

afterAll(async () => {
  for (const each of mailers) each.close();
  await queue?.drain();
  await harness?.close();
  await smtp?.close();
});

function mailerFor(env: NodeJS.ProcessEnv): NoticeMailer {
  const made = createNoticeMailer(emailSettingsFromEnv(env)!, { timeoutMs: 3000 });
  mailers.push(made);
  return made;
}

function notices(overrides: Partial<DeploymentNoticesOptions> = {}): NoticesPort {
  return createDeploymentNotices({
    chat: slackNoticeChat(harness.bot.webClient, queue),
    channels: { deploys: DEPLOYS, ops: OPS },
    stakeholders: ['U0ONCALL', 'S0RELEASE', 'S0PRODUCT'],
    groups: noticeGroupDirectory(harness.bot.webClient),
    mailer,
    log: (message, error) => logged.push({ message, error }),
    ...overrides,
  });
}

const lastIn = (channel: string) => harness.standIn.messages(channel).at(-1);
const dmOf = (user: string) => (harness.standIn.workspace.findChannel(`D${user.slice(1)}`) ? harness.standIn.messages(`D${user.slice(1)}`) : []);
const withRun = (notice: DeploymentNotice, runId: string): DeploymentNotice => ({ ...notice, runId });

describe('a finished deployment', () => {
  it('is posted to the deploys channel, sent once to each stakeholder by DM and e-mailed, and says so', async () => {
    const before = { oncall: dmOf('U0ONCALL').length, approver1: dmOf('U0APPROVER1').length, approver2: dmOf('U0APPROVER2').length };
    const mailsBefore = smtp.received().length;
    const delivery = await notices().deploymentNotice(finished);

    expect(delivery.summary).toBe('posted to C0ACGSDEPLY (channels.deploys); DM to 3 of 3 stakeholders; e-mail sent to 2 addresses');
    expect(delivery).toMatchObject({ delivered: 6, attempted: 6 });
    expect(logged).toEqual([]);

    const posted = lastIn(DEPLOYS)!;
    expect(posted.text).toContain('Deploy 1.4.0 finished');
    const shown = blockText(posted.blocks);
    expect(shown).toContain('Deploy 1.4.0 finished');
    expect(shown).toContain('deployed by <@U0ONCALL> in 3m12s');
    expect(shown).toMatch(/service\s+from\s+to\npolicy-engine\s+1\.3\.2\s+1\.4\.0/);
    expect(shown).toContain('policy-engine p99 latency: 3.1 ms (limit 5 ms)');
    expect(shown).toContain(`/acgs run status ${finished.runId}`);

    // U0APPROVER2 is in both groups, U0ONCALL listed and in a group: one DM each.
    expect(dmOf('U0ONCALL').length - before.oncall).toBe(1);
    expect(dmOf('U0APPROVER1').length - before.approver1).toBe(1);
    expect(dmOf('U0APPROVER2').length - before.approver2).toBe(1);
    expect(blockText(dmOf('U0APPROVER2').at(-1)!.blocks)).toContain('Deploy 1.4.0 finished');

    const mails = smtp.received().slice(mailsBefore);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.from).toBe('acgs@example.com');
    expect(mails[0]!.to.sort()).toEqual([...TO].sort());
    expect(mails[0]!.raw).toContain('Subject: [ACGS] Deploy 1.4.0 finished (4 services, 3m12s)');
    const body = decodeQuotedPrintable(mails[0]!.raw);
    expect(body).toContain('Content-Type: text/plain');
    expect(body).toContain('Content-Type: text/html');
    expect(body).toMatch(/sandbox-controller\s+1\.3\.2\s+1\.4\.0/);
    expect(body).toContain('<th style="text-align:left;padding:2px 12px 2px 0">service</th>');
  });
});

describe('a rolled-back deployment', () => {
  it('says why, with the samples that breached, in Slack and in the e-mail subject and body', async () => {
    const mailsBefore = smtp.received().length;
    const delivery = await notices({ stakeholders: [] }).deploymentNotice(rolledBack);
    expect(delivery.summary).toBe('posted to C0ACGSDEPLY (channels.deploys); no DMs (no stakeholders role in ACGS_CONFIG); e-mail sent to 2 addresses');
    const shown = blockText(lastIn(DEPLOYS)!.blocks);
    expect(shown).toContain('Deploy 9.3.0-slow ROLLED BACK');
    expect(shown).toContain('policy-engine p99 latency stayed above 5 ms for 3 samples in a row.');
    expect(shown).toContain('Samples that breached');
    expect(shown).toContain('2026-12-06T03:04:00.000Z policy-engine p99 latency 41.0 ms (limit 5 ms)');
    const mail = smtp.received().slice(mailsBefore)[0]!;
    expect(mail.raw).toContain('Subject: [ACGS] Deploy 9.3.0-slow ROLLED BACK (1 service, 5m03s)');
    expect(decodeQuotedPrintable(mail.raw)).toContain('39.5 ms (limit 5 ms)');
  });
});

describe('targets Slack refuses', () => {
  it('reports each refused person and group, while the channel and the others still get it', async () => {
    const delivery = await notices({ stakeholders: ['U0APPROVER1', 'U0GONE', 'U0ACGSBOT', 'U0NOBODY', 'S0NOSUCH'] }).deploymentNotice(withRun(finished, 'run-refused-people'));
    expect(delivery.summary).toBe(
      'posted to C0ACGSDEPLY (channels.deploys); DM to 1 of 4 stakeholders: ' +
        'U0GONE cannot be messaged (user_disabled: the account is deactivated); ' +
        'U0ACGSBOT cannot be messaged (cannot_dm_bot: it is a bot, which cannot get direct messages); ' +
        'U0NOBODY cannot be messaged (user_not_found: no such user in this workspace); ' +
        'user group S0NOSUCH could not be read (no_such_subteam: no such user group in this workspace); e-mail sent to 2 addresses',
    );
    expect(delivery.targets.filter((target) => target.kind === 'direct-message').map((target) => [target.target, target.delivered])).toEqual([
      ['U0APPROVER1', true],
      ['U0GONE', false],
      ['U0ACGSBOT', false],
      ['U0NOBODY', false],
    ]);
    expect(logged.map((entry) => entry.message)).toEqual(
      expect.arrayContaining([
        'deployment notice for run run-refused-people: user group S0NOSUCH could not be read (no_such_subteam: no such user group in this workspace)',
        'deployment notice for run run-refused-people: no DM to U0GONE',
        'deployment notice for run run-refused-people: no DM to U0ACGSBOT',
        'deployment notice for run run-refused-people: no DM to U0NOBODY',
      ]),
    );
  });

  it('reports a deploys channel the bot is not in, or that does not exist, and still sends the DMs and the e-mail', async () => {
    const outside = await notices({ channels: { deploys: OUTSIDE }, stakeholders: ['U0APPROVER1'] }).deploymentNotice(finished);
    expect(outside.summary).toBe('NOT posted to C0NOTMEMBER: not_in_channel: the bot is not a member of the channel: /invite the bot there (channels.deploys); DM to 1 of 1 stakeholder; e-mail sent to 2 addresses');
    const missing = await notices({ channels: { deploys: 'C0GONE404' }, stakeholders: ['U0APPROVER1'] }).deploymentNotice(finished);
    expect(missing.summary).toMatch(/^NOT posted to C0GONE404: channel_not_found: the channel does not exist or the bot cannot see it/);
    expect(missing).toMatchObject({ delivered: 3, attempted: 4 });
    expect(logged.map((entry) => entry.message)).toContain(`deployment notice for run ${finished.runId}: not posted to C0GONE404 (channels.deploys)`);
  });

  it('waits out a rate limit and delivers; reports it when Slack keeps limiting', async () => {
    harness.standIn.rateLimitNext('chat.postMessage', 1, 1);
    const waited = await notices({ stakeholders: [] }).deploymentNotice(finished);
    expect(waited.summary).toMatch(/^posted to C0ACGSDEPLY/);
    expect(harness.standIn.rateLimitedCount('chat.postMessage')).toBeGreaterThanOrEqual(1);

    harness.standIn.rateLimitNext('chat.postMessage', 1000, 0);
    const limited = await notices({ stakeholders: ['U0APPROVER1'] }).deploymentNotice(finished);
    expect(limited.summary).toBe(
      'NOT posted to C0ACGSDEPLY: ratelimited: Slack kept answering 429 (rate limited) after the retries (channels.deploys); ' +
        'DM to 0 of 1 stakeholder: U0APPROVER1 cannot be messaged (ratelimited: Slack kept answering 429 (rate limited) after the retries); e-mail sent to 2 addresses',
    );
  }, 30_000);
});

describe('where the notice goes without channels.deploys', () => {
  it('falls back to channels.ops, then to the channel the run was asked in, and says which', async () => {
    const toOps = await notices({ channels: { ops: OPS }, stakeholders: [], mailer: undefined }).deploymentNotice(finished);
    expect(toOps.summary).toBe('posted to C0ACGSOPS01 (channels.ops, as there is no channels.deploys); no DMs (no stakeholders role in ACGS_CONFIG); no e-mail (SMTP_URL is not set)');
    expect(blockText(lastIn(OPS)!.blocks)).toContain('Deploy 1.4.0 finished');

    const asked: string[] = [];
    const toRunChannel = await notices({ channels: {}, stakeholders: [], mailer: undefined, runChannel: async (runId) => (asked.push(runId), 'C0ACGSAPPRV') }).deploymentNotice(finished);
    expect(asked).toEqual([finished.runId]);
    expect(toRunChannel.summary).toMatch(/^posted to C0ACGSAPPRV \(where the run was asked for, as there is no channels\.deploys or channels\.ops\)/);
  });

  it('with no channel at all, says what to set, posts nothing, and still sends the DMs and the e-mail', async () => {
    const calls = harness.standIn.calls('chat.postMessage').length;
    const delivery = await notices({ channels: {}, stakeholders: ['U0APPROVER1'], runChannel: async () => undefined }).deploymentNotice(finished);
    expect(delivery.summary).toBe('NOT posted: no channel to post to: set channels.deploys (or channels.ops) in ACGS_CONFIG; DM to 1 of 1 stakeholder; e-mail sent to 2 addresses');
    expect(harness.standIn.calls('chat.postMessage').slice(calls).map((call) => call.args.channel)).toEqual(['D0APPROVER1']);
    expect(delivery).toMatchObject({ delivered: 3, attempted: 3 });
  });
});

describe('e-mail that cannot be sent', () => {
  it('does not stop the Slack notice when the SMTP server is down, and is reported and logged', async () => {
    const down = mailerFor({ SMTP_URL: `smtp://u:p@127.0.0.1:${await unusedLoopbackPort()}`, ACGS_NOTICE_EMAIL_FROM: 'acgs@example.com', ACGS_NOTICE_EMAIL_TO: TO.join(',') });
    const delivery = await notices({ mailer: down, stakeholders: ['U0APPROVER1'] }).deploymentNotice(finished);
    expect(delivery.summary).toMatch(/^posted to C0ACGSDEPLY \(channels\.deploys\); DM to 1 of 1 stakeholder; e-mail NOT sent: smtp:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    expect(delivery.targets.filter((target) => target.kind === 'email').map((target) => target.delivered)).toEqual([false, false]);
    expect(logged.map((entry) => entry.message)).toContainEqual(expect.stringMatching(/^deployment notice for run .*: e-mail through smtp:\/\/127\.0\.0\.1:\d+ failed$/));
  });

  it('reports a refused login without the password, and a refused recipient beside the accepted one', async () => {
    const wrong = mailerFor({ SMTP_URL: `smtp://${SMTP_USER}:not-the-password@127.0.0.1:${smtp.port}`, ACGS_NOTICE_EMAIL_FROM: 'acgs@example.com', ACGS_NOTICE_EMAIL_TO: TO.join(',') });
    const refused = await notices({ mailer: wrong, stakeholders: [] }).deploymentNotice(finished);
    expect(refused.summary).toMatch(/e-mail NOT sent: smtp:\/\/127\.0\.0\.1:\d+: Invalid login: 535/);
    expect(JSON.stringify(refused)).not.toContain('not-the-password');

    const partly = mailerFor({ SMTP_URL: smtp.url, ACGS_NOTICE_EMAIL_FROM: 'acgs@example.com', ACGS_NOTICE_EMAIL_TO: 'oncall@example.com, gone@example.com' });
    const mailsBefore = smtp.received().length;
    const some = await notices({ mailer: partly, stakeholders: [] }).deploymentNotice(finished);
    expect(some.summary).toMatch(/e-mail sent to 1 address, NOT to gone@example\.com \(refused by smtp:\/\/127\.0\.0\.1:\d+\)$/);
    expect(smtp.received().slice(mailsBefore).map((mail) => mail.to)).toEqual([['oncall@example.com']]);
  });
});
