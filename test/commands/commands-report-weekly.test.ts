/**
 * `report weekly` through the command path every surface uses (parse, authorize, record, run):
 * the real authorization policy and trail on PostgreSQL, the report made from the sampler's tables
 * there and posted to the Slack stand-in's reports channel with its chart. Asked in a channel, the
 * report appears once, in the reports channel, with only a pointer to it where it was asked. A
 * person without a role is refused, extra arguments are refused, and a process without reports
 * says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderText } from '../../bot/cli-render.js';
import { createSampleStore } from '../../bot/metrics-history/index.js';
import { fillMinuteSamples } from '../../bot/metrics-history/testing/fill-history.js';
import type { WeeklyPerformanceReport } from '../../bot/reports/weekly-performance-report.js';
import { commandRunner, type CommandRunner } from '../testing/commands.js';
import { openReportCommandsKit, OPS_CHANNEL as OPS, REPORTS_CHANNEL as REPORTS, type ReportCommandsKit } from '../testing/report-commands.js';

const ONCALL = 'U0ONCALL';
const VIEWER = 'U0VIEWER';
const CLI_USER = 'cli:operator';
const DAY = 24 * 3600_000;

let kit: ReportCommandsKit;
let run: CommandRunner;

beforeAll(async () => {
  const now = Date.now();
  kit = await openReportCommandsKit({
    prefix: 'acgs_report_weekly_cmds',
    botToken: 'xoxb-report-weekly-command-test',
    oncall: [ONCALL, CLI_USER],
    fill: async (trail) => {
      await fillMinuteSamples(trail.pool, { from: new Date(now - DAY), to: new Date(now) }, [{ metric: 'p99_latency_ms', service: 'policy-engine', base: 1, wave: 0, noise: 0 }]);
      // The weekly report reads days from the hourly roll-ups, as the sampler leaves them.
      await createSampleStore({ pool: trail.pool }).rollUp(new Date(now - DAY));
    },
  });
  run = commandRunner({ services: () => kit.services, user: ONCALL });
}, 30_000);

afterAll(async () => {
  await kit?.close();
});

const postedSince = (before: number) => kit.slack.messages(REPORTS).slice(before);

describe('report weekly', () => {
  it('answers with the weekly performance report and posts it with its chart to the reports channel', async () => {
    const before = kit.slack.messages(REPORTS).length;
    const answered = await run('report weekly');
    const report = answered.document.data as WeeklyPerformanceReport;
    expect(report.kpis.state === 'ok' && report.kpis.value.find((kpi) => kpi.metric === 'p99_latency_ms')).toMatchObject({ last_week: null, verdict: 'no data', tone: 'ok' });
    expect(renderText(answered.document)).toContain('Weekly performance report');
    expect(answered.document.footer).toContain(`Posted to #acgs-reports with 1 chart.`);
    const posted = postedSince(before);
    expect(posted).toHaveLength(1);
    expect(kit.slack.thread(REPORTS, posted[0]!.ts).flatMap((message) => message.files ?? []).map((file) => file.name)).toEqual(['p99-per-day.png']);
  }, 60_000);

  it('asked in the reports channel, posts the report there once and tells only the asker', async () => {
    const before = kit.slack.messages(REPORTS).length;
    const answered = await run('report weekly', { channelId: REPORTS });
    expect(answered.document).toMatchObject({ title: 'Weekly performance report posted in this channel', ephemeral: true });
    expect(answered.document.blocks).toEqual([{ type: 'text', text: expect.stringContaining(`channel=${REPORTS}`) }]);
    expect(postedSince(before)).toHaveLength(1);
  }, 60_000);

  it('asked in another channel, answers there with where the report went and a link to it', async () => {
    const before = kit.slack.messages(REPORTS).length;
    const answered = await run('report weekly', { channelId: OPS });
    expect(answered.document.title).toBe('Weekly performance report posted to #acgs-reports');
    expect(answered.document.ephemeral).toBeUndefined();
    expect(renderText(answered.document)).not.toContain('Slowest queries');
    const posted = postedSince(before);
    expect(posted).toHaveLength(1);
    const link = new URL((answered.document.blocks[0] as { text: string }).text);
    expect([link.searchParams.get('channel'), link.searchParams.get('message')]).toEqual([REPORTS, posted[0]!.ts]);
  }, 60_000);

  it('does not post from the CLI, and refuses a person without a role and extra arguments', async () => {
    const before = kit.slack.messages(REPORTS).length;
    const answered = await run('report weekly', { origin: 'cli', user: CLI_USER });
    expect(answered.document.title).toBe('Weekly performance report');
    expect(answered.document.footer).not.toContain('Posted to');
    expect((await run('report weekly', { user: VIEWER })).outcome).toBe('rejected');
    const extra = await run('report weekly last');
    expect(extra.outcome).toBe('rejected');
    expect(renderText(extra.document)).toMatch(/last/);
    expect(kit.slack.messages(REPORTS)).toHaveLength(before);
  }, 60_000);

  it('says when this process makes no reports', async () => {
    const without = { ...kit.services };
    delete without.reports;
    expect(renderText((await commandRunner({ services: () => without, user: ONCALL })('report weekly')).document)).toContain('Reports are not set up in this process.');
  });
});
