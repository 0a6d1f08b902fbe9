/** `restart(service)`: every replica in turn, each waited for until it is healthy again. */
import { isNotFound } from '../../kit/docker-engine.js';
import { requireServiceName, requireTimeout } from '../stack-checks.js';
import { serviceHealthOf, StackError, type RestartedReplica, type RestartOptions, type RestartReport } from '../stack.js';
import { healthOf, nameOf, serviceReplicas, stateOf } from './containers.js';
import { callEngine, DEFAULT_WAIT_MS, type DockerContext } from './context.js';
import { waitUntilHealthy } from './health-wait.js';
import { stoppedHalfWay } from './replicas.js';

/**
 * Tells the caller a replica is back. Its failure is the caller's (a command's progress reports its
 * own and never throws): the restart goes on with the next replica, as it would with no callback.
 */
async function tellReplicaRestarted(
  callback: RestartOptions['onReplicaRestarted'],
  replica: RestartedReplica,
  position: { index: number; total: number },
): Promise<void> {
  try {
    await callback?.(replica, position);
  } catch {
    // Deliberately dropped: see above.
  }
}

export async function restartService(context: DockerContext, service: string, restartOptions: RestartOptions = {}): Promise<RestartReport> {
  requireServiceName(service);
  const timeoutMs = requireTimeout(restartOptions.timeoutMs, DEFAULT_WAIT_MS);
  return context.guard.run(service, 'restart', async () => {
    const started = Date.now();
    const replicas = await serviceReplicas(context, service);
    const restarted: RestartedReplica[] = [];
    for (const [index, before] of replicas.entries()) {
      const name = nameOf(before);
      const notDone = replicas.slice(index + 1).map((info) => `${nameOf(info)} was not restarted`);
      let replica: RestartedReplica;
      try {
        try {
          await callEngine(context, () => context.docker.getContainer(before.Id).restart({ t: context.stopTimeout }), [`${name} was not restarted`]);
        } catch (error) {
          if (isNotFound(error)) throw new StackError('CONTAINER_MISSING', `${name} was removed before it could be restarted; list the service again`);
          throw error;
        }
        const after = await waitUntilHealthy(context, before.Id, name, timeoutMs);
        replica = {
          name,
          previousId: before.Id,
          id: after.Id,
          previousStartedAt: before.State.Running ? new Date(before.State.StartedAt).toISOString() : null,
          startedAt: new Date(after.State.StartedAt).toISOString(),
          health: healthOf(after),
        };
        restarted.push(replica);
      } catch (error) {
        throw stoppedHalfWay(error, restarted.map((replica) => `restarted ${replica.name} (${replica.health})`), notDone);
      }
      // Outside the try above: telling someone a replica is back is not part of restarting it, so a
      // callback that fails neither stops the remaining replicas nor reads as a Docker failure.
      if (replicas.length > 1) await tellReplicaRestarted(restartOptions.onReplicaRestarted, replica, { index, total: replicas.length });
    }
    const health = serviceHealthOf((await serviceReplicas(context, service)).map((info) => ({ state: stateOf(info), health: healthOf(info) })));
    return { service, replicas: restarted, durationMs: Date.now() - started, health };
  });
}
