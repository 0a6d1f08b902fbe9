/**
 * `audit [--user] [--command] [--since] [--limit]`: the newest records of the bot's own
 * hash-chained trail (bot/audit-trail, read through the port in ports.ts), filtered.
 */
import { auditQueryArguments, auditTrailDocument } from './audit-documents.js';
import { CommandError, defineCommand, type CommandContext } from './command.js';
import { AuditLogUnavailableError } from './ports.js';

export function requireTrail(context: CommandContext) {
  const trail = context.services.trail;
  if (!trail) {
    const why = context.services.trailProblem ? ` (${context.services.trailProblem})` : '';
    throw new CommandError(`The bot's audit trail is not set up in this process${why}.`, 'The bot sets it up at start (DATABASE_URL, or the embedded database of `npm start`); the CLI uses DATABASE_URL, or the trail of a running `npm start`.', 'unavailable');
  }
  return trail;
}

export function trailUnavailable(error: unknown): never {
  if (error instanceof AuditLogUnavailableError) throw new CommandError(error.message, 'Try again once PostgreSQL is back; nothing is lost meanwhile.', 'unavailable');
  throw error;
}

export const audit = defineCommand({
  name: 'audit',
  summary: "Show the bot's audit trail: who ran what, the decision and the outcome",
  usage: '[--user @person] [--command name] [--since 24h] [--limit N]',
  examples: ['audit', 'audit --user U0ONCALL --since 24h', 'audit --command scale --since 7d'],
  level: 'read',
  flags: {
    user: { type: 'string', description: 'only records by this person (a mention, a user ID or cli:<user>)' },
    command: { type: 'string', description: 'only this command, e.g. scale or "lockdown lift"' },
    since: { type: 'string', description: 'only records since a span ago (30m, 12h, 7d) or a date' },
    limit: { type: 'string', description: 'how many records (default 20, at most 200)' },
  },
  args: auditQueryArguments,
  async run(context, filter) {
    const trail = requireTrail(context);
    const result = await trail.query(filter).catch(trailUnavailable);
    return auditTrailDocument(result, filter);
  },
});
