/**
 * What the checklist commands share: the port (or why there is none), its refusals as
 * CommandErrors, and a checklist id and an item id as arguments.
 */
import { z } from 'zod';
import { CommandError, type CommandContext } from './command.js';
import { clip } from './format.js';
import { ChecklistRequestError, type Checklists } from './ports.js';

export function requireChecklists(context: CommandContext): Checklists {
  const checklists = context.services.checklists;
  if (!checklists && context.services.checklistsProblem) throw new CommandError('The checklists cannot be reached from here.', context.services.checklistsProblem, 'unavailable');
  if (!checklists) {
    throw new CommandError(
      'Checklists are not set up in this process.',
      'The bot keeps them in its database (`npm start`, or any process with DATABASE_URL); start one from Slack or the console.',
      'unavailable',
    );
  }
  return checklists;
}

const HINTS: Record<string, string> = {
  'unknown-instance': '`checklists` lists the open and recent ones.',
  'unknown-checklist': '`checklists` lists the checklists there are.',
  'unknown-item': '`checklist show <id>` lists its items.',
};

/** The port refused before writing anything: its sentence is the answer. */
export function checklistRefused(error: unknown): never {
  if (error instanceof ChecklistRequestError) throw new CommandError(error.message, HINTS[error.code], 'refused');
  throw error;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** The first 8 digits, as a checklist's short name shows them: what people copy first. */
const SHORT_ID = /^[0-9a-f]{8}$/;

export const checklistIdArgument = z
  .string({ error: 'name the checklist: its id, as `checklists` shows it' })
  .transform((value, context) => {
    const id = value.trim().toLowerCase();
    if (UUID.test(id)) return id;
    const message = SHORT_ID.test(id)
      ? `\`${id}\` is only the start of a checklist id; give the whole id, as \`checklists\` and the checklist's message show it (like 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed)`
      : `\`${clip(value, 40)}\` is not a checklist id; one looks like 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed (\`checklists\` lists them)`;
    context.addIssue({ code: 'custom', input: value, message });
    return z.NEVER;
  });

export const checklistItemArgument = z
  .string({ error: 'name the item: its id, as `checklist show <id>` lists them' })
  .regex(/^[a-z][a-z0-9-]{0,39}$/, { error: 'an item id is a short kebab-case word such as `backup-created` (`checklist show <id>` lists them)' });
