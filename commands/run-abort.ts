/**
 * `run abort <id>`: stops a run; the step at hand is stopped and the completed steps are undone in
 * reverse order where they can be (the engine's compensations).
 */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { requireRuns, runIdArgument, runRefused } from './runbook-access.js';
import { runChangedDocument } from './run-documents.js';

export const runAbort = defineCommand({
  name: 'run abort',
  summary: 'Abort a runbook run; its completed steps are undone where they can be',
  usage: '<run id>',
  examples: ['run abort 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed'],
  level: 1,
  positionals: ['id'],
  args: z.object({ id: runIdArgument }).strict(),
  async run(context, { id }) {
    const run = await requireRuns(context).abort(id, context.actor.id, context.execution?.key).catch(runRefused);
    return runChangedDocument(run, 'abort');
  },
});
