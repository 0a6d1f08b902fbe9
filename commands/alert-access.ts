/**
 * What the alert commands share: the Alerts port (or why there is none), its refusals as
 * CommandErrors, and an alert id as an argument.
 */
import { z } from 'zod';
import { CommandError, type CommandContext } from './command.js';
import { clip } from './format.js';
import { AlertRequestError, type Alerts } from './ports.js';

export function requireAlerts(context: CommandContext): Alerts {
  const { alerts, alertsProblem } = context.services;
  if (!alerts && alertsProblem) throw new CommandError('The alerts cannot be reached from here.', alertsProblem, 'unavailable');
  if (!alerts) {
    throw new CommandError(
      'Alerts are not set up in this process.',
      'The bot keeps them in its database (`npm start`, or the bot with DATABASE_URL); ask it from Slack, the console or `npx acgs` with DATABASE_URL.',
      'unavailable',
    );
  }
  return alerts;
}

const HINTS: Record<string, string> = {
  'not-found': '`alerts` lists the open alerts with their ids; `alerts history` the recent ones.',
  resolved: '`alerts` lists the open alerts.',
};

/** The store refused before changing anything: its sentence is the answer. */
export function alertRefused(error: unknown): never {
  if (error instanceof AlertRequestError) throw new CommandError(error.message, HINTS[error.code], 'refused');
  throw error;
}

/** An alert id as `alerts` and the alert's message show it: a number, `#12` accepted. */
export const alertIdArgument = z
  .string({ error: 'name the alert: its number, as `alerts` and the alert\'s message show it' })
  .transform((value, context) => {
    const id = value.trim().replace(/^#/, '');
    if (/^[0-9]{1,18}$/.test(id) && !/^0+$/.test(id)) return id.replace(/^0+/, '');
    context.addIssue({ code: 'custom', input: value, message: `\`${clip(value, 40)}\` is not an alert id; an alert id is a number such as 12 (\`alerts\` lists them)` });
    return z.NEVER;
  });
