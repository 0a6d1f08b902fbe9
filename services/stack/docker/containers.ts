/**
 * The containers of the compose project, found by compose's labels, and what the port's Replica
 * says about one of them.
 */
import type Docker from 'dockerode';
import { engineStatusCode, isNotFound } from '../../kit/docker-engine.js';
import { requireKnownService, requireServiceName } from '../stack-checks.js';
import { uptimeSeconds, type Replica, type ReplicaHealth, type ReplicaState } from '../stack.js';
import { COMPOSE_LABELS, replicaNumber } from './compose-labels.js';
import { callEngine, type DockerContext } from './context.js';

export const nameOf = (info: { Name: string }) => info.Name.replace(/^\//, '');

export function stateOf(info: Docker.ContainerInspectInfo): ReplicaState {
  const status = info.State.Status as ReplicaState;
  return ['created', 'running', 'restarting', 'paused', 'exited', 'dead', 'removing'].includes(status) ? status : 'exited';
}

export function healthOf(info: Docker.ContainerInspectInfo): ReplicaHealth {
  if (!info.State.Running) return 'none';
  const status = info.State.Health?.Status;
  return status === 'healthy' || status === 'unhealthy' || status === 'starting' ? status : 'none';
}

export function lastHealthOutput(info: Docker.ContainerInspectInfo): string {
  const log = info.State.Health?.Log ?? [];
  const last = log[log.length - 1];
  if (!last) return '';
  const output = last.Output.trim().replace(/\s+/g, ' ').slice(0, 300);
  return `; last health check exited ${last.ExitCode}${output ? `: ${output}` : ''}`;
}

/**
 * Docker keeps a stopped container stopped whatever its restart policy: one whose policy would
 * bring it back after a crash (always, unless-stopped) and that is exited was stopped on purpose
 * (`stop`, a restore's hold, or someone's `docker stop`).
 */
function heldStopped(info: Docker.ContainerInspectInfo): boolean {
  const policy = info.HostConfig?.RestartPolicy?.Name;
  return info.State.Status === 'exited' && (policy === 'always' || policy === 'unless-stopped');
}

export function replicaOf(info: Docker.ContainerInspectInfo, now: number): Replica {
  const running = info.State.Running;
  const startedAt = running ? new Date(info.State.StartedAt).toISOString() : null;
  return {
    id: info.Id,
    name: nameOf(info),
    number: replicaNumber(info.Config.Labels),
    state: stateOf(info),
    health: healthOf(info),
    image: info.Config.Image,
    startedAt,
    uptimeSeconds: uptimeSeconds(startedAt, now),
    restarts: info.RestartCount,
    ...(heldStopped(info) ? { held: true as const } : {}),
  };
}

/** Oldest replica first: by compose number, then creation time. */
export function byNumber(a: Docker.ContainerInspectInfo, b: Docker.ContainerInspectInfo): number {
  return replicaNumber(a.Config.Labels) - replicaNumber(b.Config.Labels) || Date.parse(a.Created) - Date.parse(b.Created);
}

export async function projectContainers(context: DockerContext): Promise<Docker.ContainerInfo[]> {
  const containers = await callEngine(context, () =>
    context.docker.listContainers({ all: true, filters: { label: [`${COMPOSE_LABELS.project}=${context.project}`] } }),
  );
  // `docker-compose run` one-off containers are not replicas.
  return containers.filter((container) => container.Labels[COMPOSE_LABELS.oneoff] !== 'True' && container.Labels[COMPOSE_LABELS.service]);
}

export const serviceNames = (containers: Docker.ContainerInfo[]) =>
  [...new Set(containers.map((container) => container.Labels[COMPOSE_LABELS.service]!))].sort();

export async function inspectContainer(context: DockerContext, id: string): Promise<Docker.ContainerInspectInfo | undefined> {
  try {
    return await callEngine(context, () => context.docker.getContainer(id).inspect());
  } catch (error) {
    if (isNotFound(error)) return undefined; // removed between listing and inspecting
    throw error;
  }
}

/** The service's replicas, inspected, oldest first; refuses a service the project does not have. */
export async function serviceReplicas(context: DockerContext, service: string): Promise<Docker.ContainerInspectInfo[]> {
  requireServiceName(service);
  const containers = await projectContainers(context);
  requireKnownService(service, serviceNames(containers), context.where);
  const mine = containers.filter((container) => container.Labels[COMPOSE_LABELS.service] === service);
  const inspected = await Promise.all(mine.map((container) => inspectContainer(context, container.Id)));
  return inspected.filter((info): info is Docker.ContainerInspectInfo => info !== undefined).sort(byNumber);
}

export async function stopAndRemove(context: DockerContext, id: string): Promise<void> {
  try {
    await callEngine(context, () => context.docker.getContainer(id).stop({ t: context.stopTimeout }));
  } catch (error) {
    // 304: already stopped; 404: already gone. Either way removal below settles it.
    if (engineStatusCode(error) !== 304 && !isNotFound(error)) throw error;
  }
  try {
    await callEngine(context, () => context.storageDocker.getContainer(id).remove({ force: true }));
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}
