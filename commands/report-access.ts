/**
 * What every `report <kind>` command needs first: the bot's reports, or a message saying why this
 * process cannot make them and where to ask instead.
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
