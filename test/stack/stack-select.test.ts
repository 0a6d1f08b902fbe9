/**
 * Choosing the driver: Docker when the real engine answers and the compose project has
 * containers, local otherwise, and ACGS_STACK forcing one.
 */
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectStack } from '../../services/stack/select-stack.js';
import type { Stack } from '../../services/stack/stack.js';
import { RESPONDER_IMAGES, TEST_DOCKER_HOST, removeContainersWithLabel, requireDockerEngine, requireImage, silentDockerHost } from '../testing/docker.js';
import { composeProjectLabel, uniqueProjectName } from '../testing/responder-project.js';
import { stackErrorOf } from '../testing/stack-error.js';

const project = uniqueProjectName('acgs-select');
let docker: Docker;
let downHost: string;

/** A local driver stand-in that records that it was built; the selection never calls it otherwise. */
function localFactory() {
  const calls = { count: 0 };
  const local = { kind: 'local' } as unknown as Stack;
  const build = () => {
    calls.count += 1;
    return local;
  };
  return { calls, build, local };
}

beforeAll(async () => {
  docker = await requireDockerEngine();
  await requireImage(docker, RESPONDER_IMAGES.v1);
  // Created, never started: the project has a container, which is what the selection looks for.
  await docker.createContainer({
    name: `${project}-web-1`,
    Image: RESPONDER_IMAGES.v1,
    Labels: { 'com.docker.compose.project': project, 'com.docker.compose.service': 'web' },
    HostConfig: { NetworkMode: 'none' },
  });
  downHost = await silentDockerHost();
}, 60_000);

afterAll(async () => {
  if (docker) await removeContainersWithLabel(docker, composeProjectLabel(project));
});

describe('selecting the stack driver', () => {
  it('chooses Docker when the engine answers and the compose project has containers', async () => {
    const local = localFactory();
    const { stack, reason } = await selectStack({ env: { DOCKER_HOST: TEST_DOCKER_HOST, COMPOSE_PROJECT_NAME: project }, local: local.build });
    expect(stack.kind).toBe('docker');
    expect(reason).toBe(`compose project ${project} has 1 container(s) on the Docker Engine at ${TEST_DOCKER_HOST}`);
    expect(local.calls.count).toBe(0);
    expect(await stack.services()).toEqual(['web']);
  });

  it('chooses the local processes when the engine answers but the project has no containers', async () => {
    const local = localFactory();
    const { stack, reason } = await selectStack({ env: { DOCKER_HOST: TEST_DOCKER_HOST, COMPOSE_PROJECT_NAME: `${project}-empty` }, local: local.build });
    expect(stack).toBe(local.local);
    expect(reason).toContain(`has no containers of compose project ${project}-empty`);
  });

  it('chooses the local processes when the engine does not answer', async () => {
    const local = localFactory();
    const { stack, reason } = await selectStack({ env: { DOCKER_HOST: downHost }, local: local.build });
    expect(stack).toBe(local.local);
    expect(reason).toBe(`the Docker Engine at ${downHost} does not answer, so the local processes are controlled`);
  });

  it('uses the local processes when ACGS_STACK=local, without asking the engine', async () => {
    const local = localFactory();
    const { stack, reason } = await selectStack({ env: { ACGS_STACK: 'local', DOCKER_HOST: TEST_DOCKER_HOST, COMPOSE_PROJECT_NAME: project }, local: local.build });
    expect(stack).toBe(local.local);
    expect(reason).toBe('ACGS_STACK=local');
  });

  it('uses Docker when ACGS_STACK=docker even before the project has containers', async () => {
    const local = localFactory();
    const { stack, reason } = await selectStack({ env: { ACGS_STACK: 'docker', DOCKER_HOST: TEST_DOCKER_HOST, COMPOSE_PROJECT_NAME: `${project}-empty` }, local: local.build });
    expect(stack.kind).toBe('docker');
    expect(reason).toBe(`ACGS_STACK=docker (compose project ${project}-empty has no containers yet)`);
    expect(local.calls.count).toBe(0);
  });

  it('fails with what to do when ACGS_STACK=docker and the engine does not answer', async () => {
    const local = localFactory();
    const error = await stackErrorOf(selectStack({ env: { ACGS_STACK: 'docker', DOCKER_HOST: downHost }, local: local.build }));
    expect(error.code).toBe('ENGINE_DOWN');
    expect(error.message).toContain(`The Docker Engine at ${downHost} does not answer`);
    expect(error.message).toContain('scripts/provision.sh');
    expect(local.calls.count).toBe(0);
  });

  it.each(['podman', 'Docker ', 'local;docker'])('refuses ACGS_STACK=%j, naming the accepted values', async (value) => {
    const local = localFactory();
    const error = await stackErrorOf(selectStack({ env: { ACGS_STACK: value, DOCKER_HOST: TEST_DOCKER_HOST }, local: local.build }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('ACGS_STACK must be local, docker or swarm');
    expect(local.calls.count).toBe(0);
  });

  it('refuses a DOCKER_HOST that is not an engine address', async () => {
    const error = await stackErrorOf(selectStack({ env: { DOCKER_HOST: 'ssh://user@host' }, local: localFactory().build }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('DOCKER_HOST=ssh://user@host uses ssh:');
  });
});
