/**
 * `exec(service, command)`: one command of the allow list in a running replica, its output capped,
 * given up on (and said so) after the timeout.
 */
import { DEFAULT_EXEC_TIMEOUT_MS, type ExecCommandName } from '../exec-commands.js';
import { requireExecCommand, requireServiceName, requireTimeout } from '../stack-checks.js';
import { StackError, type ExecOptions, type ExecResult } from '../stack.js';
import { replicaNumber } from './compose-labels.js';
import { nameOf, serviceReplicas } from './containers.js';
import { execInContainer } from './container-exec.js';
import type { DockerContext } from './context.js';

export async function execInService(context: DockerContext, service: string, command: ExecCommandName, execOptions: ExecOptions = {}): Promise<ExecResult> {
  requireServiceName(service);
  const name = requireExecCommand(command);
  const timeoutMs = requireTimeout(execOptions.timeoutMs, DEFAULT_EXEC_TIMEOUT_MS);
  if (execOptions.replica !== undefined && (!Number.isInteger(execOptions.replica) || execOptions.replica < 1 || execOptions.replica > 10_000)) {
    throw new StackError('INVALID_ARGUMENT', `replica must be a replica number such as 1 (got ${String(execOptions.replica)})`);
  }
  const replicas = await serviceReplicas(context, service);
  const running = replicas.filter((info) => info.State.Running);
  const target =
    execOptions.replica === undefined ? running[0] : running.find((info) => replicaNumber(info.Config.Labels) === execOptions.replica);
  if (!target) {
    const numbers = running.map((info) => replicaNumber(info.Config.Labels));
    throw new StackError(
      'CONTAINER_MISSING',
      execOptions.replica === undefined
        ? `No replica of ${service} is running to run ${name} in; restart ${service} first`
        : `${service} has no running replica ${execOptions.replica}; running replicas: ${numbers.join(', ') || 'none'}`,
    );
  }
  return execInContainer(context, { service, replica: nameOf(target), containerId: target.Id, command: name, timeoutMs });
}
