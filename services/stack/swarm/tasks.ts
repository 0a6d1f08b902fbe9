/**
 * A Swarm service's tasks as the port's replicas: one replica per slot (per node for a global
 * service), shown by its newest task. A task is one run of a replica; a forced update or a crash
 * replaces it with a new task in the same slot, as a restart gives a container a new start.
 */
import type Docker from 'dockerode';
import { uptimeSeconds, type Replica, type ReplicaExit, type ReplicaHealth, type ReplicaState } from '../stack.js';

/** The fields of a task (GET /tasks) the driver reads; dockerode leaves them untyped. */
export interface SwarmTask {
  ID: string;
  ServiceID: string;
  NodeID?: string;
  Slot?: number;
  CreatedAt: string;
  UpdatedAt?: string;
  DesiredState: string;
  Spec?: { ContainerSpec?: { Image?: string } };
  Status: {
    Timestamp?: string;
    State: string;
    Message?: string;
    Err?: string;
    ContainerStatus?: { ContainerID?: string; ExitCode?: number };
  };
}

/** The slot a task fills: its number, or its node for a global service. */
export const slotKey = (task: SwarmTask) => (task.Slot !== undefined && task.Slot > 0 ? `slot:${task.Slot}` : `node:${task.NodeID ?? task.ID}`);

/** `acgs_web.2`, as `docker service ps` names a slot; a global service's replica is named by its node. */
export function replicaNameOf(swarmName: string, task: SwarmTask): string {
  return task.Slot !== undefined && task.Slot > 0 ? `${swarmName}.${task.Slot}` : `${swarmName}.${(task.NodeID ?? task.ID).slice(0, 12)}`;
}

const newestFirst = (a: SwarmTask, b: SwarmTask) => Date.parse(b.CreatedAt) - Date.parse(a.CreatedAt);

/** Ends Swarm counts as the task failing on its own, which it replaces: what the Docker driver's restart count counts. */
const FAILED = new Set(['failed', 'rejected']);

export interface SlotTasks {
  key: string;
  /** The slot's newest task: the replica as it is now. */
  current: SwarmTask;
  /** Earlier tasks of the slot that Swarm still keeps (task history), newest first. */
  earlier: SwarmTask[];
}

/** Tasks grouped by slot, newest first within each. */
export function tasksBySlot(tasks: readonly SwarmTask[]): SlotTasks[] {
  const groups = new Map<string, SwarmTask[]>();
  for (const task of tasks) groups.set(slotKey(task), [...(groups.get(slotKey(task)) ?? []), task]);
  return [...groups.entries()].map(([key, group]) => {
    const [current, ...earlier] = [...group].sort(newestFirst);
    return { key, current: current!, earlier };
  });
}

const slotNumber = (slot: SlotTasks) => slot.current.Slot ?? 0;

/** The slots that make up the service now: those whose newest task Swarm wants running, by slot. */
export function currentSlots(tasks: readonly SwarmTask[]): SlotTasks[] {
  return tasksBySlot(tasks)
    .filter((slot) => slot.current.DesiredState !== 'shutdown' && slot.current.DesiredState !== 'remove')
    .sort((a, b) => slotNumber(a) - slotNumber(b) || a.key.localeCompare(b.key));
}

/**
 * The replicas of a service `stop` holds at 0: Swarm removes the tasks of slots scaled away, so
 * they are the remembered count of slots, shown exited and held, each with its newest task's id
 * where Swarm still keeps one. A status then still names what `start` brings back.
 */
export function heldReplicaList(swarmName: string, serviceId: string, image: string, count: number, tasks: readonly SwarmTask[]): Replica[] {
  const slots = new Map(tasksBySlot(tasks).map((slot) => [slot.current.Slot, slot]));
  return Array.from({ length: count }, (_, index) => {
    const number = index + 1;
    const slot = slots.get(number);
    return {
      id: slot?.current.ID ?? `${serviceId}.${number}`,
      name: `${swarmName}.${number}`,
      number,
      state: 'exited' as const,
      health: 'none' as const,
      image,
      startedAt: null,
      uptimeSeconds: null,
      restarts: slot ? slot.earlier.filter((earlier) => FAILED.has(earlier.Status.State)).length : 0,
      held: true as const,
    };
  });
}

