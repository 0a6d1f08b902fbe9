/**
 * `report security`: the weekly security report (bot/reports/security-report.ts) on demand, as
 * the scheduler posts it each Monday: refused commands, failed authentication, break-glass,
 * approvals, both audit chains, safety violations, strict mode and lockdown over the last 7 days.
 * In Slack and the console it is posted once, with its chart, to channels.reports (else ops), and
 * the answer where it was asked only points there; the CLI prints the text, or the report's
 * figures with --json.
 */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { reportRequest, requireReports } from './report-access.js';

export const reportSecurity = defineCommand({
  name: 'report security',
  summary: 'The weekly security report: refused commands, failed authentication, break-glass, approvals, audit chains, violations, mode changes, with a chart',
  examples: ['report security'],
  level: 1,
  args: z.object({}).strict(),
  async run(context) {
    return requireReports(context).security(reportRequest(context));
  },
});
