/**
 * What every `report <kind>` command needs first: the bot's reports, or a message saying why this
 * process cannot make them and where to ask instead; and how the report is asked for.
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

/**
 * Posted from Slack, the console and the scheduler (the CLI only prints it); asked in a channel,
 * the answer there only points at the posted report, so the report itself appears once.
 */
export function reportRequest(context: CommandContext): { post: boolean; askedIn?: string } {
  return { post: context.origin !== 'cli', ...(context.channelId ? { askedIn: context.channelId } : {}) };
}
