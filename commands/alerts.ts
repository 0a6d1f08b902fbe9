/**
 * `alerts`: the open alerts (id, rule, service, state, fired when, value against threshold, who
 * acknowledged, snoozed until, flapping) and the silences in force. `alerts history [--since 24h]
 * [--limit N]`: what happened to alerts, newest first, with who.
 */
import { z } from 'zod';
import { wholeNumberArgument } from './arguments.js';
import { requireAlerts } from './alert-access.js';
import { alertHistoryDocument, openAlertsDocument } from './alert-documents.js';
import { auditSinceArgument } from './audit-documents.js';
import { defineCommand } from './command.js';

export const alerts = defineCommand({
  name: 'alerts',
  summary: 'Show the open alerts (state, value against threshold, who acknowledged, snoozes) and the silenced rules',
  examples: ['alerts'],
  level: 'read',
  args: z.object({}).strict(),
  async run(context) {
    const port = requireAlerts(context);
    const [open, silences] = await Promise.all([port.open(), port.silences()]);
    return openAlertsDocument(open, silences, port.timezone);
  },
});

const DAY_MS = 86_400_000;

export const alertsHistory = defineCommand({
  name: 'alerts history',
  summary: 'Show what happened to alerts, newest first: fired, acknowledged, snoozed, what the bot did, escalated, resolved, and who',
  usage: '[--since 24h] [--limit N]',
  examples: ['alerts history', 'alerts history --since 7d --limit 100'],
  level: 'read',
  flags: {
    since: { type: 'string', description: 'since a span ago (30m, 12h, 7d) or a date (default 24h)' },
    limit: { type: 'string', description: 'how many events (default 50, at most 200)' },
  },
  args: z.object({ since: auditSinceArgument.optional(), limit: wholeNumberArgument(1, 200).default(50) }).strict(),
  async run(context, { since, limit }) {
    const port = requireAlerts(context);
    const from = since ?? new Date(Date.now() - DAY_MS);
    return alertHistoryDocument(await port.history(from, limit), { since: from, limit }, port.timezone);
  },
});
