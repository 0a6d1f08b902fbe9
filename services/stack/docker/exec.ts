/**
 * `exec(service, command)`: one command of the allow list in a running replica, its output capped,
 * given up on (and said so) after the timeout.
 */
import { CappedOutput } from '../../kit/capped-output.js';
import { DEFAULT_EXEC_TIMEOUT_MS, EXEC_COMMANDS, MAX_EXEC_OUTPUT_BYTES, type ExecCommandName } from '../exec-commands.js';
import { requireExecCommand, requireServiceName, requireTimeout } from '../stack-checks.js';
import { StackError, type ExecOptions, type ExecResult } from '../stack.js';
import { replicaNumber } from './compose-labels.js';
import { nameOf, serviceReplicas } from './containers.js';
import { callEngine, seconds, type DockerContext } from './context.js';

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
  const argv = EXEC_COMMANDS[name].argv;
  const started = Date.now();
  const exec = await callEngine(context, () =>
    context.docker.getContainer(target.Id).exec({ Cmd: [...argv], AttachStdout: true, AttachStderr: true, AttachStdin: false, Tty: false }),
  );
  const stream = await callEngine(context, () => exec.start({ hijack: true, stdin: false }));
  const output = new CappedOutput(MAX_EXEC_OUTPUT_BYTES);
  context.docker.modem.demuxStream(stream, output, output);
  const finished = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve(true);
    };
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', done);
  });
  if (!finished) {
    stream.destroy();
    throw new StackError(
      'TIMEOUT',
      `${name} did not finish within ${seconds(timeoutMs)} in ${nameOf(target)}; it may still be running there (docker exec cannot stop it)`,
    );
  }
  const result = await callEngine(context, () => exec.inspect());
  return {
    service,
    replica: nameOf(target),
    command: name,
    argv,
    exitCode: result.ExitCode ?? -1,
    output: output.text(),
    truncated: output.truncated,
    durationMs: Date.now() - started,
  };
}
