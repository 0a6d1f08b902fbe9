/**
 * `exec(service, command)` on Swarm: an allow-listed command in a running task's container on
 * this engine, through the Docker driver's exec of a container. The API cannot exec into a task
 * on another node; that is refused, naming the node.
 */
import { requireExecCommand, requireServiceName } from '../stack-checks.js';
import type { ExecCommandName } from '../exec-commands.js';
import { StackError, type ExecOptions, type ExecResult } from '../stack.js';
import type { SwarmContext } from './context.js';
import { localContainer, requireStackService, serviceReplicas } from './services.js';
import { execInContainer } from '../docker/container-exec.js';

export async function execInService(context: SwarmContext, service: string, command: ExecCommandName, options: ExecOptions = {}): Promise<ExecResult> {
  requireServiceName(service);
  const name = requireExecCommand(command);
  if (options.replica !== undefined && (!Number.isInteger(options.replica) || options.replica < 1 || options.replica > 10_000)) {
    throw new StackError('INVALID_ARGUMENT', `replica must be a replica number such as 1 (got ${String(options.replica)})`);
  }
  const { info } = await requireStackService(context, service);
  const { slots, replicas } = await serviceReplicas(context, info);
  const running = slots.map((slot, index) => ({ slot, replica: replicas[index]! })).filter((entry) => entry.replica.state === 'running');
  const target = options.replica === undefined ? running[0] : running.find((entry) => entry.replica.number === options.replica);
  if (!target) {
    throw new StackError(
      'CONTAINER_MISSING',
      options.replica === undefined
        ? `No replica of ${service} is running to run ${name} in; start it first`
        : `${service} has no running replica ${options.replica}; running replicas: ${running.map((entry) => entry.replica.number).join(', ') || 'none'}`,
    );
  }
  const container = await localContainer(context, target.slot.current);
  if (!container) {
    throw new StackError(
      'NOT_SUPPORTED',
      `${target.replica.name} runs on node ${(target.slot.current.NodeID ?? 'unknown').slice(0, 12)}, not on this engine (${context.host}); run ${name} there with docker exec`,
    );
  }
  return execInContainer(context, { service, replica: target.replica.name, containerId: container.Id, command: name, timeoutMs: options.timeoutMs });
}
