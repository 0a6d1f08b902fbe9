/** `services()` and `list()`: the project's services and their replicas (docker-compose ps). */
import type Docker from 'dockerode';
import type { ServiceStatus } from '../stack.js';
import { COMPOSE_LABELS } from './compose-labels.js';
import { byNumber, inspectContainer, projectContainers, replicaOf, serviceNames } from './containers.js';
import type { DockerContext } from './context.js';

export async function listServiceNames(context: DockerContext): Promise<string[]> {
  return serviceNames(await projectContainers(context));
}

export async function listServices(context: DockerContext): Promise<ServiceStatus[]> {
  const containers = await projectContainers(context);
  const inspected = (await Promise.all(containers.map((container) => inspectContainer(context, container.Id)))).filter(
    (info): info is Docker.ContainerInspectInfo => info !== undefined,
  );
  const now = Date.now();
  return serviceNames(containers).map((name) => ({
    name,
    replicas: inspected
      .filter((info) => info.Config.Labels[COMPOSE_LABELS.service] === name)
      .sort(byNumber)
      .map((info) => replicaOf(info, now)),
  }));
}
