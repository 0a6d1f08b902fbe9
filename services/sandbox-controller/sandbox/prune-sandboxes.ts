import type Docker from 'dockerode';
import { engineErrorText, isNotFound } from '../../kit/docker-engine.js';
import type { DockerClients } from '../engine/docker-connection.js';
import { LABELS } from './container-spec.js';

/** One sandbox container as the prune answer names it. */
export interface PrunedSandbox {
  container_id: string;
  name: string;
  sandbox_id: string;
  agent_id: string;
  runtime: string;
  /** Started by this controller instance (others may share the engine). */
  own: boolean;
  /** A runtime probe of a controller rather than an agent's code. */
  probe: boolean;
  exit_code: number | null;
  finished_at: string | null;
}

export interface PruneResult {
  removed: PrunedSandbox[];
  /** Exited sandboxes the engine would not remove, with its words. */
  failed: Array<PrunedSandbox & { reason: string }>;
  /** Exited sandboxes deliberately left: their execution may still be reading them. */
  kept: Array<PrunedSandbox & { reason: string }>;
  /** Sandbox containers that have not exited (running, created, paused ...), by state: never touched. */
  left_alone: Record<string, number>;
}

export interface PruneOptions {
  controllerId: string;
  /** Container ids of this controller's executions still in flight. */
  inFlight: ReadonlySet<string>;
  /** An exited container younger than this may still be read by the controller that ran it. */
  graceMs: number;
  /** Only this agent's sandboxes (probes belong to no agent and are then left out). */
  agentId?: string;
  now?: Date;
}

function describeListed(container: Docker.ContainerInfo, controllerId: string): PrunedSandbox {
  const labels = container.Labels ?? {};
  return {
    container_id: container.Id,
    name: (container.Names[0] ?? container.Id).replace(/^\//, ''),
    sandbox_id: labels[LABELS.id] ?? '',
    agent_id: labels[LABELS.agentId] ?? '',
    runtime: labels[LABELS.runtime] ?? 'unknown',
    own: labels[LABELS.controller] === controllerId,
    probe: labels[LABELS.probe] === '1',
    exit_code: null,
    finished_at: null,
  };
}

function withEndState(listed: PrunedSandbox, info: Docker.ContainerInspectInfo): PrunedSandbox {
  // The engine reports a container that never finished with the zero time 0001-01-01.
  const finished = info.State.FinishedAt && !info.State.FinishedAt.startsWith('0001-') ? new Date(info.State.FinishedAt).toISOString() : null;
  return { ...listed, exit_code: typeof info.State.ExitCode === 'number' ? info.State.ExitCode : null, finished_at: finished };
}

/** The containers a prune considers: an agent's sandboxes, or every sandbox and runtime probe (of any controller). */
async function listSandboxContainers(docker: DockerClients, agentId?: string, status?: string[]): Promise<Docker.ContainerInfo[]> {
  const selectors = agentId ? [[`${LABELS.sandbox}=1`, `${LABELS.agentId}=${agentId}`]] : [[`${LABELS.sandbox}=1`], [`${LABELS.probe}=1`]];
  const filters = (label: string[]): Record<string, string[]> => (status ? { label, status } : { label });
  return (await Promise.all(selectors.map((label) => docker.control.listContainers({ all: true, filters: filters(label) })))).flat();
}

/** How many exited containers a prune would look at now (some may still be kept for their grace period): read only. */
export async function countExitedSandboxes(docker: DockerClients, agentId?: string): Promise<number> {
  return (await listSandboxContainers(docker, agentId, ['exited'])).length;
}

/**
 * Removes the exited containers the Sandbox Controller made (sandboxes and runtime probes, of any
 * controller instance on the engine), and nothing else: containers are chosen by the controller's
 * labels, only in state `exited`, and removed without force, so a container that runs again by
 * the time of removal is refused by the engine rather than killed. Exited ones that an execution
 * may still be reading (this controller's in-flight runs, anything that exited within the grace
 * period) are kept and said so. Only the listing throws; later failures are reported per
 * container, so what was already removed is always in the answer.
 */
export async function pruneExitedSandboxes(docker: DockerClients, options: PruneOptions): Promise<PruneResult> {
  const now = (options.now ?? new Date()).getTime();
  const listed = await listSandboxContainers(docker, options.agentId);

  const result: PruneResult = { removed: [], failed: [], kept: [], left_alone: {} };
  const leftAlone = (state: string) => {
    result.left_alone[state] = (result.left_alone[state] ?? 0) + 1;
  };
  for (const container of listed) {
    if (container.State !== 'exited') {
      leftAlone(container.State);
      continue;
    }
    const listedSandbox = describeListed(container, options.controllerId);
    let info: Docker.ContainerInspectInfo;
    try {
      info = await docker.control.getContainer(container.Id).inspect();
    } catch (error) {
      if (isNotFound(error)) continue; // removed meanwhile by its runner or the orphan reaper: nothing to prune
      result.failed.push({ ...listedSandbox, reason: `could not be inspected: ${engineErrorText(error)}` });
      continue;
    }
    const sandbox = withEndState(listedSandbox, info);
    if (info.State.Status !== 'exited') {
      leftAlone(info.State.Status);
      continue;
    }
    if (options.inFlight.has(info.Id)) {
      result.kept.push({ ...sandbox, reason: 'its execution on this controller is still collecting the result; it removes the container itself' });
      continue;
    }
    const age = now - (sandbox.finished_at ? Date.parse(sandbox.finished_at) : now);
    if (age < options.graceMs) {
      result.kept.push({
        ...sandbox,
        reason: `it exited ${Math.max(0, Math.round(age / 1000))} s ago; the controller that ran it removes it itself within ${Math.round(options.graceMs / 1000)} s`,
      });
      continue;
    }
    try {
      // No force: the engine refuses to remove a running container, whatever happened since the listing.
      await docker.control.getContainer(info.Id).remove({ v: true });
      result.removed.push(sandbox);
    } catch (error) {
      if (isNotFound(error)) continue;
      result.failed.push({ ...sandbox, reason: engineErrorText(error) });
    }
  }
  return result;
}
