/**
 * How `docker stack deploy` marks and names the services of a stack, and the one label of our
 * own: the replica count `stop` took a service down from, so `start` can bring that many back.
 */
export const STACK_NAMESPACE_LABEL = 'com.docker.stack.namespace';

/** On the service's spec (not its tasks'), so writing it replaces no task. */
export const HELD_REPLICAS_LABEL = 'acgs.swarm.held-replicas';

/** `docker stack deploy` names a compose service `web` of stack `acgs` as the Swarm service `acgs_web`. */
export const swarmServiceName = (stack: string, service: string) => `${stack}_${service}`;

/** The compose service name of a stack's Swarm service; the full name when it lacks the stack's prefix (created by hand). */
export function composeServiceName(stack: string, swarmName: string): string {
  return swarmName.startsWith(`${stack}_`) ? swarmName.slice(stack.length + 1) : swarmName;
}

/** The replica count remembered by `stop`, or undefined when the service is not held. */
export function heldReplicas(labels: Record<string, string> | undefined): number | undefined {
  const value = Number(labels?.[HELD_REPLICAS_LABEL]);
  return Number.isInteger(value) && value > 0 ? value : undefined;
}
