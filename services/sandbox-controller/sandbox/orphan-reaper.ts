import type { DockerClients } from '../engine/docker-connection.js';
import { engineStatusCode } from '../../kit/docker-engine.js';
import { LABELS } from './container-spec.js';

/**
 * Removes sandbox containers past their deadline label: left behind when a controller crashed or
 * the engine dropped out mid-run. Safe with several controllers on one engine, since a live
 * sandbox is always killed before its deadline by the controller that started it.
 */
export async function reapOrphans(
  docker: DockerClients,
  now: Date = new Date(),
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void },
): Promise<string[]> {
  const containers = await docker.control.listContainers({ all: true, filters: { label: [LABELS.deadline] } });
  const removed: string[] = [];
  for (const container of containers) {
    const deadline = Date.parse(container.Labels[LABELS.deadline] ?? '');
    if (!Number.isFinite(deadline) || deadline > now.getTime()) continue;
    try {
      await docker.control.getContainer(container.Id).remove({ force: true, v: true });
      removed.push(container.Id);
    } catch (error) {
      if (engineStatusCode(error) !== 404) log?.warn({ err: error, containerId: container.Id }, 'could not remove an orphaned sandbox');
    }
  }
  if (removed.length > 0) log?.info({ count: removed.length }, 'removed orphaned sandbox containers');
  return removed;
}
