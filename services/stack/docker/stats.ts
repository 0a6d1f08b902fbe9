/**
 * `stats([service])`: one engine sample per running replica, in `docker stats` numbers; each
 * replica that cannot be measured is told to `onSkipped` with the reason.
 */
import type Docker from 'dockerode';
import { isNotFound } from '../../kit/docker-engine.js';
import { requireKnownService, requireServiceName } from '../stack-checks.js';
import type { ContainerStats, SkippedStats, StatsOptions } from '../stack.js';
import { COMPOSE_LABELS } from './compose-labels.js';
import { projectContainers, serviceNames } from './containers.js';
import { usageFromEngineStats, type EngineStatsSample } from './container-usage.js';
import { callEngine, type DockerContext } from './context.js';

export async function serviceStats(context: DockerContext, service?: string, statsOptions: StatsOptions = {}): Promise<ContainerStats[]> {
  if (service !== undefined) requireServiceName(service);
  const all = await projectContainers(context);
  if (service !== undefined) requireKnownService(service, serviceNames(all), context.where);
  const wanted = all.filter((container) => service === undefined || container.Labels[COMPOSE_LABELS.service] === service);
  const serviceOf = (container: Docker.ContainerInfo) => container.Labels[COMPOSE_LABELS.service]!;
  const replicaName = (container: Docker.ContainerInfo) => (container.Names[0] ?? container.Id).replace(/^\//, '');
  const skipped: SkippedStats[] = wanted
    .filter((container) => container.State !== 'running')
    .map((container) => ({ service: serviceOf(container), replica: replicaName(container), reason: `${replicaName(container)} is ${container.State}, not running: nothing to measure` }));
  const samples = await Promise.all(
    wanted
      .filter((container) => container.State === 'running')
      .map(async (container): Promise<ContainerStats | undefined> => {
        const replica = replicaName(container);
        let sample: EngineStatsSample;
        try {
          sample = (await callEngine(context, () => context.docker.getContainer(container.Id).stats({ stream: false }))) as unknown as EngineStatsSample;
        } catch (error) {
          if (!isNotFound(error)) throw error;
          skipped.push({ service: serviceOf(container), replica, reason: `${replica} was removed while it was measured` });
          return undefined;
        }
        // The engine answers a container that stopped since the listing with an empty sample, not an error.
        if (sample.memory_stats?.usage === undefined) {
          skipped.push({ service: serviceOf(container), replica, reason: `${replica} stopped while it was measured, not running: nothing to measure` });
          return undefined;
        }
        return { service: serviceOf(container), replica, id: container.Id, ...usageFromEngineStats(sample) };
      }),
  );
  const byService = (a: { service: string }, b: { service: string }) => a.service.localeCompare(b.service);
  // Told, never left out in silence; when nothing runs the answer is still an empty list, as before.
  // Each reason begins with its replica's name, so sorting by it keeps the replicas in order.
  const told = skipped.sort((a, b) => byService(a, b) || a.reason.localeCompare(b.reason, undefined, { numeric: true }));
  for (const entry of told) statsOptions.onSkipped?.(entry);
  return samples
    .filter((sample): sample is ContainerStats => sample !== undefined)
    .sort((a, b) => byService(a, b) || a.replica.localeCompare(b.replica, undefined, { numeric: true }));
}