export function stateOfTask(task: SwarmTask): ReplicaState {
  switch (task.Status.State) {
    case 'running':
    case 'starting':
      return 'running';
    case 'complete':
    case 'shutdown':
    case 'failed':
      return 'exited';
    case 'rejected':
      return 'dead';
    case 'orphaned':
    case 'remove':
      return 'removing';
    default:
      return 'created'; // new, pending, assigned, accepted, preparing, ready: not started yet
  }
}

/**
 * The replica's health. The container's own health check when it runs on this engine; otherwise
 * from the task: Swarm moves a task with a health check from `starting` to `running` only once
 * it is healthy, and replaces one that turns unhealthy, so a running task counts as healthy.
 */
export function healthOfTask(task: SwarmTask, hasHealthcheck: boolean, container: Docker.ContainerInspectInfo | undefined): ReplicaHealth {
  if (stateOfTask(task) !== 'running') return 'none';
  const local = container?.State.Running ? container.State.Health?.Status : undefined;
  if (local === 'healthy' || local === 'unhealthy' || local === 'starting') return local;
  if (container?.State.Running && !container.State.Health) return 'none';
  if (task.Status.State === 'starting') return hasHealthcheck ? 'starting' : 'none';
  return hasHealthcheck ? 'healthy' : 'none';
}

/** The image a task runs, without the digest `docker stack deploy` pins it to (the tag is what was deployed). */
export const taskImage = (task: SwarmTask) => (task.Spec?.ContainerSpec?.Image ?? '').replace(/@sha256:[0-9a-f]{64}$/, '');

function lastExitOf(slot: SlotTasks): ReplicaExit | undefined {
  const failed = slot.earlier.find((task) => FAILED.has(task.Status.State));
  if (!failed) return undefined;
  return { at: new Date(failed.Status.Timestamp ?? failed.CreatedAt).toISOString(), code: failed.Status.ContainerStatus?.ExitCode ?? null, signal: null };
}

export interface ReplicaInputs {
  swarmName: string;
  hasHealthcheck: boolean;
  /** The task's container when this engine runs it (inspect answers), else undefined. */
  container: Docker.ContainerInspectInfo | undefined;
  now: number;
}

export function replicaOfSlot(slot: SlotTasks, inputs: ReplicaInputs): Replica {
  const task = slot.current;
  const state = stateOfTask(task);
  const running = state === 'running';
  const started = running ? (inputs.container?.State.Running ? inputs.container.State.StartedAt : (task.Status.Timestamp ?? task.CreatedAt)) : undefined;
  const startedAt = started ? new Date(started).toISOString() : null;
  const lastExit = lastExitOf(slot);
  return {
    // The task id: the replica's identity changes with each run, as a new container's would.
    id: task.ID,
    name: replicaNameOf(inputs.swarmName, task),
    number: task.Slot ?? 1,
    state,
    health: healthOfTask(task, inputs.hasHealthcheck, inputs.container),
    image: taskImage(task),
    startedAt,
    uptimeSeconds: uptimeSeconds(startedAt, inputs.now),
    restarts: slot.earlier.filter((earlier) => FAILED.has(earlier.Status.State)).length,
    ...(lastExit ? { lastExit } : {}),
  };
}

/** Why a replica is not up, in the task's own words, for health and failures. */
export function taskTrouble(task: SwarmTask): string {
  const exit = task.Status.ContainerStatus?.ExitCode;
  const words = [task.Status.State, task.Status.Err || task.Status.Message, exit !== undefined && exit !== 0 ? `exit code ${exit}` : undefined];
  return words.filter(Boolean).join(', ');
}
