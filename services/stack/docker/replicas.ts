/**
 * Making new replicas (for scale and recreate) and reporting an operation over several replicas
 * that stopped half way.
 */
import type Docker from 'dockerode';
import { engineErrorText, isNotFound } from '../../kit/docker-engine.js';
import { StackError } from '../stack.js';
import { planClone, type MovedPort } from './container-clone.js';
import { callEngine, type DockerContext } from './context.js';

/**
 * Re-raises the failure of one replica's step with what happened to the replicas before it
 * (`done`, which makes it PARTIAL) and after it (`notDone`).
 */
export function stoppedHalfWay(error: unknown, done: string[], notDone: string[]): unknown {
  if (!(error instanceof StackError)) return error;
  return new StackError(done.length > 0 ? 'PARTIAL' : error.code, error.reason, {
    done: [...done, ...error.done],
    notDone: [...error.notDone, ...notDone],
    cause: error,
  });
}

async function imageConfig(context: DockerContext, imageId: string): Promise<Docker.ImageInspectInfo['Config'] | undefined> {
  try {
    return (await callEngine(context, () => context.docker.getImage(imageId).inspect())).Config;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/** Creates (not starts) a replica copied from `source`, connected to all of its networks. */
export async function createReplica(
  context: DockerContext,
  source: Docker.ContainerInspectInfo,
  fields: { name: string; image: string; number: number; ephemeralHostPorts: boolean },
): Promise<{ container: Docker.Container; movedPorts: MovedPort[] }> {
  const { docker, storageDocker } = context;
  const plan = planClone({ source, sourceImage: await imageConfig(context, source.Image), ...fields });
  let container: Docker.Container;
  try {
    // The container keeps this client: its removal, if it fails to take over, is as slow.
    container = await callEngine(context, () => storageDocker.createContainer(plan.options));
  } catch (error) {
    if (isNotFound(error)) {
      throw new StackError(
        'IMAGE_MISSING',
        `The image ${fields.image} is not in the Docker Engine at ${context.host} (${engineErrorText(error)}); build or pull it there first`,
        { cause: error },
      );
    }
    throw error;
  }
  try {
    for (const network of plan.extraNetworks) {
      await callEngine(context, () => docker.getNetwork(network.name).connect({ Container: container.id, EndpointConfig: { Aliases: network.aliases } }));
    }
  } catch (error) {
    await container.remove({ force: true }).catch(() => undefined);
    throw error;
  }
  return { container, movedPorts: plan.movedPorts };
}
