/**
 * `scale(service, n)` on Swarm: the service's replica count (`docker service scale`), waited for
 * until Swarm runs exactly n healthy tasks. Swarm creates and removes the tasks itself; which
 * slots it removes when scaling down is its choice, and the report names them.
 */
import { requireReplicaCount, requireServiceName, requireTimeout } from '../stack-checks.js';
import { StackError, type ScaleOptions, type ScaleReport } from '../stack.js';
import { DEFAULT_WAIT_MS } from '../docker/context.js';
import type { SwarmContext } from './context.js';
import { updateService, waitForConvergence } from './converge.js';
import { desiredReplicas, requireStackService, serviceReplicas } from './services.js';
import { heldReplicas } from './stack-labels.js';

export async function scaleService(context: SwarmContext, service: string, replicas: number, options: ScaleOptions = {}): Promise<ScaleReport> {
  requireServiceName(service);
  requireReplicaCount(replicas);
  const perReplicaMs = requireTimeout(options.timeoutMs, DEFAULT_WAIT_MS);
  return context.guard.run(service, 'scale', async () => {
    const started = Date.now();
    const target = await requireStackService(context, service);
    const name = target.info.Spec.Name;
    const from = desiredReplicas(target.info);
    if (from === undefined) throw new StackError('NOT_SUPPORTED', `${name} is a global service: Swarm runs one task on each node, so it has no replica count to scale`);
    const held = heldReplicas(target.info.Spec.Labels);
    if (from === 0 && held !== undefined) {
      throw new StackError('INVALID_ARGUMENT', `${name} is stopped (stop holds it at 0, ${held} to come back): start it first, then scale it`);
    }
    const before = await serviceReplicas(context, target.info);
    const report: ScaleReport = { service, from, to: replicas, created: [], removed: [], notes: [], durationMs: 0 };
    if (replicas !== from) {
      await updateService(context, target, (spec) => ({ ...spec, Mode: { Replicated: { Replicas: replicas } } }), [`${name} was not scaled to ${replicas}`]);
      try {
        await waitForConvergence(context, target, { expectUpdate: false, timeoutMs: perReplicaMs * Math.max(1, Math.abs(replicas - from)), doing: `scaling ${name} to ${replicas}` });
      } catch (error) {
        if (!(error instanceof StackError)) throw error;
        throw new StackError(error.code, `Scaling ${service} to ${replicas}: ${error.reason}`, {
          done: [`set ${name} to ${replicas} replica(s); Swarm keeps working towards it`],
          notDone: [`${replicas} healthy replica(s) of ${name} were not seen: check \`docker service ps ${name}\``],
          cause: error,
        });
      }
    }
    const after = await serviceReplicas(context, (await requireStackService(context, service)).info);
    const beforeNames = new Set(before.replicas.map((replica) => replica.name));
    const afterNames = new Set(after.replicas.map((replica) => replica.name));
    report.created = after.replicas.map((replica) => replica.name).filter((replicaName) => !beforeNames.has(replicaName));
    report.removed = before.replicas.map((replica) => replica.name).filter((replicaName) => !afterNames.has(replicaName));
    report.durationMs = Date.now() - started;
    return report;
  });
}
