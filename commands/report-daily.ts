/**
 * `report daily`: the daily health report (bot/reports/daily-report.ts) on demand, as the
 * scheduler posts it each morning. In Slack and the console it is posted once, with its charts, to
 * channels.reports (else ops), and the answer where it was asked only points there; the CLI prints
 * the text, or the report's figures with --json.
 */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { reportRequest, requireReports } from './report-access.js';

export const reportDaily = defineCommand({
  name: 'report daily',
  summary: "The daily health report: services, KPIs against thresholds, the night's alerts, backup, audit chain, with charts",
  examples: ['report daily'],
  level: 1,
  args: z.object({}).strict(),
  async run(context) {
    return requireReports(context).daily(reportRequest(context));
  },
});
