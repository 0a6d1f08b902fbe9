/**
 * `report daily` and `report security` through the command path every surface uses (parse,
 * authorize, record, run): the real authorization policy and trail on PostgreSQL, the reports made
 * from the sampler's tables and the trail there and posted to the Slack stand-in's reports channel
 * with their charts. A refusal made here shows in the next security report. A person without a
 * role is refused, extra arguments are refused, and a process without reports says so. Asked in
 * Slack (the real bot on the stand-in), the report appears once: in the reports channel, with only
 * a pointer to it where it was asked.
 */
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandPathDependencies } from '../../bot/command-path/index.js';
import { createSampleStore } from '../../bot/metrics-history/index.js';
import { createReports } from '../../bot/reports/daily-report-service.js';
import type { SecurityReport } from '../../bot/reports/security-report.js';
import { postDailyReport } from '../../bot/slack/post-daily-report.js';
import { renderText } from '../../bot/cli-render.js';
import { fillMinuteSamples } from '../../bot/metrics-history/testing/fill-history.js';
import type { DailyReport } from '../../bot/reports/daily-report.js';
import { commandRunner, type CommandRunner } from '../testing/commands.js';
import { openReportCommandsKit, OPS_CHANNEL as OPS, REPORTS_CHANNEL as REPORTS, type ReportCommandsKit } from '../testing/report-commands.js';
import { channelWriteQueue } from '../../bot/slack/channel-write-queue.js';
import { createCommandRegistry } from '../../commands/index.js';
import { BOT_TOKEN as HARNESS_BOT_TOKEN, blockText, startBotWithStandIn, type BotUnderTest } from '../testing/slack-harness.js';

const ONCALL = 'U0ONCALL';
const VIEWER = 'U0VIEWER';
const CLI_USER = 'cli:operator';

let kit: ReportCommandsKit;
let run: CommandRunner;

beforeAll(async () => {
  const now = Date.now();
  kit = await openReportCommandsKit({
    prefix: 'acgs_report_cmds',
    botToken: 'xoxb-report-command-test',
    oncall: [ONCALL, CLI_USER],
    fill: (trail) => fillMinuteSamples(trail.pool, { from: new Date(now - 24 * 3600_000), to: new Date(now) }, [{ metric: 'p99_latency_ms', service: 'policy-engine', base: 1, wave: 0, noise: 0 }]),
  });
  run = commandRunner({ services: () => kit.services, user: ONCALL });
}, 30_000);

afterAll(async () => {
  await kit?.close();
});

describe('report daily', () => {
  it('answers with the report and posts it with its charts to the reports channel', async () => {
    const before = kit.slack.messages(REPORTS).length;
    const answered = await run('report daily');
    const report = answered.document.data as DailyReport;
    expect(report.kpis.state === 'ok' && report.kpis.value.find((kpi) => kpi.metric === 'p99_latency_ms')).toMatchObject({ value: 1, tone: 'ok' });
    expect(renderText(answered.document)).toContain('Daily health report');
    expect(answered.document.footer).toContain(`Posted to #acgs-reports with 1 chart.`);
    const posted = kit.slack.messages(REPORTS).slice(before);
    expect(posted).toHaveLength(1);
    expect(kit.slack.thread(REPORTS, posted[0]!.ts).flatMap((message) => message.files ?? []).map((file) => file.name)).toEqual(['latency.png']);
  }, 60_000);

  it('asked in the reports channel, posts the report there once and tells only the asker', async () => {
    const before = kit.slack.messages(REPORTS, { includeEphemeralFor: ONCALL }).length;
    const answered = await run('report daily', { channelId: REPORTS });
    expect(answered.document).toMatchObject({ title: 'Daily health report posted in this channel', ephemeral: true });
    expect(answered.document.blocks).toEqual([{ type: 'text', text: expect.stringContaining(`channel=${REPORTS}`) }]);
    const posted = kit.slack.messages(REPORTS).slice(before);
    expect(posted).toHaveLength(1);
    expect(blockText(posted[0]!.blocks)).toContain('Needs a human');
  }, 60_000);

  it('asked in another channel, answers there with where the report went and a link to it', async () => {
    const before = kit.slack.messages(REPORTS).length;
    const answered = await run('report daily', { channelId: OPS });
    expect(answered.document.title).toBe('Daily health report posted to #acgs-reports');
    expect(answered.document.ephemeral).toBeUndefined();
    expect(answered.document.blocks).toHaveLength(1);
    expect(renderText(answered.document)).not.toContain('Needs a human');
    const posted = kit.slack.messages(REPORTS).slice(before);
    expect(posted).toHaveLength(1);
    const link = new URL((answered.document.blocks[0] as { text: string }).text);
    expect([link.searchParams.get('channel'), link.searchParams.get('message')]).toEqual([REPORTS, posted[0]!.ts]);
  }, 60_000);

  it('does not post from the CLI', async () => {
    const before = kit.slack.messages(REPORTS).length;
    const answered = await run('report daily', { origin: 'cli', user: CLI_USER });
    expect(answered.document.title).toBe('Daily health report');
    expect(answered.document.footer).not.toContain('Posted to');
    expect(kit.slack.messages(REPORTS)).toHaveLength(before);
  });

  it('refuses a person without a role, and extra arguments, posting nothing', async () => {
    const before = kit.slack.messages(REPORTS).length;
    const refused = await run('report daily', { user: VIEWER });
    expect(refused.outcome).toBe('rejected');
    const extra = await run('report daily now');
    expect(extra.outcome).toBe('rejected');
    expect(renderText(extra.document)).toMatch(/now/);
    expect(kit.slack.messages(REPORTS)).toHaveLength(before);
  });

  it('says when this process makes no reports', async () => {
    const without = { ...kit.services };
    delete without.reports;
    const answered = await commandRunner({ services: () => without, user: ONCALL })('report daily');
    expect(renderText(answered.document)).toContain('Reports are not set up in this process.');
  });
});

