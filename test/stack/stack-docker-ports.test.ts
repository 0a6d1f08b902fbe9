/**
 * The Docker driver with a service shaped like our docker-compose.yml's: on user-defined networks
 * (with the compose service alias) and publishing a fixed port on 127.0.0.1. A second replica
 * cannot take the same host port, and a replacement can only start once the old one lets go of it.
 */
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Stack } from '../../services/stack/stack.js';
import { RESPONDER_IMAGES, requireDockerEngine } from '../testing/docker.js';
import { unusedLoopbackPort } from '../testing/loopback.js';
import { composeProjectLabel, startResponderProject, uniqueProjectName, type ResponderProject } from '../testing/responder-project.js';
import { stackErrorOf } from '../testing/stack-error.js';

const project = uniqueProjectName('acgs-stackports');
const projectLabel = composeProjectLabel(project);
const front = `${project}_front`;
const back = `${project}_back`;
let responders: ResponderProject | undefined;
let docker: Docker;
let stack: Stack;
let hostPort: number;

const published = (info: Docker.ContainerInspectInfo) => info.NetworkSettings.Ports['8080/tcp']?.map((binding) => `${binding.HostIp}:${binding.HostPort}`);

beforeAll(async () => {
  docker = await requireDockerEngine();
  await docker.createNetwork({ Name: front, Labels: { 'com.docker.compose.project': project } });
  await docker.createNetwork({ Name: back, Labels: { 'com.docker.compose.project': project } });
  hostPort = await unusedLoopbackPort();
  responders = await startResponderProject({
    project,
    docker,
    images: Object.values(RESPONDER_IMAGES),
    replicas: [{ service: 'pub', env: { PORT: '8080' }, network: { name: front, aliases: ['pub'] }, publish: { '8080/tcp': hostPort } }],
  });
  stack = responders.stack;
  await docker.getNetwork(back).connect({ Container: responders.containers[0]!.id, EndpointConfig: { Aliases: ['pub'] } });
}, 60_000);

afterAll(async () => {
  await responders?.close();
  for (const network of [front, back]) await docker?.getNetwork(network).remove().catch(() => undefined);
}, 30_000);

describe('Docker stack: a service that publishes a fixed port', () => {
  it('scales up by publishing the new replica on an ephemeral port, on the same networks with the service alias', async () => {
    const report = await stack.scale('pub', 2, { timeoutMs: 30_000 });
    expect(report.created).toEqual([`${project}-pub-2`]);
    const second = await docker.getContainer(`${project}-pub-2`).inspect();
    const [binding] = published(second)!;
    expect(binding).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(binding).not.toBe(`127.0.0.1:${hostPort}`);
    expect(report.notes).toEqual([`${project}-pub-2 publishes 8080/tcp on ${binding}, because 127.0.0.1:${hostPort} is held by the first replica`]);
    expect(Object.keys(second.NetworkSettings.Networks).sort()).toEqual([back, front].sort());
    for (const network of [front, back]) expect(second.NetworkSettings.Networks[network]!.Aliases).toContain('pub');
    expect(second.State.Health?.Status).toBe('healthy');

    expect((await stack.scale('pub', 1)).removed).toEqual([`${project}-pub-2`]);
  });

  it('recreates it by handing the port over: the old one is stopped, not removed, until the new one is healthy', async () => {
    const old = await docker.getContainer(`${project}-pub-1`).inspect();
    const report = await stack.recreate('pub', RESPONDER_IMAGES.v2, { timeoutMs: 30_000 });
    expect(report.replicas).toEqual([
      expect.objectContaining({ name: `${project}-pub-1`, previousId: old.Id, previousImage: RESPONDER_IMAGES.v1, strategy: 'handover' }),
    ]);
    const now = await docker.getContainer(`${project}-pub-1`).inspect();
    expect(now.Id).not.toBe(old.Id);
    expect(now.Config.Image).toBe(RESPONDER_IMAGES.v2);
    expect(published(now)).toEqual([`127.0.0.1:${hostPort}`]);
    expect(Object.keys(now.NetworkSettings.Networks).sort()).toEqual([back, front].sort());
    await expect(docker.getContainer(old.Id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('starts the old one again and says so when the handed-over replacement never gets healthy', async () => {
    const old = await docker.getContainer(`${project}-pub-1`).inspect();
    const error = await stackErrorOf(stack.recreate('pub', RESPONDER_IMAGES.broken, { timeoutMs: 4000 }));
    expect(error.code).toBe('UNHEALTHY');
    expect(error.message).toContain(`${project}-pub-1 was stopped for the handover and runs ${RESPONDER_IMAGES.v2} again`);
    const now = await docker.getContainer(`${project}-pub-1`).inspect();
    expect(now.Id).toBe(old.Id);
    expect(now.State.Health?.Status).toBe('healthy');
    expect(published(now)).toEqual([`127.0.0.1:${hostPort}`]);
    const pub = await docker.listContainers({ all: true, filters: { label: [projectLabel, 'com.docker.compose.service=pub'] } });
    expect(pub.map((container) => container.Id)).toEqual([old.Id]);
  }, 45_000);
});
