/**
 * `report capacity` through the command path every surface uses (parse, authorize, record, run):
 * the real authorization policy and trail on PostgreSQL, the report made from a month of hourly
 * roll-ups there and posted to the Slack stand-in's reports channel with its charts. A person
 * without a role is refused, extra arguments are refused, and a process without reports says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderText } from '../../bot/cli-render.js';
import { fillHourlyTrends } from '../../bot/metrics-history/testing/fill-history.js';
import type { CapacityReport } from '../../bot/reports/capacity-report.js';
import { commandRunner, type CommandRunner } from '../testing/commands.js';
import { openReportCommandsKit, REPORTS_CHANNEL as REPORTS, type ReportCommandsKit } from '../testing/report-commands.js';

const ONCALL = 'U0ONCALL';
const VIEWER = 'U0VIEWER';
const CLI_USER = 'cli:operator';
const DAY = 24 * 3600_000;

let kit: ReportCommandsKit;
let run: CommandRunner;

beforeAll(async () => {
  const now = Date.now();
  kit = await openReportCommandsKit({
    prefix: 'acgs_report_capacity_cmds',
    botToken: 'xoxb-report-capacity-command-test',
    oncall: [ONCALL, CLI_USER],
    // Memory of the Policy Engine from 40 % a month ago, 1 % a day: about 71 % now, 85 % in two weeks.
    fill: (trail) => fillHourlyTrends(trail.pool, { from: new Date(now - 31 * DAY), to: new Date(now) }, [{ metric: 'memory_percent', service: 'policy-engine', start: 40, perDay: 1 }]),
  });
  run = commandRunner({ services: () => kit.services, user: ONCALL });
}, 30_000);

afterAll(async () => {
  await kit?.close();
});

describe('report capacity', () => {
  it('answers with the report and posts it with its chart to the reports channel', async () => {
    const before = kit.slack.messages(REPORTS).length;
    const answered = await run('report capacity');
    expect(answered.outcome).not.toBe('rejected');
    const report = answered.document.data as CapacityReport;
    const memory = report.trends.memory.state === 'ok' ? report.trends.memory.value.find((trend) => trend.service === 'policy-engine') : undefined;
    expect(memory?.projection).toMatchObject({ state: 'crosses' });
    expect(memory?.projection.state === 'crosses' && memory.projection.in_days).toBeGreaterThan(12);
    expect(memory?.projection.state === 'crosses' && memory.projection.in_days).toBeLessThan(16);
    expect(renderText(answered.document)).toContain('Monthly capacity report');
    expect(report.needs_attention.some((need) => need.startsWith('Memory of policy-engine would cross 85 %'))).toBe(true);
    expect(answered.document.footer).toContain(`Posted to #acgs-reports with 1 chart.`);
    const posted = kit.slack.messages(REPORTS).slice(before);
    expect(posted).toHaveLength(1);
    expect(kit.slack.thread(REPORTS, posted[0]!.ts).flatMap((message) => message.files ?? []).map((file) => file.name)).toEqual(['capacity-memory.png']);
  }, 60_000);

  it('does not post from the CLI', async () => {
    const before = kit.slack.messages(REPORTS).length;
    const answered = await run('report capacity', { origin: 'cli', user: CLI_USER });
    expect(answered.document.title).toBe('Monthly capacity report');
    expect(answered.document.footer).not.toContain('Posted to');
    expect(kit.slack.messages(REPORTS)).toHaveLength(before);
  }, 60_000);

  it('refuses a person without a role, and extra arguments, posting nothing', async () => {
    const before = kit.slack.messages(REPORTS).length;
    const refused = await run('report capacity', { user: VIEWER });
    expect(refused.outcome).toBe('rejected');
    const extra = await run('report capacity 90d');
    expect(extra.outcome).toBe('rejected');
    expect(renderText(extra.document)).toMatch(/90d/);
    expect(kit.slack.messages(REPORTS)).toHaveLength(before);
  });

  it('says when this process makes no reports', async () => {
    const without = { ...kit.services };
    delete without.reports;
    const answered = await commandRunner({ services: () => without, user: ONCALL })('report capacity');
    expect(renderText(answered.document)).toContain('Reports are not set up in this process.');
  });
});
