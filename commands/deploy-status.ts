/** `deploy status`: who holds the deploy lock, since when, for which run, and that run's current step. */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { deploymentRefused, requireDeployments } from './deploy-access.js';
import { deployStatusDocument } from './deploy-documents.js';

export const deployStatus = defineCommand({
  name: 'deploy status',
  summary: 'Show whether a deployment is in progress: who holds the deploy lock, since when, and its run\'s current step',
  examples: ['deploy status'],
  // The records and the lock are kept per stack: the CLI builds the stack to know which.
  usesStack: true,
  level: 'read',
  args: z.object({}).strict(),
  async run(context) {
    const lock = await requireDeployments(context).lock().catch(deploymentRefused);
    if (!lock) return deployStatusDocument(null);
    const runs = context.services.runs;
    if (!runs) return deployStatusDocument(lock, { problem: 'unknown here: the runbook engine is not reachable from this process' });
    // The lock is the answer; a run that cannot be read only loses its step.
    const run = await runs.get(lock.runId).then(
      (detail) => ({ detail }),
      (error: unknown) => ({ problem: `unknown: ${(error as Error).message}` }),
    );
    return deployStatusDocument(lock, run);
  },
});
