/**
 * The Docker stack as a DeployTarget (deploy-harness.ts): OUR docker-compose.yml brought up with
 * docker-compose at the v9.0.0 release images of the fixture repository, the four services on the
 * host network bound to 127.0.0.1 at spare ports, against the machine's PostgreSQL and Redis
 * (test/fixtures/compose/release-stack.ts), controlled through the Docker driver, with releases
 * built by the Docker release builder. Only v9.0.0 is built here: the runbooks build the others
 * when they prepare them, once each (an image is reused by its commit). Closing removes every
 * container, network and volume of the project and every acgs/*:9.* image.
 */
import type Docker from 'dockerode';
import { SERVICE_NAMES, type ServiceName } from '../../../services/kit/service-ports.js';
import { createDockerStack } from '../../../services/stack/docker/index.js';
import { openReleaseComposeStack, type ReleaseComposeStack } from '../../../test/fixtures/compose/release-stack.js';
import { TEST_DOCKER_HOST, isHealthy, requireDockerEngine, waitForContainer } from '../../../test/testing/docker.js';
import { removeTestReleases, testDockerReleaseBuilder } from '../../../test/testing/docker-releases.js';
import { TEST_DRIVER_OPTIONS } from '../../../test/testing/responder-project.js';
import type { DeployTarget, OpenDeployTarget } from './deploy-harness.js';

export interface DockerTarget extends DeployTarget {
  docker: Docker;
  compose: ReleaseComposeStack;
  /** The service's container as compose named it; the driver gives a replacement the same name. */
  containerName(service: ServiceName): string;
}

/** Four containers created at once copy four image trees on the vfs storage driver: minutes under load. */
const HEALTHY_WITHIN_MS = 300_000;

/** The Docker target whose Stack (the runbooks' and the harness's) reaches the engine at `dockerHost`: a proxy a test can cut. */
export const dockerTargetThrough =
  (dockerHost: string): OpenDeployTarget<DockerTarget> =>
  (place) =>
    openDockerTarget(place, dockerHost);

export const dockerTarget: OpenDeployTarget<DockerTarget> = (place) => openDockerTarget(place, TEST_DOCKER_HOST);

async function openDockerTarget({ repo }: { repo: { dir: string } }, dockerHost: string): Promise<DockerTarget> {
  const docker = await requireDockerEngine();
  const releases = await testDockerReleaseBuilder(docker, repo.dir);
  let compose: ReleaseComposeStack | undefined;
  const close = async () => {
    await compose?.close();
    await removeTestReleases(docker);
  };
  try {
    await releases.prepare(await releases.resolve('9.0.0'));
    compose = await openReleaseComposeStack(docker, 'acgs-deploydocker');
    // Health checked every second: the driver waits for the engine's verdict after each replacement.
    await compose.up('9.0.0', '1s');
    // Waited for on the engine directly, so that the driver's own waiting is not what makes the tests pass.
    for (const service of SERVICE_NAMES) await waitForContainer(docker, compose.containerName(service), isHealthy, HEALTHY_WITHIN_MS);
  } catch (error) {
    await close();
    throw error;
  }
  const stack = createDockerStack({ ...TEST_DRIVER_OPTIONS, dockerHost, project: compose.project });
  return {
    docker,
    compose,
    containerName: compose.containerName,
    ports: compose.ports,
    stack,
    releases,
    backup: { env: { AUDIT_DATABASE_URL: compose.databaseUrls.audit, EVOLUTION_DATABASE_URL: compose.databaseUrls.evolution } },
    async close() {
      await stack.close();
      await close();
    },
  };
}
