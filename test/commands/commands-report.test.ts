/**
 * `report daily` through the command path every surface uses (parse, authorize, record, run): the
 * real authorization policy and trail on PostgreSQL, the report made from the sampler's tables
 * there and posted to the Slack stand-in's reports channel with its charts. A person without a
 * role is refused, extra arguments are refused, and a process without reports says so.
 */
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderText } from '../../bot/cli-render.js';
import { createCommandPathDependencies, type CommandPathDependencies } from '../../bot/command-path/index.js';
import { createSampleStore, migrateMetricsHistory } from '../../bot/metrics-history/index.js';
import { fillMinuteSamples } from '../../bot/metrics-history/testing/fill-history.js';
import { createReports } from '../../bot/reports/daily-report-service.js';
import type { DailyReport } from '../../bot/reports/daily-report.js';
import type { WeeklyPerformanceReport } from '../../bot/reports/weekly-performance-report.js';
import { postDailyReport } from '../../bot/slack/post-daily-report.js';
import { startSlackStandIn, type SlackStandIn } from '../../bot/slack/stand-in/index.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { openTestTrail, testGate, type TestTrail } from '../testing/command-access.js';
import { commandRunner, type CommandRunner } from '../testing/commands.js';
import { unusedLoopbackUrl } from '../testing/loopback.js';
import { channelWriteQueue } from '../../bot/slack/channel-write-queue.js';

const ONCALL = 'U0ONCALL';
const VIEWER = 'U0VIEWER';
const CLI_USER = 'cli:operator';
const BOT_TOKEN = 'xoxb-report-command-test';
const REPORTS = 'C0ACGSREPORTS';

let trail: TestTrail;
let slack: SlackStandIn;
let services: CommandPathDependencies;
let run: CommandRunner;

beforeAll(async () => {
  trail = await openTestTrail({ prefix: 'acgs_report_cmds' });
  await migrateMetricsHistory(trail.pool);
  const now = Date.now();
  await fillMinuteSamples(trail.pool, { from: new Date(now - 24 * 3600_000), to: new Date(now) }, [{ metric: 'p99_latency_ms', service: 'policy-engine', base: 1, wave: 0, noise: 0 }]);
  // The weekly report reads days from the hourly roll-ups, as the sampler leaves them.
  await createSampleStore({ pool: trail.pool }).rollUp(new Date(now - 24 * 3600_000));
  slack = await startSlackStandIn({ botToken: BOT_TOKEN, console: false, workspace: { channels: [{ id: REPORTS, name: 'acgs-reports' }] } });
  const client = new WebClient(BOT_TOKEN, { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  const nowhere = await unusedLoopbackUrl();
  const base = createCommandPathDependencies({ endpoints: Object.fromEntries(SERVICE_NAMES.map((name) => [name, nowhere])) as Record<ServiceName, string>, checkTimeoutMs: 500 });
  services = { ...base, authorization: await testGate({ roles: { oncall: [ONCALL, CLI_USER] } }), trail: trail.trail };
  services.reports = createReports({ services, history: createSampleStore({ pool: trail.pool }), poster: { channel: REPORTS, post: (report) => postDailyReport({ client, queue: channelWriteQueue(client) }, { channel: REPORTS }, report) } });
  run = commandRunner({ services: () => services, user: ONCALL });
}, 30_000);

afterAll(async () => {
  await slack?.close();
  await trail?.close();
});

describe('report daily', () => {
  it('answers with the report and posts it with its charts to the reports channel', async () => {
    const before = slack.messages(REPORTS).length;
    const answered = await run('report daily');
    const report = answered.document.data as DailyReport;
    expect(report.kpis.state === 'ok' && report.kpis.value.find((kpi) => kpi.metric === 'p99_latency_ms')).toMatchObject({ value: 1, tone: 'ok' });
    expect(renderText(answered.document)).toContain('Daily health report');
    expect(answered.document.footer).toContain(`Posted in channel ${REPORTS} with 1 chart.`);
    const posted = slack.messages(REPORTS).slice(before);
    expect(posted).toHaveLength(1);
    expect(slack.thread(REPORTS, posted[0]!.ts).flatMap((message) => message.files ?? []).map((file) => file.name)).toEqual(['latency.png']);
  }, 60_000);

  it('does not post from the CLI', async () => {
    const before = slack.messages(REPORTS).length;
    const answered = await run('report daily', { origin: 'cli', user: CLI_USER });
    expect(answered.document.title).toBe('Daily health report');
    expect(answered.document.footer).not.toContain('Posted in channel');
    expect(slack.messages(REPORTS)).toHaveLength(before);
  });

  it('refuses a person without a role, and extra arguments, posting nothing', async () => {
    const before = slack.messages(REPORTS).length;
    const refused = await run('report daily', { user: VIEWER });
    expect(refused.outcome).not.toBe('ok');
    const extra = await run('report daily now');
    expect(extra.outcome).not.toBe('ok');
    expect(slack.messages(REPORTS)).toHaveLength(before);
  });

  it('says when this process makes no reports', async () => {
    const without = { ...services };
    delete without.reports;
    const answered = await commandRunner({ services: () => without, user: ONCALL })('report daily');
    expect(renderText(answered.document)).toContain('Reports are not set up in this process.');
  });
});

describe('report weekly', () => {
  it('answers with the weekly performance report and posts it with its chart to the reports channel', async () => {
    const before = slack.messages(REPORTS).length;
    const answered = await run('report weekly');
    const report = answered.document.data as WeeklyPerformanceReport;
    expect(report.kpis.state === 'ok' && report.kpis.value.find((kpi) => kpi.metric === 'p99_latency_ms')).toMatchObject({ last_week: null, verdict: 'no data', tone: 'ok' });
    expect(renderText(answered.document)).toContain('Weekly performance report');
    expect(answered.document.footer).toContain(`Posted in channel ${REPORTS} with 1 chart.`);
    const posted = slack.messages(REPORTS).slice(before);
    expect(posted).toHaveLength(1);
    expect(slack.thread(REPORTS, posted[0]!.ts).flatMap((message) => message.files ?? []).map((file) => file.name)).toEqual(['p99-per-day.png']);
  }, 60_000);

  it('does not post from the CLI, and refuses a person without a role and extra arguments', async () => {
    const before = slack.messages(REPORTS).length;
    const answered = await run('report weekly', { origin: 'cli', user: CLI_USER });
    expect(answered.document.title).toBe('Weekly performance report');
    expect(answered.document.footer).not.toContain('Posted in channel');
    expect((await run('report weekly', { user: VIEWER })).outcome).not.toBe('ok');
    const extra = await run('report weekly last');
    expect(extra.outcome).not.toBe('ok');
    expect(slack.messages(REPORTS)).toHaveLength(before);
  }, 60_000);

  it('says when this process makes no reports', async () => {
    const without = { ...services };
    delete without.reports;
    expect(renderText((await commandRunner({ services: () => without, user: ONCALL })('report weekly')).document)).toContain('Reports are not set up in this process.');
  });
});
