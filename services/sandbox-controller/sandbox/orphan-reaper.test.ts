import { randomUUID } from 'node:crypto';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DOCKER_HOST, containersWithLabel, removeContainersWithLabel, requireDockerEngine, requireImage } from '../../../test/testing/docker.js';
import { DEFAULT_SANDBOX_IMAGE } from '../config.js';
import { connectDocker } from '../engine/docker-connection.js';
import { LABELS, sandboxContainerSpec } from './container-spec.js';
import { reapOrphans } from './orphan-reaper.js';

let docker: Docker;
const controllerId = `reaper-test-${randomUUID()}`;
const controllerLabel = `${LABELS.controller}=${controllerId}`;

beforeAll(async () => {
  docker = await requireDockerEngine();
  await requireImage(docker, DEFAULT_SANDBOX_IMAGE);
});
afterAll(async () => {
  await removeContainersWithLabel(docker, controllerLabel);
});

/** A created (never started) sandbox container, labelled as if created at `now`. */
async function createSandbox(now: Date): Promise<string> {
  const spec = sandboxContainerSpec({
    sandboxId: randomUUID(),
    agentId: 'reaper-test',
    language: 'sh',
    code: 'sleep 600',
    image: DEFAULT_SANDBOX_IMAGE,
    runtime: 'runc',
    timeoutSeconds: 10,
    memoryMb: 64,
    cpu: 1,
    pidsLimit: 64,
    tmpfsMb: 8,
    controllerId,
    now,
  });
  return (await docker.createContainer(spec)).id;
}

describe('orphan reaper', () => {
  it('removes sandbox containers past their deadline and keeps the others', async () => {
    const overdue = await createSandbox(new Date(Date.now() - 2 * 3600_000));
    const current = await createSandbox(new Date());
    const removed = await reapOrphans(connectDocker(TEST_DOCKER_HOST));
    expect(removed).toContain(overdue);
    expect(removed).not.toContain(current);
    const left = (await containersWithLabel(docker, controllerLabel)).map((container) => container.Id);
    expect(left).toEqual([current]);
  });
});
