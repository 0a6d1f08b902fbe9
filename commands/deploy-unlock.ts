/**
 * `deploy unlock <reason...>`: an admin frees the deploy lock whoever holds it, when its run is
 * stuck in a way the lock's own rule (a run that ended holds nothing) does not cover. The reason is
 * in the command line the trail records, and in the lock's own history.
 */
import { z } from 'zod';
import { defineCommand } from './command.js';
import { deploymentRefused, requireDeployments } from './deploy-access.js';
import { deployUnlockedDocument } from './deploy-documents.js';

export const MIN_UNLOCK_REASON = 10;
const MAX_UNLOCK_REASON = 500;

const reasonArgument = z.object({
  line: z
    .string()
    .transform((line) => line.replace(/^(["'])(.*)\1$/s, '$2').trim())
    .pipe(
      z
        .string()
        .min(MIN_UNLOCK_REASON, `say why the lock is forced open, in at least ${MIN_UNLOCK_REASON} characters: it goes on record (\`deploy unlock runner hung, incident 42\`)`)
        .max(MAX_UNLOCK_REASON, `the reason may be at most ${MAX_UNLOCK_REASON} characters`),
    ),
});

export const deployUnlock = defineCommand({
  name: 'deploy unlock',
  summary: 'Force the deploy lock open, whoever holds it (admins only; a reason of at least 10 characters goes on record)',
  usage: '<reason...>',
  examples: ['deploy unlock deploy runner hung after the host rebooted, incident 42'],
  // The records and the lock are kept per stack: the CLI builds the stack to know which.
  usesStack: true,
  level: 2,
  rawArguments: true,
  args: reasonArgument,
  async run(context, { line }) {
    const freed = await requireDeployments(context).forceUnlock(context.actor.id, line).catch(deploymentRefused);
    return deployUnlockedDocument(freed, line, context.actor.id);
  },
});
