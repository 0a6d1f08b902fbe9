/** `deploy status`: who holds the deploy lock, since when, for which run, and that run's current step. */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { deploymentRefused, requireDeployments } from './deploy-access.js';
import { deployStatusDocument, forcedOpenStatusDocument } from './deploy-documents.js';

export const deployStatus = defineCommand({
  name: 'deploy status',
  summary: 'Show whether a deployment is in progress: who holds the deploy lock, since when, and its run\'s current step',
  examples: ['deploy status'],
  // The records and the lock are kept per stack: the CLI builds the stack to know which.
  usesStack: true,
  level: 'read',
  args: z.object({}).strict(),
  async run(context) {
    const deployments = requireDeployments(context);
    const lock = await deployments.lock().catch(deploymentRefused);
    const runs = context.services.runs;
    // The lock is the answer; a run that cannot be read only loses its step.
    const runOf = async (runId: string) =>
      runs
        ? runs.get(runId).then(
            (detail) => ({ detail }),
            (error: unknown) => ({ problem: `unknown: ${(error as Error).message}` }),
          )
        : { problem: 'unknown here: the runbook engine is not reachable from this process' };
    if (lock) return deployStatusDocument(lock, await runOf(lock.runId));
    // A free lock does not stop a run an admin forced it open under: that run still deploys.
    const forced = await deployments.forcedOpen().catch(deploymentRefused);
    return forcedOpenStatusDocument(await Promise.all(forced.map(async (entry) => ({ entry, run: await runOf(entry.runId) }))));
  },
});
