/**
 * `deploy` and `running` of the Docker driver against the real Docker Engine: a release is an
 * image, deployed by recreate; a release directory is for the local stack.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerStack } from '../../services/stack/docker/index.js';
import { EXCLUSIVE_PORT_LABEL } from '../../services/stack/docker/recreate.js';
import type { Stack } from '../../services/stack/stack.js';
import { RESPONDER_IMAGES, servedVersion, startComposeReplica } from '../testing/docker.js';
import { unusedLoopbackPort } from '../testing/loopback.js';
import { TEST_DRIVER_OPTIONS, startResponderProject, uniqueProjectName, type ResponderProject } from '../testing/responder-project.js';
import { startSlowEngineProxy } from '../testing/slow-engine-proxy.js';
import { stackErrorOf } from '../testing/stack-error.js';

const project = uniqueProjectName('acgs-deploy');
let responders: ResponderProject | undefined;
let stack: Stack;

beforeAll(async () => {
  responders = await startResponderProject({ project, images: Object.values(RESPONDER_IMAGES), replicas: [{ service: 'api' }] });
  stack = responders.stack;
}, 60_000);

afterAll(() => responders?.close(), 30_000);

describe('Docker stack: deploy and running', () => {
  it('reads the image the service runs, deploys another one and reports both', async () => {
    expect(await stack.running('api')).toEqual({ kind: 'image', image: RESPONDER_IMAGES.v1 });
    const report = await stack.deploy('api', { kind: 'image', image: RESPONDER_IMAGES.v2 }, { timeoutMs: 30_000 });
    expect(report).toMatchObject({
      service: 'api',
      artifact: { kind: 'image', image: RESPONDER_IMAGES.v2 },
      previous: { kind: 'image', image: RESPONDER_IMAGES.v1 },
      strategy: 'side-by-side',
      unavailableMs: 0,
      health: 'healthy',
    });
    expect(await stack.running('api')).toEqual({ kind: 'image', image: RESPONDER_IMAGES.v2 });
    const [container] = await responders!.docker.listContainers({ filters: { label: [responders!.label] } });
    expect(await servedVersion(responders!.docker, container!.Id)).toBe('2');
  }, 60_000);

  it('fails with UNHEALTHY and keeps the old image when the new one never gets healthy', async () => {
    // Time for the broken image's health check to fail its three retries on a loaded machine (else TIMEOUT).
    const error = await stackErrorOf(stack.deploy('api', { kind: 'image', image: RESPONDER_IMAGES.broken }, { timeoutMs: 8000 }));
    expect(error.code).toBe('UNHEALTHY');
    expect(error.reason).toContain(`still runs ${RESPONDER_IMAGES.v2} and was not changed`);
    expect(await stack.running('api')).toEqual({ kind: 'image', image: RESPONDER_IMAGES.v2 });
  }, 60_000);

  it('refuses a release directory, changing nothing', async () => {
    const error = await stackErrorOf(stack.deploy('api', { kind: 'directory', directory: '/srv/acgs/releases/9.1.0-abcdef0' }));
    expect(error.code).toBe('NOT_SUPPORTED');
    expect(error.message).toBe(
      'The Docker stack runs images, not the release directory /srv/acgs/releases/9.1.0-abcdef0: deploy the release\'s image of api (acgs/api:<version>) here, or deploy the directory on the local stack (npm start)',
    );
    expect(await stack.running('api')).toEqual({ kind: 'image', image: RESPONDER_IMAGES.v2 });
  });

  it('refuses a service the project does not have', async () => {
    expect((await stackErrorOf(stack.running('web'))).code).toBe('SERVICE_UNKNOWN');
  });

  // The vfs storage driver deletes a container's whole filesystem before it answers a removal:
  // longer than the 15 s of an ordinary engine call on a busy disk (bench:deploy).
  it('deploys when the engine answers the old container\'s removal only after 16 s', async () => {
    const proxy = await startSlowEngineProxy({ slow: (method, path) => method === 'DELETE' && path.includes('/containers/'), delayMs: 16_000 });
    const slowStack = createDockerStack({ ...TEST_DRIVER_OPTIONS, dockerHost: proxy.dockerHost, project });
    try {
      const report = await slowStack.deploy('api', { kind: 'image', image: RESPONDER_IMAGES.v1 }, { timeoutMs: 30_000 });
      expect(report).toMatchObject({ artifact: { kind: 'image', image: RESPONDER_IMAGES.v1 }, previous: { kind: 'image', image: RESPONDER_IMAGES.v2 }, unavailableMs: 0 });
      expect(proxy.held).toHaveLength(1);
      const containers = await responders!.docker.listContainers({ all: true, filters: { label: [responders!.label] } });
      expect(containers.map((container) => container.Names)).toEqual([[`/${project}-api-1`]]);
      expect(await servedVersion(responders!.docker, containers[0]!.Id)).toBe('1');
    } finally {
      await slowStack.close();
      await proxy.close();
    }
  }, 60_000);
});

describe('Docker stack: the gap of a handover', () => {
  it("lasts until the new replica answers /health, asked by the driver, not until the engine's next health check", async () => {
    const port = await unusedLoopbackPort();
    const version = () => fetch(`http://127.0.0.1:${port}/version`, { signal: AbortSignal.timeout(2000) }).then((response) => response.text().then((text) => text.trim()), () => 'no answer');
    // Binds exactly its PORT on the host network: replaced by handover. Checked every 15 s, as
    // docker-compose.yml checks the services, so the engine says healthy 15 s after a start.
    await startComposeReplica(responders!.docker, {
      project,
      service: 'solo',
      image: RESPONDER_IMAGES.v1,
      env: { PORT: String(port) },
      labels: { [EXCLUSIVE_PORT_LABEL]: 'exclusive' },
      healthcheck: { Interval: 15_000_000_000 },
    });
    await expect.poll(version, { timeout: 20_000, interval: 100 }).toBe('1');
    const report = await stack.deploy('solo', { kind: 'image', image: RESPONDER_IMAGES.v2 }, { timeoutMs: 60_000 });
    expect(report).toMatchObject({ strategy: 'handover', health: 'healthy', artifact: { kind: 'image', image: RESPONDER_IMAGES.v2 } });
    expect(report.durationMs).toBeGreaterThanOrEqual(15_000);
    // A stop, a start and a busybox httpd: a few seconds at most, half the interval even under load.
    expect(report.unavailableMs).toBeGreaterThan(0);
    expect(report.unavailableMs).toBeLessThan(7_500);
    expect(await version()).toBe('2');
  }, 90_000);
});
