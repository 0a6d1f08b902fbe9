/**
 * What the deployment commands share: the Deployments port (or why there is none) and its
 * refusals as CommandErrors.
 */
import { CommandError, type CommandContext } from './command.js';
import { DeployLockError, type Deployments } from './ports.js';

export function requireDeployments(context: CommandContext): Deployments {
  const { deployments } = context.services;
  const problem = context.services.deploymentsProblem ?? context.services.runsProblem;
  if (!deployments && problem) throw new CommandError('The deployment records cannot be reached from here.', problem, 'unavailable');
  if (!deployments) {
    throw new CommandError(
      'The deployment records are not set up in this process.',
      'The bot keeps them in its database (`npm start`, or the bot with DATABASE_URL); ask it from Slack, the console or `npx acgs`.',
      'unavailable',
    );
  }
  return deployments;
}

/** The records refused before writing anything: their sentence is the answer. */
export function deploymentRefused(error: unknown): never {
  if (error instanceof DeployLockError) {
    const hint = error.code === 'not-locked' ? '`deploy status` shows the lock.' : error.code === 'unknown-service' ? '`releases` lists the services.' : undefined;
    throw new CommandError(error.message, hint, error.code === 'not-locked' ? 'refused' : 'usage');
  }
  throw error;
}
