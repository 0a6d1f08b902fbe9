/**
 * `logs(service)` on Swarm: the service's log (`docker service logs`), which Swarm gathers from
 * every task on every node, the replaced ones it still keeps included (a restart's previous run
 * shows under the same replica name). Windowed, filtered and tailed as on the other drivers.
 */
import { engineErrorText, engineStatusCode } from '../../kit/docker-engine.js';
import { selectLogLines } from '../log-lines.js';
import { normalizeLogsOptions, requireServiceName } from '../stack-checks.js';
import { LOG_SCAN_LINES, StackError, type LogsOptions, type LogsResult } from '../stack.js';
import type { SwarmContext } from './context.js';
import { callManager, requireStackService, serviceTasks } from './services.js';
import { demultiplex, serviceLogLines } from './service-log-text.js';
import { replicaNameOf } from './tasks.js';

export async function serviceLogs(context: SwarmContext, service: string, options: LogsOptions = {}): Promise<LogsResult> {
  requireServiceName(service);
  const normalized = normalizeLogsOptions(options);
  const { info } = await requireStackService(context, service);
  const names = new Map((await serviceTasks(context, info.ID)).map((task) => [task.ID, replicaNameOf(info.Spec.Name, task)]));
  const replicaOf = (taskId: string) => names.get(taskId) ?? `${info.Spec.Name}.${taskId.slice(0, 12)}`;
  let body: Buffer;
  try {
    body = (await callManager(context, async () =>
      context.docker.getService(info.ID).logs({
        stdout: true,
        stderr: true,
        timestamps: true,
        details: true,
        follow: false,
        tail: normalized.grep ? LOG_SCAN_LINES : normalized.tail,
        // The engine takes fractional seconds; the typings say number.
        ...(normalized.since ? { since: (normalized.since.getTime() / 1000).toFixed(3) as unknown as number } : {}),
      } as never),
    )) as unknown as Buffer;
  } catch (error) {
    if (error instanceof StackError) throw error;
    if (engineStatusCode(error) === 501 || /not support|configured logging driver does not support reading/i.test(engineErrorText(error))) {
      throw new StackError('NOT_SUPPORTED', `${info.Spec.Name} logs with a driver Swarm cannot read back (${engineErrorText(error)}); read them where that driver sends them`, { cause: error });
    }
    throw error;
  }
  const tty = (info.Spec.TaskTemplate?.ContainerSpec as { TTY?: boolean } | undefined)?.TTY === true;
  const streams = tty ? { stdout: Buffer.from(body).toString('utf8'), stderr: '' } : demultiplex(Buffer.from(body));
  const lines = [...serviceLogLines(streams.stdout, 'stdout', replicaOf), ...serviceLogLines(streams.stderr, 'stderr', replicaOf)];
  return selectLogLines(service, [lines], normalized);
}
