/**
 * `stop(service)` and `start(service)` on Swarm. Swarm has no stopped service: a service is held
 * down by scaling it to 0, with the count it had remembered in a label on the service
 * (HELD_REPLICAS_LABEL), and `start` scales it back to that count and forgets it. A restore holds
 * the services that write a database this way.
 */
import { requireServiceName, requireTimeout } from '../stack-checks.js';
import { serviceHealthOf, StackError, type StartOptions, type StartReport, type StopReport } from '../stack.js';
import { DEFAULT_WAIT_MS } from '../docker/context.js';
import type { SwarmContext } from './context.js';
import { updateService, waitForConvergence } from './converge.js';
import { desiredReplicas, requireStackService, serviceReplicas, type SwarmServiceSpec } from './services.js';
import { HELD_REPLICAS_LABEL, heldReplicas } from './stack-labels.js';

const withoutHeldLabel = (labels: Record<string, string> | undefined) => Object.fromEntries(Object.entries(labels ?? {}).filter(([key]) => key !== HELD_REPLICAS_LABEL));

/** How long `stop` waits for the tasks to end: Swarm's own stop grace (10 s by default) and some. */
const STOP_WAIT_MS = 60_000;

export async function stopService(context: SwarmContext, service: string): Promise<StopReport> {
  requireServiceName(service);
  return context.guard.run(service, 'stop', async () => {
    const started = Date.now();
    const target = await requireStackService(context, service);
    const name = target.info.Spec.Name;
    const count = desiredReplicas(target.info);
    if (count === undefined) throw new StackError('NOT_SUPPORTED', `${name} is a global service: Swarm cannot hold it at 0 replicas; remove it from the stack instead`);
    const before = await serviceReplicas(context, target.info);
    const stopped = before.replicas.map((replica) => replica.name);
    if (count === 0) return { service, stopped, durationMs: Date.now() - started }; // already held (or scaled to 0 by hand)
    await updateService(
      context,
      target,
      (spec): SwarmServiceSpec => ({ ...spec, Labels: { ...spec.Labels, [HELD_REPLICAS_LABEL]: String(count) }, Mode: { Replicated: { Replicas: 0 } } }),
      stopped.map((replica) => `${replica} was not stopped`),
    );
    try {
      await waitForConvergence(context, target, { expectUpdate: false, timeoutMs: STOP_WAIT_MS, doing: `stopping ${name}` });
    } catch (error) {
      if (!(error instanceof StackError)) throw error;
      throw new StackError(error.code, error.reason, { done: [`set ${name} to 0 replicas (remembering ${count})`], notDone: ['its tasks were not all seen to end'], cause: error });
    }
    return { service, stopped, durationMs: Date.now() - started };
  });
}

export async function startService(context: SwarmContext, service: string, options: StartOptions = {}): Promise<StartReport> {
  requireServiceName(service);
  const perReplicaMs = requireTimeout(options.timeoutMs, DEFAULT_WAIT_MS);
  return context.guard.run(service, 'start', async () => {
    const began = Date.now();
    const target = await requireStackService(context, service);
    const name = target.info.Spec.Name;
    const count = desiredReplicas(target.info);
    const held = heldReplicas(target.info.Spec.Labels);
    if (count === 0 && held === undefined) {
      throw new StackError('NOT_RUNNING', `${name} is at 0 replicas and was not stopped by the bot, so how many to start is not known; scale it to the count it needs`);
    }
    if (count === 0 && held !== undefined) {
      await updateService(
        context,
        target,
        (spec): SwarmServiceSpec => ({ ...spec, Labels: withoutHeldLabel(spec.Labels), Mode: { Replicated: { Replicas: held } } }),
        [`${name} was not started`],
      );
    }
    // A running service is left as it is, but still waited for, as the Docker driver waits for each replica.
    try {
      await waitForConvergence(context, target, { expectUpdate: false, timeoutMs: perReplicaMs * Math.max(1, held ?? count ?? 1), doing: `starting ${name}` });
    } catch (error) {
      if (!(error instanceof StackError)) throw error;
      const done = count === 0 ? [`set ${name} back to ${held} replica(s); Swarm keeps working towards it`] : [];
      throw new StackError(error.code, error.reason, { done, notDone: [`healthy replicas of ${name} were not seen: check \`docker service ps ${name}\``], cause: error });
    }
    const after = await serviceReplicas(context, (await requireStackService(context, service)).info);
    return { service, started: after.replicas.map((replica) => replica.name), durationMs: Date.now() - began, health: serviceHealthOf(after.replicas) };
  });
}
