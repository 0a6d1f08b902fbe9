/** `checklist show <id>`: one checklist with each item's state and its whole history. */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { checklistIdArgument, checklistRefused, requireChecklists } from './checklist-access.js';
import { checklistDocument } from './checklist-documents.js';

export const checklistShow = defineCommand({
  name: 'checklist show',
  summary: "Show a checklist's items, their evidence and who ticked what when",
  usage: '<checklist id>',
  examples: ['checklist show 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed'],
  level: 'read',
  positionals: ['id'],
  args: z.object({ id: checklistIdArgument }).strict(),
  async run(context, { id }) {
    const { checklist, events } = await requireChecklists(context).get(id).catch(checklistRefused);
    return checklistDocument(checklist, { events });
  },
});
