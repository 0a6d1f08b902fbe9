/**
 * `recreate(service, image)`, `deploy(service, artifact)` and `running(service)` on Swarm: a
 * rolling update of the service's image (`docker service update --image`), carried out by Swarm
 * under the service's update_config. With `order: start-first` the old task serves until its
 * replacement is healthy (side by side); with `stop-first` it is stopped first (handover). With
 * `failure_action: rollback` Swarm itself puts the old image back when a new task fails within
 * `monitor`; the driver reports that as UNHEALTHY, saying Swarm rolled back.
 */
import type { ReleaseArtifact } from '../releases/release.js';
import { requireServiceName, requireTimeout } from '../stack-checks.js';
import { isStackError, serviceHealthOf, StackError, type DeployOptions, type DeployReport, type RecreatedReplica, type RecreateOptions, type RecreateReport } from '../stack.js';
import { DEFAULT_WAIT_MS } from '../docker/context.js';
import type { SwarmContext } from './context.js';
import { updateService, waitForConvergence } from './converge.js';
import { desiredReplicas, readService, requireStackService, serviceReplicas, serviceTasks, specImage } from './services.js';
import { slotKey, taskImage, type SwarmTask } from './tasks.js';

const IMAGE_REFERENCE = /^[a-z0-9][a-z0-9._\-/:@]{0,254}$/i;

function requireImageReference(image: string): void {
  if (typeof image !== 'string' || !IMAGE_REFERENCE.test(image)) {
    throw new StackError('INVALID_ARGUMENT', `"${String(image).slice(0, 80)}" is not an image reference such as acgs/policy-engine:1.4.0`);
  }
}


/**
 * How long a replica had no task serving: 0 when the new one started first; for stop-first,
 * from the old task's end to the new one running (the tasks' own timestamps).
 */
function unavailableOf(startFirst: boolean, old: SwarmTask | undefined, replacement: SwarmTask): number {
  if (startFirst || !old?.Status.Timestamp || !replacement.Status.Timestamp) return 0;
  return Math.max(0, Date.parse(replacement.Status.Timestamp) - Date.parse(old.Status.Timestamp));
}

export async function recreateService(context: SwarmContext, service: string, image: string, options: RecreateOptions = {}): Promise<RecreateReport> {
  requireServiceName(service);
  requireImageReference(image);
  const perReplicaMs = requireTimeout(options.timeoutMs, DEFAULT_WAIT_MS);
  return context.guard.run(service, 'recreate', async () => {
    const started = Date.now();
    const target = await requireStackService(context, service);
    const name = target.info.Spec.Name;
    const previousImage = specImage(target.info);
    const before = await serviceReplicas(context, target.info);
    const startFirst = target.info.Spec.UpdateConfig?.Order === 'start-first';
    await updateService(
      context,
      target,
      (spec) => ({ ...spec, TaskTemplate: { ...spec.TaskTemplate, ContainerSpec: { ...spec.TaskTemplate?.ContainerSpec, Image: image } } }),
      [`${name} was not moved to ${image}`],
    );
    try {
      await waitForConvergence(context, target, {
        replacing: new Set(before.slots.map((slot) => slot.current.ID)),
        expectUpdate: true,
        timeoutMs: perReplicaMs * Math.max(1, desiredReplicas(target.info) ?? before.slots.length),
        doing: `moving ${name} to ${image}`,
      });
    } catch (error) {
      if (!(error instanceof StackError)) throw error;
      const now = await readService(context, target).catch(() => undefined);
      const rolledBack = now?.UpdateStatus?.State?.startsWith('rollback') ?? false;
      throw new StackError(error.code, error.reason, {
        done: rolledBack ? [`Swarm rolled ${name} back to ${previousImage}`] : [`asked Swarm to move ${name} to ${image}`],
        notDone: [`${name} does not run ${image} on every replica`],
        cause: error,
      });
    }
    const tasks = await serviceTasks(context, target.info.ID);
    const after = await serviceReplicas(context, (await requireStackService(context, service)).info);
    const oldBySlot = new Map(before.slots.map((slot) => [slot.key, slot.current]));
    const replicas: RecreatedReplica[] = after.slots.map((slot, index) => {
      const old = oldBySlot.get(slotKey(slot.current));
      const oldNow = old ? tasks.find((task) => task.ID === old.ID) : undefined;
      return {
        name: after.replicas[index]!.name,
        previousId: old?.ID ?? '',
        id: slot.current.ID,
        previousImage: old ? taskImage(old) : previousImage,
        strategy: startFirst ? 'side-by-side' : 'handover',
        unavailableMs: unavailableOf(startFirst, oldNow, slot.current),
      };
    });
    return { service, image, replicas, durationMs: Date.now() - started };
  });
}

/** The image new tasks of the service run: its spec's (replicas differ only during an update). */
export async function runningArtifact(context: SwarmContext, service: string): Promise<ReleaseArtifact> {
  return { kind: 'image', image: specImage((await requireStackService(context, service)).info) };
}

export async function deployService(context: SwarmContext, service: string, artifact: ReleaseArtifact, options: DeployOptions = {}): Promise<DeployReport> {
  requireServiceName(service);
  if (artifact?.kind !== 'image') {
    const what = artifact?.kind === 'directory' ? `the release directory ${artifact.directory}` : 'that artifact';
    throw new StackError('NOT_SUPPORTED', `A Swarm stack runs images, not ${what}: deploy the release's image of ${service} (acgs/${service}:<version>), present on every node that may run it`);
  }
  const timeoutMs = requireTimeout(options.timeoutMs, DEFAULT_WAIT_MS);
  const started = Date.now();
  const previous = await runningArtifact(context, service);
  try {
    const report = await recreateService(context, service, artifact.image, { timeoutMs });
    const handover = report.replicas.some((replica) => replica.strategy === 'handover');
    const { replicas } = await serviceReplicas(context, (await requireStackService(context, service)).info);
    return {
      service,
      artifact: { kind: 'image', image: artifact.image },
      previous,
      strategy: handover ? 'handover' : 'side-by-side',
      durationMs: Date.now() - started,
      unavailableMs: report.replicas.length === 1 ? report.replicas[0]!.unavailableMs : 0,
      health: serviceHealthOf(replicas),
    };
  } catch (error) {
    if (isStackError(error, 'TIMEOUT')) throw new StackError('UNHEALTHY', error.reason, { done: error.done, notDone: error.notDone, cause: error });
    throw error;
  }
}
