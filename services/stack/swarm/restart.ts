/**
 * `restart(service)` on Swarm: a forced update (`docker service update --force`), which replaces
 * every task with a new one in the same slot, in the order and pace of the service's own
 * update_config (start-first keeps the old task serving until the new one is healthy), and waits
 * until Swarm reports the update completed with every slot on a new, healthy task.
 */
import { requireServiceName, requireTimeout } from '../stack-checks.js';
import { serviceHealthOf, StackError, type RestartedReplica, type RestartOptions, type RestartReport } from '../stack.js';
import { DEFAULT_WAIT_MS } from '../docker/context.js';
import type { SwarmContext } from './context.js';
import { updateService, waitForConvergence } from './converge.js';
import { desiredReplicas, requireStackService, serviceReplicas } from './services.js';
import { heldReplicas } from './stack-labels.js';
import { slotKey } from './tasks.js';

async function tellReplicaRestarted(callback: RestartOptions['onReplicaRestarted'], replica: RestartedReplica, position: { index: number; total: number }) {
  try {
    await callback?.(replica, position);
  } catch {
    // A command's progress failing is not the restart's failure (as on the Docker driver).
  }
}

export async function restartService(context: SwarmContext, service: string, options: RestartOptions = {}): Promise<RestartReport> {
  const perReplicaMs = requireTimeout(options.timeoutMs, DEFAULT_WAIT_MS);
  requireServiceName(service);
  return context.guard.run(service, 'restart', async () => {
    const started = Date.now();
    const target = await requireStackService(context, service);
    const before = await serviceReplicas(context, target.info);
    const name = target.info.Spec.Name;
    if (desiredReplicas(before.info) === 0) {
      const held = heldReplicas(before.info.Spec.Labels);
      throw new StackError('NOT_RUNNING', `${name} runs no replica${held ? ` (stop holds it; start brings back ${held})` : ''}: there is nothing to restart; start or scale it first`);
    }
    const replacing = new Set(before.slots.map((slot) => slot.current.ID));
    const total = before.replicas.length;
    await updateService(
      context,
      target,
      (spec) => ({ ...spec, TaskTemplate: { ...spec.TaskTemplate, ForceUpdate: (spec.TaskTemplate?.ForceUpdate ?? 0) + 1 } }),
      [`${name} was not restarted`],
    );
    let after;
    try {
      after = await waitForConvergence(context, target, { replacing, expectUpdate: true, timeoutMs: perReplicaMs * Math.max(1, total), doing: `restarting ${name}` });
    } catch (error) {
      if (!(error instanceof StackError)) throw error;
      throw new StackError(error.code, error.reason, {
        done: [`asked Swarm for a forced update of ${name}`],
        notDone: [`${name} is not known to run new tasks on every slot: check \`docker service ps ${name}\``],
        cause: error,
      });
    }
    const now = await serviceReplicas(context, after.info);
    const previous = new Map(before.slots.map((slot, index) => [slot.key, { task: slot.current, replica: before.replicas[index]! }]));
    const restarted: RestartedReplica[] = now.slots.map((slot, index) => {
      const replica = now.replicas[index]!;
      const old = previous.get(slotKey(slot.current));
      return {
        name: replica.name,
        previousId: old?.task.ID ?? '',
        id: replica.id,
        previousStartedAt: old?.replica.startedAt ?? null,
        startedAt: replica.startedAt,
        health: replica.health,
      };
    });
    // Swarm replaced the tasks itself, in its own order: progress is told once it is done, in slot order.
    if (restarted.length > 1) for (const [index, replica] of restarted.entries()) await tellReplicaRestarted(options.onReplicaRestarted, replica, { index, total: restarted.length });
    return { service, replicas: restarted, durationMs: Date.now() - started, health: serviceHealthOf(now.replicas) };
  });
}
