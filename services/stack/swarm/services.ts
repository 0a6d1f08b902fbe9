/**
 * The stack's Swarm services, found by the label `docker stack deploy` puts on them, and their
 * replicas read from their tasks.
 */
import type Docker from 'dockerode';
import { engineErrorText, engineStatusCode, isNotFound } from '../../kit/docker-engine.js';
import { requireKnownService, requireServiceName } from '../stack-checks.js';
import { StackError, type Replica } from '../stack.js';
import { callSwarm, type SwarmContext } from './context.js';
import { composeServiceName, heldReplicas, STACK_NAMESPACE_LABEL } from './stack-labels.js';
import { currentSlots, heldReplicaList, replicaOfSlot, type SlotTasks, type SwarmTask } from './tasks.js';

/** The fields of a service (GET /services) the driver reads and writes back. */
export interface SwarmServiceInfo {
  ID: string;
  Version: { Index: number };
  Spec: SwarmServiceSpec;
  UpdateStatus?: { State?: string; StartedAt?: string; CompletedAt?: string; Message?: string };
}

export interface SwarmServiceSpec {
  Name: string;
  Labels?: Record<string, string>;
  Mode?: { Replicated?: { Replicas?: number }; Global?: object };
  TaskTemplate?: {
    ContainerSpec?: { Image?: string; Healthcheck?: { Test?: string[] } };
    ForceUpdate?: number;
    [key: string]: unknown;
  };
  UpdateConfig?: { Order?: string; FailureAction?: string; Monitor?: number };
  [key: string]: unknown;
}

/** A stack service with its compose name. */
export interface StackService {
  name: string;
  info: SwarmServiceInfo;
}

/** 503 from a Swarm endpoint: the engine is not (or no longer) a manager of a swarm. */
export function notAManager(context: SwarmContext, error: unknown): StackError {
  return new StackError(
    'ENGINE_DOWN',
    `The Docker Engine at ${context.host} is not a swarm manager (${engineErrorText(error)}); point DOCKER_HOST at a manager of the swarm, ` +
      'or set ACGS_STACK=docker for a compose project on a plain engine',
    { cause: error },
  );
}

/** An engine call on a Swarm endpoint: unreachable is ENGINE_DOWN, and so is an engine that left the swarm. */
export async function callManager<T>(context: SwarmContext, call: () => Promise<T>, notDone?: string[]): Promise<T> {
  try {
    return await callSwarm(context, call, notDone);
  } catch (error) {
    if (engineStatusCode(error) === 503) throw notAManager(context, error);
    throw error;
  }
}

export async function stackServices(context: SwarmContext): Promise<StackService[]> {
  const services = (await callManager(context, () =>
    context.docker.listServices({ filters: { label: [`${STACK_NAMESPACE_LABEL}=${context.stack}`] } }),
  )) as unknown as SwarmServiceInfo[];
  return services
    .map((info) => ({ name: composeServiceName(context.stack, info.Spec.Name), info }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The stack's service by its compose name; refuses a malformed name or one the stack does not have. */
export async function requireStackService(context: SwarmContext, service: string): Promise<StackService> {
  requireServiceName(service);
  const services = await stackServices(context);
  requireKnownService(service, services.map((entry) => entry.name), context.where);
  return services.find((entry) => entry.name === service)!;
}

/** The service as it is now (its version changes with every update). */
export async function readService(context: SwarmContext, service: StackService): Promise<SwarmServiceInfo> {
  try {
    return (await callManager(context, () => context.docker.getService(service.info.ID).inspect())) as SwarmServiceInfo;
  } catch (error) {
    if (isNotFound(error)) throw new StackError('SERVICE_UNKNOWN', `${service.info.Spec.Name} was removed from ${context.where} meanwhile; list the stack again`, { cause: error });
    throw error;
  }
}

export async function serviceTasks(context: SwarmContext, serviceId: string): Promise<SwarmTask[]> {
  return (await callManager(context, () => context.docker.listTasks({ filters: { service: [serviceId] } }))) as SwarmTask[];
}

/** The task's container when it runs on this engine; undefined on another node (or gone). */
export async function localContainer(context: SwarmContext, task: SwarmTask): Promise<Docker.ContainerInspectInfo | undefined> {
  const id = task.Status.ContainerStatus?.ContainerID;
  if (!id) return undefined;
  try {
    return await callSwarm(context, () => context.docker.getContainer(id).inspect());
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export const desiredReplicas = (info: SwarmServiceInfo) => info.Spec.Mode?.Replicated?.Replicas;
export const hasHealthcheck = (info: SwarmServiceInfo) => {
  const test = info.Spec.TaskTemplate?.ContainerSpec?.Healthcheck?.Test;
  return Array.isArray(test) && test.length > 0 && test[0] !== 'NONE';
};

export interface ServiceReplicas {
  info: SwarmServiceInfo;
  /** The live slots, parallel to the first replicas; a held service has none. */
  slots: SlotTasks[];
  replicas: Replica[];
  /** The count `stop` remembered, when the service is held at 0. */
  held?: number;
}

/** The image new tasks of the service run, without a pinned digest. */
export const specImage = (info: SwarmServiceInfo) => (info.Spec.TaskTemplate?.ContainerSpec?.Image ?? '').replace(/@sha256:[0-9a-f]{64}$/, '');

/** The service's replicas now, one per slot, ordered by slot. */
export async function serviceReplicas(context: SwarmContext, info: SwarmServiceInfo): Promise<ServiceReplicas> {
  const tasks = await serviceTasks(context, info.ID);
  const held = desiredReplicas(info) === 0 ? heldReplicas(info.Spec.Labels) : undefined;
  if (held !== undefined) return { info, slots: [], replicas: heldReplicaList(info.Spec.Name, info.ID, specImage(info), held, tasks), held };
  const slots = currentSlots(tasks);
  const now = Date.now();
  const replicas = await Promise.all(
    slots.map(async (slot) =>
      replicaOfSlot(slot, { swarmName: info.Spec.Name, hasHealthcheck: hasHealthcheck(info), container: await localContainer(context, slot.current), now }),
    ),
  );
  return { info, slots, replicas };
}
