/** `checklists`: the checklists there are, the open ones, and the recently completed ones. */
import { z } from 'zod';
import { wholeNumberArgument } from './arguments.js';
import { defineCommand } from './command.js';
import { requireChecklists } from './checklist-access.js';
import { checklistsDocument } from './checklist-documents.js';

export const checklists = defineCommand({
  name: 'checklists',
  summary: 'Show the runbook checklists, the open ones and the recently completed ones',
  usage: '[--limit N]',
  examples: ['checklists', 'checklists --limit 50'],
  level: 'read',
  flags: { limit: { type: 'string', description: 'how many recently completed ones (default 10, at most 100)' } },
  args: z.object({ limit: wholeNumberArgument(1, 100).default(10) }).strict(),
  async run(context, { limit }) {
    const port = requireChecklists(context);
    return checklistsDocument(port.definitions(), await port.recent(limit));
  },
});
