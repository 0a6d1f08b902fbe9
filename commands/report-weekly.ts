/**
 * `report weekly`: the weekly performance report (bot/reports/weekly-performance-report.ts) on
 * demand, as the scheduler posts it each Monday. In Slack and the console it is posted once, with
 * its charts, to channels.reports (else ops), and the answer where it was asked only points there;
 * the CLI prints the text, or the report's figures with --json.
 */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { reportRequest, requireReports } from './report-access.js';

export const reportWeekly = defineCommand({
  name: 'report weekly',
  summary: 'The weekly performance report: KPIs against last week, degradation trends, cache effectiveness, slowest queries, with charts',
  examples: ['report weekly'],
  level: 1,
  args: z.object({}).strict(),
  async run(context) {
    return requireReports(context).weeklyPerformance(reportRequest(context));
  },
});
