/** `services()`, `list()` and `health(service)` of a Swarm stack (docker stack services / docker service ps). */
import { serviceHealthOf, type ServiceHealth, type ServiceStatus } from '../stack.js';
import type { SwarmContext } from './context.js';
import { requireStackService, serviceReplicas, stackServices } from './services.js';
import { taskTrouble } from './tasks.js';

export async function listServiceNames(context: SwarmContext): Promise<string[]> {
  return (await stackServices(context)).map((service) => service.name);
}

export async function listServices(context: SwarmContext): Promise<ServiceStatus[]> {
  const services = await stackServices(context);
  return Promise.all(services.map(async (service) => ({ name: service.name, replicas: (await serviceReplicas(context, service.info)).replicas })));
}

export async function serviceHealth(context: SwarmContext, service: string): Promise<ServiceHealth> {
  const { info } = await requireStackService(context, service);
  const { slots, replicas, held } = await serviceReplicas(context, info);
  const described = replicas.map((replica, index) => {
    const slot = slots[index];
    const trouble =
      held !== undefined ? `stopped: held at 0 replicas, ${held} to come back with start` : replica.state !== 'running' || replica.health === 'unhealthy' ? taskTrouble(slot!.current) : '';
    return { id: replica.id, name: replica.name, state: replica.state, health: replica.health, ...(trouble ? { detail: trouble } : {}) };
  });
  return { service, status: serviceHealthOf(described), replicas: described };
}
