/**
 * A compose project of busybox health responders (scripts/build-test-images.sh) on the real Docker
 * Engine, labelled the way `docker-compose up` labels one: project, service and replica number,
 * on the host's network bound to 127.0.0.1 at ports the kernel hands out. The Docker driver's
 * tests, the stack commands' tests and bench:stack all stand on it.
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { createDockerStack, type DockerStackOptions } from '../../services/stack/docker/index.js';
import type { Stack } from '../../services/stack/stack.js';
import {
  RESPONDER_IMAGES,
  TEST_DOCKER_HOST,
  isHealthy,
  removeContainersWithLabel,
  requireDockerEngine,
  requireImage,
  startComposeReplica,
  waitForContainer,
  type ComposeReplicaOptions,
} from './docker.js';
import { unusedLoopbackPort } from './loopback.js';

/** Driver settings for tests: a short stop grace and quick health polls keep each restart short. */
export const TEST_DRIVER_OPTIONS: Omit<DockerStackOptions, 'dockerHost' | 'project'> = { stopTimeoutSeconds: 2, pollIntervalMs: 100 };

/** One replica to start; PORT is a free loopback port unless `env` sets it. */
export type ResponderReplica = Omit<ComposeReplicaOptions, 'project' | 'image'> & { image?: string };

export interface ResponderProjectOptions {
  /** The compose project, for example from uniqueProjectName. */
  project: string;
  replicas: readonly ResponderReplica[];
  /** Images the tests use later, checked up front so that a missing one fails here, saying how to build it. */
  images?: readonly string[];
  /** The Docker driver's settings; TEST_DRIVER_OPTIONS unless given. */
  driver?: Omit<DockerStackOptions, 'dockerHost' | 'project'>;
  /** An engine connection already open (the caller may need it before the project exists). */
  docker?: Docker;
  healthyWithinMs?: number;
}

export interface ResponderProject {
  docker: Docker;
  project: string;
  /** `com.docker.compose.project=<project>`: the filter for every container of the project. */
  label: string;
  /** The replicas started, in the order they were asked for, each healthy (or running, without a health check). */
  containers: Docker.Container[];
  /** The Docker driver over the project. */
  stack: Stack;
  /** Removes every container of the project, also the ones tests created meanwhile, and closes the driver. */
  close(): Promise<void>;
}

/** A project name no other run uses at the same time: `<prefix>-<6 hex digits>`. */
export function uniqueProjectName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export const composeProjectLabel = (project: string) => `com.docker.compose.project=${project}`;

export async function startResponderProject(options: ResponderProjectOptions): Promise<ResponderProject> {
  const docker = options.docker ?? (await requireDockerEngine());
  const images = new Set([...options.replicas.map((replica) => replica.image ?? RESPONDER_IMAGES.v1), ...(options.images ?? [])]);
  for (const image of images) await requireImage(docker, image);

  const label = composeProjectLabel(options.project);
  let stack: Stack | undefined;
  const close = async () => {
    await removeContainersWithLabel(docker, label);
    await stack?.close();
  };
  try {
    const containers = await Promise.all(
      options.replicas.map(async (replica) =>
        startComposeReplica(docker, {
          ...replica,
          project: options.project,
          image: replica.image ?? RESPONDER_IMAGES.v1,
          env: { PORT: String(await unusedLoopbackPort()), ...replica.env },
        }),
      ),
    );
    await Promise.all(containers.map((container) => waitForContainer(docker, container.id, isHealthy, options.healthyWithinMs)));
    stack = createDockerStack({ ...(options.driver ?? TEST_DRIVER_OPTIONS), dockerHost: TEST_DOCKER_HOST, project: options.project });
    return { docker, project: options.project, label, containers, stack, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}
