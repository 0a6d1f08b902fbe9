import { randomUUID } from 'node:crypto';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DOCKER_HOST, containersWithLabel, removeContainersWithLabel, requireDockerEngine, requireImage } from '../../../test/testing/docker.js';
import { DEFAULT_SANDBOX_IMAGE } from '../config.js';
import { connectDocker } from '../engine/docker-connection.js';
import { LABELS, sandboxContainerSpec } from './container-spec.js';
import { runSandbox } from './run-sandbox.js';

let docker: Docker;
const controllerId = `run-sandbox-test-${randomUUID()}`;
const controllerLabel = `${LABELS.controller}=${controllerId}`;

beforeAll(async () => {
  docker = await requireDockerEngine();
  await requireImage(docker, DEFAULT_SANDBOX_IMAGE);
});
afterAll(async () => {
  await removeContainersWithLabel(docker, controllerLabel);
});

const longSleep = () =>
  sandboxContainerSpec({
    sandboxId: randomUUID(),
    agentId: 'run-sandbox-test',
    language: 'sh',
    code: 'sleep 120',
    image: DEFAULT_SANDBOX_IMAGE,
    runtime: 'runc',
    timeoutSeconds: 120,
    memoryMb: 64,
    cpu: 1,
    pidsLimit: 64,
    tmpfsMb: 8,
    controllerId,
  });

describe('a stopped sandbox run', () => {
  it('is killed even when the stop comes between create and start, when a kill alone is refused', async () => {
    const stop = new AbortController();
    const started = Date.now();
    const run = await runSandbox(connectDocker(TEST_DOCKER_HOST), longSleep(), {
      timeoutMs: 120_000,
      outputLimitBytes: 1024,
      stop: stop.signal,
      onCreated: () => stop.abort(),
    });
    expect(run).toMatchObject({ exitCode: 137, timedOut: false });
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await containersWithLabel(docker, controllerLabel)).toEqual([]);
  });

  it('is killed when the stop comes while it runs', async () => {
    const stop = new AbortController();
    const pending = runSandbox(connectDocker(TEST_DOCKER_HOST), longSleep(), { timeoutMs: 120_000, outputLimitBytes: 1024, stop: stop.signal });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    stop.abort();
    expect(await pending).toMatchObject({ exitCode: 137, timedOut: false });
    expect(await containersWithLabel(docker, controllerLabel)).toEqual([]);
  });
});
