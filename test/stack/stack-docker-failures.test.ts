/**
 * The Docker driver's recreate (another image tag, one replica at a time) and its failure paths
 * against the real Docker Engine: an image that never gets healthy, a missing image, a container
 * killed or removed mid-restart, and an engine that does not answer.
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerStack } from '../../services/stack/docker/index.js';
import type { Stack } from '../../services/stack/stack.js';
import { RESPONDER_IMAGES, requireDockerEngine, requireImage, servedVersion, silentDockerHost, waitForContainer, waitForLogLine, watchContainerCreations, watchContainerEvents, type ContainerEvent } from '../testing/docker.js';
import { composeProjectLabel, startResponderProject, uniqueProjectName, type ResponderProject } from '../testing/responder-project.js';
import { stackErrorOf } from '../testing/stack-error.js';

const project = uniqueProjectName('acgs-stackfail');
const projectLabel = composeProjectLabel(project);
const ghostTag = `acgs-test/responder:ghost-${randomBytes(3).toString('hex')}`;
let responders: ResponderProject | undefined;
let docker: Docker;
let stack: Stack;

const containerNamed = (name: string) => docker.getContainer(name).inspect();
/**
 * Long enough for the broken image's health check to fail its three retries (0.5 s apart) on a
 * loaded machine: before that the driver can only say TIMEOUT, not UNHEALTHY.
 */
const UNHEALTHY_WITHIN_MS = 8000;
/** How long a replica killed or removed mid-restart takes to get healthy; the project's start waits for it once. */
const MID_RESTART_WINDOW_S = 12;

beforeAll(async () => {
  docker = await requireDockerEngine();
  await requireImage(docker, RESPONDER_IMAGES.v1);
  // A tag that the ghost service is created from and that is then deleted: its image is "missing".
  await docker.getImage(RESPONDER_IMAGES.v1).tag({ repo: ghostTag.split(':')[0]!, tag: ghostTag.split(':')[1]! });
  // Slow to become healthy, so the test can act between the restart and the health.
  const slow = { image: RESPONDER_IMAGES.v1, env: { RESPONDER_START_DELAY: '2' } };
  // The replicas a test kills or removes mid-restart: the test must get there before they are
  // healthy, which on a loaded machine can take seconds after their start.
  const slower = { image: RESPONDER_IMAGES.v1, env: { RESPONDER_START_DELAY: String(MID_RESTART_WINDOW_S) } };
  responders = await startResponderProject({
    project,
    docker,
    images: Object.values(RESPONDER_IMAGES),
    replicas: [
      { service: 'api', env: { GREETING: 'kept' } },
      { ...slow, service: 'slow', number: 1 },
      { ...slower, service: 'slow', number: 2 },
      { ...slower, service: 'doomed' },
      { service: 'ghost', image: ghostTag },
    ],
  });
  await docker.getImage(ghostTag).remove();
  stack = responders.stack;
}, 60_000);

afterAll(async () => {
  await responders?.close();
  await docker?.getImage(ghostTag).remove().catch(() => undefined);
}, 30_000);

