/**
 * `stats([service])` on Swarm: one engine sample per running task whose container this engine
 * runs, in `docker stats` numbers. A task on another node cannot be measured from the manager's
 * engine (the API has no per-task stats): it is told to `onSkipped` with that reason.
 */
import { isNotFound } from '../../kit/docker-engine.js';
import { usageFromEngineStats, type EngineStatsSample } from '../docker/container-usage.js';
import { requireServiceName } from '../stack-checks.js';
import type { ContainerStats, SkippedStats, StatsOptions } from '../stack.js';
import { callSwarm, type SwarmContext } from './context.js';
import { requireStackService, serviceReplicas, stackServices, type StackService } from './services.js';

async function sampleService(context: SwarmContext, service: StackService, skipped: SkippedStats[]): Promise<ContainerStats[]> {
  const { slots, replicas, held } = await serviceReplicas(context, service.info);
  if (held !== undefined) {
    for (const replica of replicas) skipped.push({ service: service.name, replica: replica.name, reason: `${replica.name} is stopped (held at 0 replicas), not running: nothing to measure` });
    return [];
  }
  const samples = await Promise.all(
    slots.map(async (slot, index): Promise<ContainerStats | undefined> => {
      const replica = replicas[index]!;
      const skip = (reason: string) => void skipped.push({ service: service.name, replica: replica.name, reason: `${replica.name} ${reason}` });
      if (replica.state !== 'running') return skip(`is ${slot.current.Status.State}, not running: nothing to measure`);
      const container = slot.current.Status.ContainerStatus?.ContainerID;
      let sample: EngineStatsSample;
      try {
        if (!container) throw Object.assign(new Error('no container'), { statusCode: 404 });
        sample = (await callSwarm(context, () => context.docker.getContainer(container).stats({ stream: false }))) as unknown as EngineStatsSample;
      } catch (error) {
        if (!isNotFound(error)) throw error;
        return skip(`runs on node ${(slot.current.NodeID ?? 'unknown').slice(0, 12)}, not on this engine (${context.host}): measure it on that node's engine`);
      }
      if (sample.memory_stats?.usage === undefined) return skip('stopped while it was measured, not running: nothing to measure');
      return { service: service.name, replica: replica.name, id: replica.id, ...usageFromEngineStats(sample) };
    }),
  );
  return samples.filter((sample): sample is ContainerStats => sample !== undefined);
}

export async function serviceStats(context: SwarmContext, service?: string, options: StatsOptions = {}): Promise<ContainerStats[]> {
  if (service !== undefined) requireServiceName(service);
  const services = service === undefined ? await stackServices(context) : [await requireStackService(context, service)];
  const skipped: SkippedStats[] = [];
  const samples = (await Promise.all(services.map((entry) => sampleService(context, entry, skipped)))).flat();
  const byService = (a: { service: string }, b: { service: string }) => a.service.localeCompare(b.service);
  for (const entry of skipped.sort((a, b) => byService(a, b) || a.reason.localeCompare(b.reason, undefined, { numeric: true }))) options.onSkipped?.(entry);
  return samples.sort((a, b) => byService(a, b) || a.replica.localeCompare(b.replica, undefined, { numeric: true }));
}
