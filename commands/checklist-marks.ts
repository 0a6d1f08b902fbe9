/**
 * `checklist tick <id> <item>` and `checklist untick <id> <item>`: a person signs an item off, or
 * takes the signature back. The command path records who and when in the trail; the checklist
 * keeps it too. A tick may complete the checklist; a completed one changes no more.
 */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { checklistIdArgument, checklistItemArgument, checklistRefused, requireChecklists } from './checklist-access.js';
import { checklistDocument } from './checklist-documents.js';

const args = z.object({ id: checklistIdArgument, item: checklistItemArgument }).strict();

export const checklistTick = defineCommand({
  name: 'checklist tick',
  summary: 'Tick an item of a started checklist (it is recorded who and when)',
  usage: '<checklist id> <item>',
  examples: ['checklist tick 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed rollback-plan'],
  level: 1,
  positionals: ['id', 'item'],
  args,
  async run(context, { id, item }) {
    const ticked = await requireChecklists(context).tick(id, item, context.actor.id, context.execution?.key).catch(checklistRefused);
    return checklistDocument(ticked, { lead: ticked.completedAt ? 'Completed' : 'Ticked', inChannel: ticked.messageTs !== null, tone: 'ok' });
  },
});

export const checklistUntick = defineCommand({
  name: 'checklist untick',
  summary: 'Take back the tick of an item of an open checklist',
  usage: '<checklist id> <item>',
  examples: ['checklist untick 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed rollback-plan'],
  level: 1,
  positionals: ['id', 'item'],
  args,
  async run(context, { id, item }) {
    const unticked = await requireChecklists(context).untick(id, item, context.actor.id, context.execution?.key).catch(checklistRefused);
    return checklistDocument(unticked, { lead: 'Unticked', inChannel: unticked.messageTs !== null, tone: 'ok' });
  },
});
