/**
 * One allow-listed command run in a container named by id, its output capped, given up on (and
 * said so) after the timeout: the exec of the Docker driver (a compose replica) and of the Swarm
 * driver (a task's container on the manager's node).
 */
import { CappedOutput } from '../../kit/capped-output.js';
import { DEFAULT_EXEC_TIMEOUT_MS, EXEC_COMMANDS, MAX_EXEC_OUTPUT_BYTES, type ExecCommandName } from '../exec-commands.js';
import { requireTimeout } from '../stack-checks.js';
import { StackError, type ExecResult } from '../stack.js';
import { callEngine, seconds, type DockerContext } from './context.js';

export interface ContainerExec {
  service: string;
  replica: string;
  containerId: string;
  command: ExecCommandName;
  timeoutMs: number | undefined;
}

export async function execInContainer(context: Pick<DockerContext, 'docker' | 'host'>, request: ContainerExec): Promise<ExecResult> {
  const timeoutMs = requireTimeout(request.timeoutMs, DEFAULT_EXEC_TIMEOUT_MS);
  const argv = EXEC_COMMANDS[request.command].argv;
  const started = Date.now();
  const container = context.docker.getContainer(request.containerId);
  const exec = await callEngine(context, () => container.exec({ Cmd: [...argv], AttachStdout: true, AttachStderr: true, AttachStdin: false, Tty: false }));
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
    throw new StackError('TIMEOUT', `${request.command} did not finish within ${seconds(timeoutMs)} in ${request.replica}; it may still be running there (docker exec cannot stop it)`);
  }
  const result = await callEngine(context, () => exec.inspect());
  return {
    service: request.service,
    replica: request.replica,
    command: request.command,
    argv,
    exitCode: result.ExitCode ?? -1,
    output: output.text(),
    truncated: output.truncated,
    durationMs: Date.now() - started,
  };
}