describe('Docker stack: recreate from another image tag', () => {
  it('replaces the replica with one from the new tag, keeping the old running until the new one is healthy', async () => {
    const old = await containerNamed(`${project}-api-1`);
    // The engine's own events, in its order: the new replica must report healthy before the old one
    // is stopped (sampling the engine's state every 50 ms could miss that moment on a fast machine).
    const watch = await watchContainerEvents(docker, [projectLabel, 'com.docker.compose.service=api']);
    let report;
    let events: ContainerEvent[];
    try {
      report = await stack.recreate('api', RESPONDER_IMAGES.v2, { timeoutMs: 30_000 });
      const newId = report.replicas[0]!.id;
      events = await watch.until((seen) => seen.some((event) => event.id === old.Id && event.action === 'destroy') && seen.some((event) => event.id === newId && event.action === 'health_status: healthy'));
    } finally {
      watch.stop();
    }
    expect(report.replicas).toEqual([
      { name: `${project}-api-1`, previousId: old.Id, id: expect.not.stringMatching(old.Id), previousImage: RESPONDER_IMAGES.v1, strategy: 'side-by-side', unavailableMs: 0 },
    ]);
    const newHealthy = events.findIndex((event) => event.id === report.replicas[0]!.id && event.action === 'health_status: healthy');
    const oldStopping = events.findIndex((event) => event.id === old.Id && ['kill', 'stop', 'die'].includes(event.action));
    expect(oldStopping, JSON.stringify(events)).toBeGreaterThan(-1);
    expect(newHealthy, JSON.stringify(events)).toBeGreaterThan(-1);
    expect(newHealthy, JSON.stringify(events)).toBeLessThan(oldStopping);

    const now = await containerNamed(`${project}-api-1`);
    expect(now.Id).toBe(report.replicas[0]!.id);
    expect(now.Config.Image).toBe(RESPONDER_IMAGES.v2);
    expect(now.State.Health?.Status).toBe('healthy');
    expect(now.Config.Labels['com.docker.compose.container-number']).toBe('1');
    // What compose set is kept; what the old image defaulted comes from the new image now.
    expect(now.Config.Env).toContain('GREETING=kept');
    expect(now.Config.Env).toContain('RESPONDER_VERSION=2');
    expect(await servedVersion(docker, now.Id)).toBe('2');
    await expect(docker.getContainer(old.Id).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });

  it('leaves the old replica running and says so when the new tag never becomes healthy', async () => {
    const before = await containerNamed(`${project}-api-1`);
    const error = await stackErrorOf(stack.recreate('api', RESPONDER_IMAGES.broken, { timeoutMs: UNHEALTHY_WITHIN_MS }));
    expect(error.code).toBe('UNHEALTHY');
    expect(error.message).toContain(`The new ${project}-api-1 from ${RESPONDER_IMAGES.broken} did not take over`);
    expect(error.message).toContain('health check still fails after 8 s; last health check exited 1');
    expect(error.message).toContain(`${project}-api-1 still runs ${RESPONDER_IMAGES.v2} and was not changed`);
    expect(error.done).toEqual(['removed the new container']);

    const after = await containerNamed(`${project}-api-1`);
    expect(after.Id).toBe(before.Id);
    expect(after.State.StartedAt).toBe(before.State.StartedAt);
    expect(after.State.Health?.Status).toBe('healthy');
    const api = await docker.listContainers({ all: true, filters: { label: [projectLabel, 'com.docker.compose.service=api'] } });
    expect(api.map((container) => container.Id)).toEqual([before.Id]);
  });

  it('refuses an image the engine does not have before creating anything', async () => {
    const before = await containerNamed(`${project}-api-1`);
    const watch = await watchContainerCreations(docker, projectLabel);
    const error = await stackErrorOf(stack.recreate('api', 'acgs-test/responder:does-not-exist'));
    expect(await watch.stop()).toEqual([]);
    expect(error.code).toBe('IMAGE_MISSING');
    expect(error.message).toContain('The image acgs-test/responder:does-not-exist is not in the Docker Engine');
    expect(error.message).toContain(`Nothing was changed: ${project}-api-1 still run ${RESPONDER_IMAGES.v2}`);
    expect((await containerNamed(`${project}-api-1`)).Id).toBe(before.Id);
  });

  it.each(['bad image!', '', '-rm', 'a'.repeat(300)])('refuses %j as an image reference', async (image) => {
    const error = await stackErrorOf(stack.recreate('api', image));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('is not an image reference');
  });

  it('says the image is missing when a scale-up would clone a replica whose image tag is gone', async () => {
    const error = await stackErrorOf(stack.scale('ghost', 2, { timeoutMs: 10_000 }));
    expect(error.code).toBe('IMAGE_MISSING');
    expect(error.message).toContain(`The image ${ghostTag} is not in the Docker Engine`);
    expect(error.message).toContain(`${project}-ghost-2 was not created`);
    expect(error.message.match(/Not done:/g)).toHaveLength(1);
    const ghosts = await docker.listContainers({ all: true, filters: { label: [projectLabel, 'com.docker.compose.service=ghost'] } });
    expect(ghosts).toHaveLength(1);
  });
});

describe('Docker stack: a container lost during a restart', () => {
  it('stops waiting when a replica is killed mid-restart and says which replicas were restarted', async () => {
    const second = await containerNamed(`${project}-slow-2`);
    const restart = stackErrorOf(stack.restart('slow', { timeoutMs: 30_000 }));
    // Kill replica 2 as soon as its restart has started it again (it needs MID_RESTART_WINDOW_S to get healthy)
    // and its process has said so: the message below quotes that line.
    await waitForContainer(docker, second.Id, (info) => info.State.Running && info.State.StartedAt !== second.State.StartedAt, 30_000);
    await waitForLogLine(docker, second.Id, 'Responder version 1 starting', 'Responder stopping');
    await docker.getContainer(second.Id).kill();
    const error = await restart;
    expect(error.code).toBe('PARTIAL');
    expect(error.message).toContain(`${project}-slow-2 stopped (exit code 137) instead of becoming healthy`);
    expect(error.message).toMatch(/its last log lines: .*Responder stopping \| Responder version 1 starting\b/);
    expect(error.done).toEqual([`restarted ${project}-slow-1 (healthy)`]);
    expect(error.message.match(/Done:/g)).toHaveLength(1);
    expect((await containerNamed(`${project}-slow-1`)).State.Health?.Status).toBe('healthy');
  }, 60_000);

  it('reports a replica removed while it restarts as missing, not as a timeout', async () => {
    const doomed = await containerNamed(`${project}-doomed-1`);
    const restart = stackErrorOf(stack.restart('doomed', { timeoutMs: 30_000 }));
    await waitForContainer(docker, doomed.Id, (info) => info.State.Running && info.State.StartedAt !== doomed.State.StartedAt, 30_000);
    await docker.getContainer(doomed.Id).remove({ force: true });
    // From the removal, not the restart: how long the engine takes to stop and start it is not the point.
    const removed = Date.now();
    const error = await restart;
    expect(error.code).toBe('CONTAINER_MISSING');
    expect(error.message).toContain(`${project}-doomed-1 was removed while waiting for it to become healthy`);
    expect(Date.now() - removed).toBeLessThan(15_000);
  }, 60_000);
});

describe('Docker stack: the engine does not answer', () => {
  let down: Stack;
  let downHost: string;

  beforeAll(async () => {
    downHost = await silentDockerHost();
    down = createDockerStack({ dockerHost: downHost, project });
  });
  afterAll(() => down?.close());

  it.each([
    ['list', () => down.list()],
    ['restart', () => down.restart('api')],
    ['scale', () => down.scale('api', 2)],
    ['logs', () => down.logs('api')],
    ['stats', () => down.stats()],
    ['exec', () => down.exec('api', 'meminfo')],
    ['recreate', () => down.recreate('api', RESPONDER_IMAGES.v2)],
  ])('%s says the engine is down, where, and how to bring it up', async (_operation, run) => {
    const error = await stackErrorOf(run());
    expect(error.code).toBe('ENGINE_DOWN');
    expect(error.message).toContain(`The Docker Engine at ${downHost} does not answer`);
    expect(error.message).toContain('scripts/provision.sh starts dockerd');
    expect(error.message).toContain('ACGS_STACK=local');
  });

  it.each([
    ['a malformed service name', () => down.restart('../api; rm -rf /'), 'SERVICE_UNKNOWN'],
    ['a bad replica count', () => down.scale('api', 0), 'INVALID_ARGUMENT'],
    ['a command off the allow list', () => down.exec('api', 'sh -c id' as never), 'INVALID_ARGUMENT'],
    ['a bad logs tail', () => down.logs('api', { tail: -5 }), 'INVALID_ARGUMENT'],
    ['a bad timeout', () => down.restart('api', { timeoutMs: -1 }), 'INVALID_ARGUMENT'],
    ['a bad image reference', () => down.recreate('api', 'no spaces allowed'), 'INVALID_ARGUMENT'],
  ])('refuses %s before calling the engine at all', async (_what, run, code) => {
    // The engine is down: had the input reached it, the answer would be ENGINE_DOWN.
    expect((await stackErrorOf(run())).code).toBe(code);
  });
});
