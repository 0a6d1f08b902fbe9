/** `runbooks`: what the bot can run, what each one does, its level and its steps. */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { requireRuns } from './runbook-access.js';
import { runbooksDocument } from './run-documents.js';

export const runbooks = defineCommand({
  name: 'runbooks',
  summary: 'List the runbooks: what each does, its level and its steps',
  examples: ['runbooks'],
  level: 'read',
  args: z.object({}).strict(),
  async run(context) {
    return runbooksDocument(requireRuns(context).list());
  },
});
