/**
 * The Docker release builder as the tests and bench:deploy use it: releases of the fixture
 * repository (release-repo.ts) built on acgs-test/node-npm (scripts/build-test-images.sh) with the
 * build on the host network, validated against the machine's PostgreSQL; and the cleanup of what
 * it leaves in the engine.
 */
import type Docker from 'dockerode';
import { SERVICE_NAMES } from '../../services/kit/service-ports.js';
import { createDockerReleaseBuilder, VALIDATION_LABEL } from '../../services/stack/releases/docker-releases.js';
import type { ReleaseBuilder } from '../../services/stack/releases/release.js';
import { createReleaseSource } from '../../services/stack/releases/release-source.js';
import { TEST_DOCKER_HOST, removeContainersWithLabel, requireImage } from './docker.js';
import { TEST_POSTGRES_URL } from './postgres.js';
import { takeTurn } from './turns.js';

/** The stand-in for node:24-slim that the repository's Dockerfile builds on here (offline npm cache inside). */
export const NODE_NPM_IMAGE = 'acgs-test/node-npm:latest';

/** The builder over the fixture repository at `repoDir`; fails up front, saying how to build it, without NODE_NPM_IMAGE. */
export async function testDockerReleaseBuilder(docker: Docker, repoDir: string): Promise<ReleaseBuilder> {
  await requireImage(docker, NODE_NPM_IMAGE);
  return createDockerReleaseBuilder({
    dockerHost: TEST_DOCKER_HOST,
    source: createReleaseSource({ repo: repoDir }),
    networkMode: 'host',
    nodeImage: NODE_NPM_IMAGE,
    validationDatabaseUrl: TEST_POSTGRES_URL,
  });
}

/**
 * Removes the fixture's release images (acgs/<service>:9.*) and any validation container a failed
 * run left. On vfs each removal deletes a whole image tree: minutes under load, so hooks that call
 * it need a long timeout.
 */
export async function removeTestReleases(docker: Docker): Promise<void> {
  await removeContainersWithLabel(docker, VALIDATION_LABEL);
  const images = await docker.listImages({ filters: { reference: SERVICE_NAMES.map((service) => `acgs/${service}:9.*`) } });
  for (const image of images) await docker.getImage(image.Id).remove({ force: true }).catch(() => undefined);
}

/**
 * The release image tags (acgs/<service>:9.*) are one machine-wide resource: the files that build
 * and remove them take turns, or one removes the images the other's stack and rollback rely on
 * (the fixed commit dates make both build the same commits, and the builder reuses by commit).
 */
export function takeReleaseImages(): Promise<() => Promise<void>> {
  return takeTurn('acgs release images acgs/*:9.*');
}
