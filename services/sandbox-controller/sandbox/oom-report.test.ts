import { randomUUID } from 'node:crypto';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_DOCKER_HOST, removeContainersWithLabel, requireDockerEngine, requireImage } from '../../../test/testing/docker.js';
import { DEFAULT_SANDBOX_IMAGE } from '../config.js';
import { connectDocker } from '../engine/docker-connection.js';
import { engineReportedOom } from './oom-report.js';

let docker: Docker;
const label = `acgs.test.oom-report=${randomUUID()}`;
const [labelKey, labelValue] = label.split('=') as [string, string];

beforeAll(async () => {
  docker = await requireDockerEngine();
  await requireImage(docker, DEFAULT_SANDBOX_IMAGE);
});
afterAll(async () => {
  await removeContainersWithLabel(docker, label);
});

/** Runs `sh -c script` to its end under a 16 MiB limit, removes the container, and returns its id. */
async function runToEnd(script: string): Promise<{ id: string; exitCode: number }> {
  const container = await docker.createContainer({
    Image: DEFAULT_SANDBOX_IMAGE,
    Entrypoint: ['sh', '-c'],
    Cmd: [script],
    Labels: { [labelKey]: labelValue },
    HostConfig: { NetworkMode: 'none', Memory: 16 * 1024 * 1024, MemorySwap: 16 * 1024 * 1024, LogConfig: { Type: 'none', Config: {} } },
  });
  await container.start();
  const { StatusCode } = (await container.wait()) as { StatusCode: number };
  await container.remove({ force: true });
  return { id: container.id, exitCode: StatusCode };
}

describe('whether the engine reported an OOM kill', () => {
  it('finds the report in the engine log after the container is gone, where inspecting cannot', async () => {
    const since = Date.now();
    const bomb = await runToEnd('x=a; while true; do x="$x$x"; done');
    expect(bomb.exitCode).toBe(137);
    await expect(engineReportedOom(connectDocker(TEST_DOCKER_HOST).streams, bomb.id, since)).resolves.toBe(true);
  });

  it('says no for a SIGKILL exit status without an OOM, once the window has passed', async () => {
    const since = Date.now();
    const plain = await runToEnd('exit 137');
    const asked = Date.now();
    await expect(engineReportedOom(connectDocker(TEST_DOCKER_HOST).streams, plain.id, since, 500)).resolves.toBe(false);
    expect(Date.now() - asked).toBeGreaterThanOrEqual(450);
  });

  it("does not count another container's OOM in the same moment", async () => {
    const since = Date.now();
    const [bomb, plain] = await Promise.all([runToEnd('x=a; while true; do x="$x$x"; done'), runToEnd('exit 137')]);
    const streams = connectDocker(TEST_DOCKER_HOST).streams;
    await expect(engineReportedOom(streams, bomb.id, since)).resolves.toBe(true);
    await expect(engineReportedOom(streams, plain.id, since, 500)).resolves.toBe(false);
  });
});
