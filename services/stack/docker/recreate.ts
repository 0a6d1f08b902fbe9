/**
 * `recreate(service, image)`: each replica in turn replaced by one from the image, the old kept
 * until the new one is healthy.
 */
import type Docker from 'dockerode';
import { engineErrorText, isNotFound } from '../../kit/docker-engine.js';
import { requireServiceName, requireTimeout } from '../stack-checks.js';
import { StackError, type RecreatedReplica, type RecreateOptions, type RecreateReport } from '../stack.js';
import { replicaNumber } from './compose-labels.js';
import { inspectContainer, nameOf, serviceReplicas, stopAndRemove } from './containers.js';
import { callEngine, DEFAULT_WAIT_MS, type DockerContext } from './context.js';
import { waitUntilHealthy } from './health-wait.js';
import { createReplica, stoppedHalfWay } from './replicas.js';
import { healthUrlOf, probeUntilServed, type ServedProbe } from './served-probe.js';

const IMAGE_REFERENCE = /^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]{0,254}$/;

export async function recreateService(context: DockerContext, service: string, image: string, recreateOptions: RecreateOptions = {}): Promise<RecreateReport> {
  requireServiceName(service);
  if (typeof image !== 'string' || !IMAGE_REFERENCE.test(image)) {
    throw new StackError('INVALID_ARGUMENT', `"${String(image).slice(0, 80)}" is not an image reference such as acgs/stack:1.2.0`);
  }
  const timeoutMs = requireTimeout(recreateOptions.timeoutMs, DEFAULT_WAIT_MS);
  return context.guard.run(service, 'recreate', async () => {
    const started = Date.now();
    const replicas = await serviceReplicas(context, service);
    try {
      await callEngine(context, () => context.docker.getImage(image).inspect());
    } catch (error) {
      if (isNotFound(error)) {
        throw new StackError(
          'IMAGE_MISSING',
          `The image ${image} is not in the Docker Engine at ${context.host}; build or pull it there first. Nothing was changed: ${replicas.map(nameOf).join(', ')} still run ${[...new Set(replicas.map((info) => info.Config.Image))].join(', ')}`,
        );
      }
      throw error;
    }

    const replaced: RecreatedReplica[] = [];
    const doneSteps = () => replaced.map((replica) => `${replica.name} now runs ${image}`);
    for (const [index, old] of replicas.entries()) {
      // The failing replica's own state is in the error's message (replaceReplica says it).
      const untouched = replicas.slice(index + 1).map((info) => `${nameOf(info)} still runs ${info.Config.Image}`);
      try {
        replaced.push(await replaceReplica(context, old, image, timeoutMs));
      } catch (error) {
        throw stoppedHalfWay(error, doneSteps(), untouched);
      }
    }
    return { service, image, replicas: replaced, durationMs: Date.now() - started };
  });
}

/**
 * A new replica on the host's network that stopped because the old one holds its port: the
 * service cannot run twice there (a responder with SO_REUSEPORT can, a Node service cannot).
 */
function lostThePort(old: Docker.ContainerInspectInfo, error: unknown): boolean {
  return old.HostConfig?.NetworkMode === 'host' && error instanceof StackError && /EADDRINUSE|address already in use/i.test(error.reason);
}

/** The label the stack's image carries (Dockerfile): its service binds the one port it is told, never another. */
export const EXCLUSIVE_PORT_LABEL = 'acgs.port';

function bindsTheOldPort(old: Docker.ContainerInspectInfo): boolean {
  return old.HostConfig?.NetworkMode === 'host' && old.Config.Labels?.[EXCLUSIVE_PORT_LABEL] === 'exclusive';
}

/**
 * One replica onto `image`: the new container starts beside the old (under a temporary name)
 * and takes over the name once healthy. When the old one holds the port (a published host port
 * the engine refuses to give twice, or its port on the host's network, which the new one then
 * fails to bind), the old is stopped
 * (not removed) for the handover and started again if the new one fails.
 */
async function replaceReplica(context: DockerContext, old: Docker.ContainerInspectInfo, image: string, timeoutMs: number): Promise<RecreatedReplica> {
  const name = nameOf(old);
  const nextName = `${name}-next`;
  const stale = await inspectContainer(context, nextName);
  if (stale) await stopAndRemove(context, stale.Id); // left by an interrupted recreate; it never served
  const { container } = await createReplica(context, old, { name: nextName, image, number: replicaNumber(old.Config.Labels), ephemeralHostPorts: false });
  let strategy = 'side-by-side' as RecreatedReplica['strategy'];
  // From the moment the old one is told to stop until the new one answers /health: the service's gap.
  let stoppedAt: number | undefined;
  let served: ServedProbe | undefined;
  const handover = async () => {
    strategy = 'handover';
    stoppedAt = Date.now();
    await callEngine(context, () => context.docker.getContainer(old.Id).stop({ t: context.stopTimeout }));
    // Asked only once the old one has stopped: from here a 200 on the service's address is the new one's.
    served ??= probeUntilServed(healthUrlOf(await callEngine(context, () => container.inspect())), Math.min(context.pollMs, 100));
  };
  const keepOld = `${name} still runs ${old.Config.Image} and was not changed`;
  try {
    // On the host's network a replica of an image whose service binds exactly its PORT (the label)
    // takes the old one's port: it cannot run beside it, and its health check would be answered by
    // the old one, so "healthy" would prove nothing. Others (a responder that moves to a free port)
    // still start beside the old one.
    if (bindsTheOldPort(old)) await handover();
    try {
      await callEngine(context, () => container.start());
    } catch (error) {
      if (!/port is already allocated|address already in use/i.test(engineErrorText(error))) throw error;
      await handover();
      await callEngine(context, () => container.start());
    }
    try {
      await waitUntilHealthy(context, container.id, `the new ${name} (${image})`, timeoutMs);
    } catch (error) {
      if (strategy === 'handover' || !lostThePort(old, error)) throw error;
      await handover();
      await callEngine(context, () => container.start());
      await waitUntilHealthy(context, container.id, `the new ${name} (${image})`, timeoutMs);
    }
  } catch (error) {
    served?.stop();
    await container.remove({ force: true }).catch(() => undefined);
    let oldState = keepOld;
    if (strategy === 'handover') {
      try {
        await callEngine(context, () => context.docker.getContainer(old.Id).start());
        await waitUntilHealthy(context, old.Id, name, timeoutMs);
        oldState = `${name} was stopped for the handover and runs ${old.Config.Image} again`;
      } catch (restartError) {
        oldState = `${name} was stopped for the handover and could not be started again (${(restartError as Error).message}); restart ${name} now`;
      }
    }
    const failure = error instanceof StackError ? error : new StackError('UNHEALTHY', `${engineErrorText(error)}`, { cause: error });
    throw new StackError(failure.code, `The new ${name} from ${image} did not take over: ${failure.reason}. ${oldState}.`, {
      done: [`removed the new container`],
      cause: failure,
    });
  }
  served?.stop();
  // The engine's verdict when the driver could not ask the service itself (no PORT, not reachable from here).
  const unavailableMs = stoppedAt === undefined ? 0 : (served?.firstServedAt() ?? Date.now()) - stoppedAt;
  await stopAndRemove(context, old.Id);
  await callEngine(context, () => container.rename({ name }));
  return { name, previousId: old.Id, id: container.id, previousImage: old.Config.Image, strategy, unavailableMs };
}
