/** `checklist rerun <id>`: runs a started checklist's automatic checks again and records what they saw. */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { checklistIdArgument, checklistRefused, requireChecklists } from './checklist-access.js';
import { checklistDocument } from './checklist-documents.js';

export const checklistRerun = defineCommand({
  name: 'checklist rerun',
  summary: "Run a checklist's automatic checks again (after fixing what they found)",
  usage: '<checklist id>',
  examples: ['checklist rerun 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed'],
  level: 1,
  // The resources check measures the Stack: processes that build it lazily (the CLI) build it for these.
  usesStack: true,
  positionals: ['id'],
  args: z.object({ id: checklistIdArgument }).strict(),
  async run(context, { id }) {
    const checked = await requireChecklists(context).rerun(id, context.actor.id, context.execution?.key).catch(checklistRefused);
    return checklistDocument(checked, { lead: checked.completedAt ? 'Completed' : 'Checked again', inChannel: checked.messageTs !== null });
  },
});
