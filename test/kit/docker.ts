import Docker from 'dockerode';

/** The engine the tests use: DOCKER_HOST when set, else the default socket. */
export const TEST_DOCKER_HOST = process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';

function dockerFor(host: string): Docker {
  const url = new URL(host);
  return url.protocol === 'unix:'
    ? new Docker({ socketPath: url.pathname, host: undefined, timeout: 30_000 })
    : new Docker({ host: url.hostname, port: url.port || '2375', protocol: 'http', timeout: 30_000 });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The real Docker Engine, or a failure that says how to get one. Tests never skip: the test command
 * provisions the engine (scripts/provision.sh). Polls for a while because provisioning may still be
 * starting dockerd when the suite begins.
 */
export async function requireDockerEngine(options: { waitMs?: number } = {}): Promise<Docker> {
  const docker = dockerFor(TEST_DOCKER_HOST);
  const deadline = Date.now() + (options.waitMs ?? Number(process.env.TEST_DOCKER_WAIT_MS || 30_000));
  let lastError: unknown;
  for (;;) {
    try {
      await docker.info();
      return docker;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) break;
    await sleep(1000);
  }
  throw new Error(
    `The Docker Engine at ${TEST_DOCKER_HOST} does not answer (${(lastError as Error).message}); ` +
      'run scripts/provision.sh or npm test, which provision it (Debian docker.io, dockerd with vfs storage)',
  );
}

/** Fails with the command that builds the image when the engine does not have it (there is no registry). */
export async function requireImage(docker: Docker, image: string): Promise<void> {
  try {
    await docker.getImage(image).inspect();
  } catch (error) {
    throw new Error(
      `The image ${image} is not in the Docker Engine (${(error as Error).message}); build it with scripts/build-test-images.sh`,
    );
  }
}

/** Names of the runtimes the engine has registered (`docker info` Runtimes). */
export async function engineRuntimes(docker: Docker): Promise<string[]> {
  const info = (await docker.info()) as { Runtimes?: Record<string, unknown> };
  return Object.keys(info.Runtimes ?? {});
}

/** Whether gVisor is registered and really runs a container here (some kernels cannot host it). */
export async function runscWorks(docker: Docker, image: string): Promise<boolean> {
  if (!(await engineRuntimes(docker)).includes('runsc')) return false;
  let container: Docker.Container | undefined;
  try {
    container = await docker.createContainer({
      Image: image,
      Entrypoint: ['sh', '-c'],
      Cmd: ['echo ok'],
      Labels: { 'acgs.test': 'runsc-probe' },
      HostConfig: { Runtime: 'runsc', NetworkMode: 'none', LogConfig: { Type: 'json-file', Config: {} } },
    });
    await container.start();
    const exit = (await container.wait()) as { StatusCode: number };
    const logs = (await container.logs({ stdout: true, stderr: false })).toString('utf8');
    return exit.StatusCode === 0 && logs.includes('ok');
  } catch {
    return false;
  } finally {
    await container?.remove({ force: true }).catch(() => undefined);
  }
}

/** Every container (running or not) carrying the label, e.g. `acgs.sandbox.agent_id=agent-1`. */
export async function containersWithLabel(docker: Docker, label: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [label] } });
}

/** Force-removes every container carrying the label; for afterAll, also after a failure. */
export async function removeContainersWithLabel(docker: Docker, label: string): Promise<number> {
  const containers = await containersWithLabel(docker, label);
  await Promise.all(containers.map((container) => docker.getContainer(container.Id).remove({ force: true }).catch(() => undefined)));
  return containers.length;
}

export interface CreationWatch {
  /** Stops watching and returns the ids of containers created with the label meanwhile. */
  stop(): Promise<string[]>;
}

/**
 * Records container creations carrying the label(s) from now on, from the engine's event stream, so a
 * test can prove that nothing was even created (a listing afterwards would miss a container that
 * was created and already removed).
 */
export async function watchContainerCreations(docker: Docker, labels: string | string[]): Promise<CreationWatch> {
  const stream = (await docker.getEvents({
    // Several labels: a container must carry all of them.
    filters: { type: ['container'], event: ['create'], label: Array.isArray(labels) ? labels : [labels] },
  })) as NodeJS.ReadableStream & { destroy(): void };
  const created: string[] = [];
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line) created.push((JSON.parse(line) as { id?: string; Actor?: { ID?: string } }).Actor?.ID ?? 'unknown');
    }
  });
  stream.on('error', () => undefined);
  return {
    async stop() {
      // Events are delivered asynchronously; a short pause lets a late one arrive.
      await sleep(300);
      stream.destroy();
      return created;
    },
  };
}
