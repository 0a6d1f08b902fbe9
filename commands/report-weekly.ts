/**
 * `report weekly`: the weekly performance report (bot/reports/weekly-performance-report.ts) on
 * demand, as the scheduler posts it each Monday. In Slack and the console it is also posted with
 * its charts to channels.reports (else ops); the CLI prints the text, or the figures with --json.
 */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { requireReports } from './report-access.js';

export const reportWeekly = defineCommand({
  name: 'report weekly',
  summary: 'The weekly performance report: KPIs against last week, degradation trends, cache effectiveness, slowest queries, with charts',
  examples: ['report weekly'],
  level: 1,
  args: z.object({}).strict(),
  async run(context) {
    return requireReports(context).weeklyPerformance({ post: context.origin !== 'cli' });
  },
});
