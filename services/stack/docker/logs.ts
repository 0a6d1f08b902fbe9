/** `logs(service)`: the lines of every replica, interleaved by time, windowed, filtered and tailed. */
import { engineStatusCode, isNotFound } from '../../kit/docker-engine.js';
import { selectLogLines, type TimedLine } from '../log-lines.js';
import { normalizeLogsOptions, requireServiceName } from '../stack-checks.js';
import { LOG_SCAN_LINES, StackError, type LogsOptions, type LogsResult } from '../stack.js';
import { replicaLogLines } from './container-logs.js';
import { nameOf, serviceReplicas } from './containers.js';
import type { DockerContext } from './context.js';

export async function serviceLogs(context: DockerContext, service: string, logsOptions: LogsOptions = {}): Promise<LogsResult> {
  requireServiceName(service);
  const normalized = normalizeLogsOptions(logsOptions);
  const replicas = await serviceReplicas(context, service);
  const since = normalized.since ? (normalized.since.getTime() / 1000).toFixed(3) : undefined;
  const perReplica: TimedLine[][] = await Promise.all(
    replicas.map(async (info) => {
      try {
        return await replicaLogLines(context, info, normalized.grep ? LOG_SCAN_LINES : normalized.tail, since);
      } catch (error) {
        if (isNotFound(error)) return []; // removed since the listing: it has no logs any more
        if (engineStatusCode(error) === 501) {
          throw new StackError(
            'NOT_SUPPORTED',
            `${nameOf(info)} logs with the "${info.HostConfig.LogConfig?.Type ?? 'unknown'}" driver, which the engine cannot read back; read them where that driver sends them`,
          );
        }
        throw error;
      }
    }),
  );
  return selectLogLines(service, perReplica, normalized);
}
