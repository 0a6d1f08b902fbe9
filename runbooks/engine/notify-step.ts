/**
 * What a runbook's `notify` step does with a deployment notice: send it through the notices port
 * and keep the outcome of every target as the step's output. The step fails only when the notice
 * reached nobody (the run then waits for a person, who sees why); a notice that reached some
 * targets succeeds and says in its output which ones it missed.
 */
import type { DeploymentNotice, NoticeDelivery, StepPorts } from './ports.js';

export class NoticeNotDeliveredError extends Error {
  constructor(readonly delivery: NoticeDelivery) {
    super(`The deployment notice reached nobody: ${delivery.summary}`);
    this.name = 'NoticeNotDeliveredError';
  }
}

export async function sendDeploymentNotice(ports: StepPorts, notice: DeploymentNotice): Promise<NoticeDelivery> {
  if (!ports.notices) throw new Error('This process sends no deployment notices (no notices port): run it in the bot.');
  const delivery = await ports.notices.deploymentNotice(notice);
  if (delivery.delivered === 0) throw new NoticeNotDeliveredError(delivery);
  return delivery;
}
