/** `runs`: every runbook run that is still active, however old, then the recent finished ones. */
import { z } from 'zod';
import { wholeNumberArgument } from './arguments.js';
import { defineCommand } from './command.js';
import { requireRuns } from './runbook-access.js';
import { runsDocument } from './run-documents.js';

export const runs = defineCommand({
  name: 'runs',
  summary: 'Show the active and recent runbook runs',
  usage: '[--limit N]',
  examples: ['runs', 'runs --limit 50'],
  level: 'read',
  flags: { limit: { type: 'string', description: 'how many of the newest finished runs (default 20, at most 100); active runs are always listed' } },
  args: z.object({ limit: wholeNumberArgument(1, 100).default(20) }).strict(),
  async run(context, { limit }) {
    return runsDocument(await requireRuns(context).activeAndRecent(limit));
  },
});
