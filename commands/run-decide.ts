/** `run decide <id> retry|skip|abort`: a person's decision on a run that stopped for one. */
import { z } from 'zod';
import { choiceArgument } from './arguments.js';
import { defineCommand } from './command.js';
import { requireRuns, runIdArgument, runRefused } from './runbook-access.js';
import { runChangedDocument } from './run-documents.js';

export const runDecide = defineCommand({
  name: 'run decide',
  summary: 'Decide on a run waiting for a decision: retry the step, skip it, or abort',
  usage: '<run id> retry|skip|abort',
  examples: ['run decide 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed retry'],
  level: 1,
  positionals: ['id', 'decision'],
  args: z.object({ id: runIdArgument, decision: choiceArgument(['retry', 'skip', 'abort'], 'a decision') }).strict(),
  async run(context, { id, decision }) {
    const run = await requireRuns(context).decide(id, decision, context.actor.id, context.execution?.key).catch(runRefused);
    return runChangedDocument(run, decision);
  },
});
