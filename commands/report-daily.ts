/**
 * `report daily`: the daily health report (bot/reports/daily-report.ts) on demand, as the
 * scheduler posts it each morning. In Slack and the console it is posted once, with its charts, to
 * channels.reports (else ops), and the answer where it was asked only points there; the CLI prints
 * the text, or the report's figures with --json.
 */
import { z } from 'zod';
import { CommandError, defineCommand, type CommandContext } from './command.js';
import type { Reports } from './ports.js';

/** The reports port, or the reason this process has none (shared by every `report` command). */
export function requireReports(context: CommandContext): Reports {
  const { reports, reportsProblem } = context.services;
  if (!reports && reportsProblem) throw new CommandError('The reports cannot be made from here.', reportsProblem, 'unavailable');
  if (!reports) {
    throw new CommandError('Reports are not set up in this process.', 'The bot makes them from its database (`npm start`, or the bot with DATABASE_URL); ask it from Slack, the console or `npx acgs` with DATABASE_URL.', 'unavailable');
  }
  return reports;
}

export const reportDaily = defineCommand({
  name: 'report daily',
  summary: "The daily health report: services, KPIs against thresholds, the night's alerts, backup, audit chain, with charts",
  examples: ['report daily'],
  level: 1,
  args: z.object({}).strict(),
  async run(context) {
    return requireReports(context).daily({ post: context.origin !== 'cli', ...(context.channelId ? { askedIn: context.channelId } : {}) });
  },
});
