/** `run status <id>`: one run's steps with their state, attempts, durations and errors. */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { requireRuns, runIdArgument, runRefused } from './runbook-access.js';
import { runStatusDocument } from './run-documents.js';

export const runStatus = defineCommand({
  name: 'run status',
  summary: "Show a runbook run's steps: state, attempts, durations, errors",
  usage: '<run id>',
  examples: ['run status 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed'],
  level: 'read',
  positionals: ['id'],
  args: z.object({ id: runIdArgument }).strict(),
  async run(context, { id }) {
    return runStatusDocument(await requireRuns(context).get(id).catch(runRefused));
  },
});
