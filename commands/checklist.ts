/**
 * `checklist <name>`: starts one of the runbook's checklists (pre-deployment, post-deployment,
 * monthly-review). The bot runs its automatic checks at once; the rest are ticked by people, in
 * the checklist's message in Slack or with `checklist tick`. Level 1: starting and ticking change
 * nothing on the stack, but they are records people sign, so only on-call and admins make them.
 */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { checklistRefused, requireChecklists } from './checklist-access.js';
import { checklistDocument } from './checklist-documents.js';

export const checklist = defineCommand({
  name: 'checklist',
  summary: "Start one of the runbook's checklists: the bot runs its checks, people tick the rest",
  usage: '<pre-deployment|post-deployment|monthly-review>',
  examples: ['checklist pre-deployment', 'checklist post-deployment', 'checklist monthly-review'],
  level: 1,
  // The resources check measures the Stack: processes that build it lazily (the CLI) build it for these.
  usesStack: true,
  positionals: ['name'],
  args: z
    .object({
      name: z
        .string({ error: 'name the checklist: pre-deployment, post-deployment or monthly-review (`checklists` lists them)' })
        .max(60, { error: 'no checklist has a name that long (`checklists` lists them)' }),
    })
    .strict(),
  async run(context, { name }) {
    const started = await requireChecklists(context)
      .start({
        checklist: name.trim().toLowerCase(),
        startedBy: context.actor.id,
        origin: context.origin,
        ...(context.channelId ? { channel: context.channelId } : {}),
        ...(context.execution ? { execution: context.execution.key } : {}),
      })
      .catch(checklistRefused);
    return checklistDocument(started, { lead: 'Started', inChannel: started.channel !== null });
  },
});
