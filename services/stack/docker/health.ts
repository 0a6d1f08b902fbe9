/** `health(service)`: each replica's state and health check, and the service's from them. */
import { serviceHealthOf, type ServiceHealth } from '../stack.js';
import { lastHealthOutput, replicaOf, serviceReplicas } from './containers.js';
import type { DockerContext } from './context.js';

export async function serviceHealth(context: DockerContext, service: string): Promise<ServiceHealth> {
  const replicas = await serviceReplicas(context, service);
  const described = replicas.map((info) => {
    const replica = replicaOf(info, Date.now());
    let detail: string | undefined;
    if (!info.State.Running) detail = `${info.State.Status}, exit code ${info.State.ExitCode}`;
    else if (replica.health === 'unhealthy') detail = lastHealthOutput(info).replace(/^; /, '');
    return { id: replica.id, name: replica.name, state: replica.state, health: replica.health, ...(detail ? { detail } : {}) };
  });
  return { service, status: serviceHealthOf(described), replicas: described };
}
