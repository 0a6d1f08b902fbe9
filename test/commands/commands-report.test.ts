/**
 * `report daily` through the command path every surface uses (parse, authorize, record, run): the
 * real authorization policy and trail on PostgreSQL, the report made from the sampler's tables
 * there and posted to the Slack stand-in's reports channel with its charts. A person without a
 * role is refused, extra arguments are refused, and a process without reports says so.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderText } from '../../bot/cli-render.js';
import { fillMinuteSamples } from '../../bot/metrics-history/testing/fill-history.js';
import type { DailyReport } from '../../bot/reports/daily-report.js';
import { commandRunner, type CommandRunner } from '../testing/commands.js';
import { openReportCommandsKit, REPORTS_CHANNEL as REPORTS, type ReportCommandsKit } from '../testing/report-commands.js';

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
    expect(answered.document.footer).toContain(`Posted in channel ${REPORTS} with 1 chart.`);
    const posted = kit.slack.messages(REPORTS).slice(before);
    expect(posted).toHaveLength(1);
    expect(kit.slack.thread(REPORTS, posted[0]!.ts).flatMap((message) => message.files ?? []).map((file) => file.name)).toEqual(['latency.png']);
  }, 60_000);

  it('does not post from the CLI', async () => {
    const before = kit.slack.messages(REPORTS).length;
    const answered = await run('report daily', { origin: 'cli', user: CLI_USER });
    expect(answered.document.title).toBe('Daily health report');
    expect(answered.document.footer).not.toContain('Posted in channel');
    expect(kit.slack.messages(REPORTS)).toHaveLength(before);
  });

  it('refuses a person without a role, and extra arguments, posting nothing', async () => {
    const before = kit.slack.messages(REPORTS).length;
    const refused = await run('report daily', { user: VIEWER });
    expect(refused.outcome).not.toBe('ok');
    const extra = await run('report daily now');
    expect(extra.outcome).not.toBe('ok');
    expect(kit.slack.messages(REPORTS)).toHaveLength(before);
  });

  it('says when this process makes no reports', async () => {
    const without = { ...kit.services };
    delete without.reports;
    const answered = await commandRunner({ services: () => without, user: ONCALL })('report daily');
    expect(renderText(answered.document)).toContain('Reports are not set up in this process.');
  });
});
