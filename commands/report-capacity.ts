/**
 * `report capacity`: the monthly capacity report (bot/reports/capacity-report.ts) on demand, as
 * the scheduler posts it on the 1st: each resource's trend over 30 days and when it would cross
 * its threshold. In Slack and the console it is posted once, with its charts, to channels.reports
 * (else ops), and the answer where it was asked only points there; the CLI prints the text, or
 * the report's figures with --json.
 */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { reportRequest, requireReports } from './report-access.js';

export const reportCapacity = defineCommand({
  name: 'report capacity',
  summary: 'The monthly capacity report: CPU, memory, p99 latency and request rate over 30 days, with trend lines and when each would cross its threshold',
  examples: ['report capacity'],
  level: 1,
  args: z.object({}).strict(),
  async run(context) {
    return requireReports(context).capacity(reportRequest(context));
  },
});
