/**
 * What the report commands (`report daily`, `report security`, `report capacity`) share: the
 * bot's reports port (bot/reports/), or why there is none.
 */
import { CommandError, type CommandContext } from './command.js';
import type { Reports } from './ports.js';

export function requireReports(context: CommandContext): Reports {
  const { reports, reportsProblem } = context.services;
  if (!reports && reportsProblem) throw new CommandError('The reports cannot be made from here.', reportsProblem, 'unavailable');
  if (!reports) {
    throw new CommandError('Reports are not set up in this process.', 'The bot makes them from its database (`npm start`, or the bot with DATABASE_URL); ask it from Slack, the console or `npx acgs` with DATABASE_URL.', 'unavailable');
  }
  return reports;
}