describe('report security', () => {
  const refusedBy = (report: SecurityReport, who: string) => (report.refused.state === 'ok' ? (report.refused.value.by_actor.find((one) => one.name === who)?.count ?? 0) : undefined);

  it('counts a refusal made through the command path and posts the report with its chart', async () => {
    const before = (await run('report security', { origin: 'cli', user: CLI_USER })).document.data as SecurityReport;
    expect((await run('report security', { user: VIEWER })).outcome).toBe('rejected');
    const messages = kit.slack.messages(REPORTS).length;
    const answered = await run('report security');
    const report = answered.document.data as SecurityReport;
    expect(refusedBy(report, VIEWER)).toBe(refusedBy(before, VIEWER)! + 1);
    expect(report.bot_trail_chain).toMatchObject({ state: 'ok', value: { valid: true } });
    // The Audit Engine is nowhere: its parts say so, first among the needs.
    expect(report.needs_a_human[0]).toMatch(/^audit chain unavailable: /);
    expect(renderText(answered.document)).toContain('Weekly security report');
    expect(answered.document.footer).toContain(`Posted to #acgs-reports with 1 chart.`);
    const posted = kit.slack.messages(REPORTS).slice(messages);
    expect(posted).toHaveLength(1);
    expect(kit.slack.thread(REPORTS, posted[0]!.ts).flatMap((message) => message.files ?? []).map((file) => file.name)).toEqual(['security-per-day.png']);
  }, 60_000);

  it('asked in another channel, posts the report once and answers there with where it went', async () => {
    const before = kit.slack.messages(REPORTS).length;
    const answered = await run('report security', { channelId: OPS });
    expect(answered.document.title).toBe('Weekly security report posted to #acgs-reports');
    expect(renderText(answered.document)).not.toContain('Needs a human');
    const posted = kit.slack.messages(REPORTS).slice(before);
    expect(posted).toHaveLength(1);
    const link = new URL((answered.document.blocks[0] as { text: string }).text);
    expect([link.searchParams.get('channel'), link.searchParams.get('message')]).toEqual([REPORTS, posted[0]!.ts]);
  }, 60_000);

  it('does not post from the CLI, refuses extra arguments, and says when this process makes no reports', async () => {
    const before = kit.slack.messages(REPORTS).length;
    const answered = await run('report security', { origin: 'cli', user: CLI_USER });
    expect(answered.document.title).toBe('Weekly security report');
    expect(answered.document.footer).not.toContain('Posted to');
    expect((await run('report security last-week')).outcome).toBe('rejected');
    expect(kit.slack.messages(REPORTS)).toHaveLength(before);
    const without = { ...kit.services };
    delete without.reports;
    const refused = await commandRunner({ services: () => without, user: ONCALL })('report security');
    expect(renderText(refused.document)).toContain('Reports are not set up in this process.');
  }, 60_000);
});

describe('report daily asked in Slack', () => {
  let t: BotUnderTest;
  const inSlack = (): CommandPathDependencies => ({ ...kit.services });

  beforeAll(async () => {
    const shared = inSlack();
    t = await startBotWithStandIn({ mode: 'http', workspace: { channels: [{ id: REPORTS, name: 'acgs-reports' }, { id: OPS, name: 'acgs-ops' }] }, registry: () => createCommandRegistry(), botOverrides: { services: shared } });
    const client = new WebClient(HARNESS_BOT_TOKEN, { slackApiUrl: t.standIn.apiUrl, retryConfig: { retries: 0 } });
    shared.reports = createReports({ services: shared, history: createSampleStore({ pool: kit.trail.pool }), poster: { channel: REPORTS, post: (report) => postDailyReport({ client, queue: channelWriteQueue(client) }, { channel: REPORTS }, report) } });
  }, 30_000);

  afterAll(async () => {
    await t?.close();
  });

  const reportsIn = (channel: string) => t.standIn.messages(channel, { includeEphemeralFor: ONCALL }).filter((message) => blockText(message.blocks).includes('Needs a human'));

  it('in the reports channel: the report appears once, the asker alone sees that it is there', async () => {
    await t.standIn.slashCommand({ userId: ONCALL, channelId: REPORTS, text: 'report daily' });
    const note = await t.standIn.waitFor(() => t.standIn.messages(REPORTS, { includeEphemeralFor: ONCALL }).find((message) => blockText(message.blocks).includes('posted in this channel')), 30_000, 'the note to the asker');
    expect(note.visibleTo).toBe(ONCALL);
    expect(reportsIn(REPORTS)).toHaveLength(1);
  }, 90_000);

  it('elsewhere: a short answer where asked naming #acgs-reports, the report once in the reports channel', async () => {
    const before = reportsIn(REPORTS).length;
    await t.standIn.slashCommand({ userId: ONCALL, channelId: OPS, text: 'report daily' });
    const answer = await t.standIn.waitFor(() => t.standIn.messages(OPS).find((message) => blockText(message.blocks).includes('posted to #acgs-reports')), 30_000, 'the answer in #acgs-ops');
    expect(blockText(answer.blocks)).toContain(`channel=${REPORTS}`);
    expect(reportsIn(OPS)).toHaveLength(0);
    expect(reportsIn(REPORTS)).toHaveLength(before + 1);
  }, 90_000);
});
