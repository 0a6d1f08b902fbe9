/**
 * `report daily`: the daily health report (bot/reports/daily-report.ts) on demand, as the
 * scheduler posts it each morning. In Slack and the console it is also posted with its charts to
 * channels.reports (else ops); the CLI prints the text, or the report's figures with --json.
 */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { requireReports } from './report-access.js';

export const reportDaily = defineCommand({
  name: 'report daily',
  summary: "The daily health report: services, KPIs against thresholds, the night's alerts, backup, audit chain, with charts",
  examples: ['report daily'],
  level: 1,
  args: z.object({}).strict(),
  async run(context) {
    return requireReports(context).daily({ post: context.origin !== 'cli' });
  },
});
