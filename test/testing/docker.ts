import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { unusedLoopbackPort } from './loopback.js';

const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/**
 * The engine address tests may use: a unix socket, or tcp:// on 127.0.0.1 or [::1]. Anything else
 * throws, so that a DOCKER_HOST left pointing at a remote engine never carries test traffic (and
 * the code under test) off this machine. Unset or empty: the default socket.
 */
export function loopbackDockerHost(value: string | undefined): string {
  if (!value) return DEFAULT_DOCKER_HOST;
  const refuse = (why: string) =>
    new Error(
      `DOCKER_HOST=${value} is not allowed in tests (${why}); use a unix:// socket or tcp://127.0.0.1:<port> / tcp://[::1]:<port>, or unset it`,
    );
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw refuse('not a URL');
  }
  if (url.protocol === 'unix:') {
    if (url.host !== '' || url.pathname === '' || url.pathname === '/') throw refuse('a unix socket needs an absolute path: unix:///path/to.sock');
    return value;
  }
  if (url.protocol !== 'tcp:') throw refuse(`scheme ${url.protocol} is neither unix: nor tcp:`);
  if (url.hostname !== '127.0.0.1' && url.hostname !== '[::1]') throw refuse(`host ${url.hostname || '(none)'} is not loopback`);
  if (url.username || url.password || (url.pathname !== '' && url.pathname !== '/') || url.search || url.hash) {
    throw refuse('only tcp://host:port is accepted');
  }
  return value;
}

/** The engine the tests use: DOCKER_HOST when it is on this machine (see loopbackDockerHost), else the default socket. */
export const TEST_DOCKER_HOST = loopbackDockerHost(process.env.DOCKER_HOST);

function dockerFor(host: string): Docker {
  const url = new URL(host);
  return url.protocol === 'unix:'
    ? new Docker({ socketPath: url.pathname, host: undefined, timeout: 30_000 })
    : // URL keeps the brackets of an IPv6 host; the socket layer wants the bare address.
      new Docker({ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port || '2375', protocol: 'http', timeout: 30_000 });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A DOCKER_HOST on loopback where no engine answers: every call through it meets an engine that is down. */
export async function silentDockerHost(): Promise<string> {
  return `tcp://127.0.0.1:${await unusedLoopbackPort()}`;
}

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
      'run scripts/provision.sh or npm test, which provision it (Debian docker.io, dockerd on overlay2, else vfs)',
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

/**
 * Whether the runsc suites should run: false only when the engine has no runtime named runsc.
 * Registered but failing its probe container is a broken engine, not an absent feature, so it
 * throws: silently dropping the gVisor suites (and expecting runc from auto-selection) would be a
 * skip in disguise.
 */
export async function runscWorks(docker: Docker, image: string): Promise<boolean> {
  if (!(await engineRuntimes(docker)).includes('runsc')) return false;
  let container: Docker.Container | undefined;
  let failure: string;
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
    const stdout = (await container.logs({ stdout: true, stderr: false })).toString('utf8');
    if (exit.StatusCode === 0 && stdout.includes('ok')) return true;
    const stderr = (await container.logs({ stdout: false, stderr: true })).toString('utf8');
    failure = `it exited ${exit.StatusCode}; stdout ${JSON.stringify(stdout.slice(0, 200))}, stderr ${JSON.stringify(stderr.slice(0, 300))}`;
  } catch (error) {
    failure = (error as Error).message;
  } finally {
    await container?.remove({ force: true }).catch(() => undefined);
  }
  throw new Error(
    `The Docker Engine lists a runsc (gVisor) runtime, but a probe container under it with ${image} failed: ${failure}. ` +
      'Fix gVisor on this host, or remove runsc from /etc/docker/daemon.json and restart dockerd; ' +
      'the runsc tests do not silently fall back to runc.',
  );
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

export interface ContainerEvent {
  id: string;
  /** The engine's action: create, start, kill, die, stop, destroy, "health_status: healthy", ... */
  action: string;
}

export interface ContainerEventWatch {
  /** Resolves with every event so far, in the engine's order, once `done` holds for them. */
  until(done: (events: ContainerEvent[]) => boolean, timeoutMs?: number): Promise<ContainerEvent[]>;
  stop(): void;
}

/**
 * Records the engine's container events for containers carrying all the labels, in the order the
 * engine emits them: what happened before what, without sampling the engine's state and missing
 * a moment between two polls.
 */
export async function watchContainerEvents(docker: Docker, labels: string[]): Promise<ContainerEventWatch> {
  const stream = (await docker.getEvents({ filters: { type: ['container'], label: labels } })) as NodeJS.ReadableStream & { destroy(): void };
  const events: ContainerEvent[] = [];
  const waiters = new Set<() => void>();
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (!line) continue;
      const event = JSON.parse(line) as { Action?: string; status?: string; Actor?: { ID?: string }; id?: string };
      events.push({ id: event.Actor?.ID ?? event.id ?? 'unknown', action: event.Action ?? event.status ?? 'unknown' });
    }
    for (const wake of waiters) wake();
  });
  stream.on('error', () => undefined);
  return {
    until(done, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!done(events)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve([...events]);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`the engine's events did not show what was awaited within ${timeoutMs} ms: ${JSON.stringify(events)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop: () => stream.destroy(),
  };
}

/** The stack tests' images (scripts/build-test-images.sh): a busybox HTTP health responder under three tags. */
export const RESPONDER_IMAGES = {
  v1: 'acgs-test/responder:1',
  v2: 'acgs-test/responder:2',
  broken: 'acgs-test/responder:broken',
} as const;

/** The responder's health check, as compose would set it from a service's `healthcheck:`; fast so tests stay short. */
export const RESPONDER_HEALTHCHECK = {
  Test: ['CMD-SHELL', 'wget -q -O /dev/null http://127.0.0.1:$(cat /tmp/port)/health'],
  Interval: 500_000_000,
  Timeout: 2_000_000_000,
  Retries: 3,
  StartPeriod: 0,
};

export interface ComposeReplicaOptions {
  project: string;
  service: string;
  image: string;
  number?: number;
  /** Container name; default `<project>-<service>-<number>`. */
  name?: string;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  /** Default true: the responder's health check; an object changes some of its fields (an Interval, ...). */
  healthcheck?: boolean | Partial<typeof RESPONDER_HEALTHCHECK>;
  /** A user-defined network to join (with these aliases) instead of the host's network. */
  network?: { name: string; aliases?: string[] };
  /** Published ports, container port (`8080/tcp`) to a 127.0.0.1 host port; needs `network`. */
  publish?: Record<string, number>;
  /** A memory limit, as compose's `mem_limit` sets one: `stats` measures the replica against it. */
  memoryBytes?: number;
}

/**
 * Creates and starts one container labelled as compose labels a service replica, on the host's
 * network (the responder binds 127.0.0.1 only) unless a network is given. Cleanup:
 * removeContainersWithLabel on the project label.
 */
export async function startComposeReplica(docker: Docker, options: ComposeReplicaOptions): Promise<Docker.Container> {
  const number = options.number ?? 1;
  const container = await docker.createContainer({
    name: options.name ?? `${options.project}-${options.service}-${number}`,
    Image: options.image,
    Env: Object.entries(options.env ?? {}).map(([key, value]) => `${key}=${value}`),
    Labels: {
      'com.docker.compose.project': options.project,
      'com.docker.compose.service': options.service,
      'com.docker.compose.container-number': String(number),
      'com.docker.compose.oneoff': 'False',
      ...options.labels,
    },
    ...(options.healthcheck === false ? {} : { Healthcheck: { ...RESPONDER_HEALTHCHECK, ...(options.healthcheck === true ? {} : options.healthcheck) } }),
    HostConfig: {
      NetworkMode: options.network?.name ?? 'host',
      LogConfig: { Type: 'json-file', Config: {} },
      ...(options.memoryBytes ? { Memory: options.memoryBytes } : {}),
      ...(options.publish
        ? {
            PortBindings: Object.fromEntries(
              Object.entries(options.publish).map(([containerPort, hostPort]) => [containerPort, [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }]]),
            ),
          }
        : {}),
    },
    ...(options.publish ? { ExposedPorts: Object.fromEntries(Object.keys(options.publish).map((port) => [port, {}])) } : {}),
    ...(options.network ? { NetworkingConfig: { EndpointsConfig: { [options.network.name]: { Aliases: options.network.aliases ?? [] } } } } : {}),
  });
  await container.start();
  return container;
}

/** Polls `inspect` until the predicate holds; fails with the last state when it does not in time. */
export async function waitForContainer(
  docker: Docker,
  id: string,
  predicate: (info: Docker.ContainerInspectInfo) => boolean,
  timeoutMs = 20_000,
): Promise<Docker.ContainerInspectInfo> {
  const deadline = Date.now() + timeoutMs;
  let info = await docker.getContainer(id).inspect();
  while (!predicate(info)) {
    if (Date.now() > deadline) {
      throw new Error(`container ${info.Name} did not reach the expected state within ${timeoutMs} ms: ${JSON.stringify(info.State).slice(0, 500)}`);
    }
    await sleep(200);
    info = await docker.getContainer(id).inspect();
  }
  return info;
}

/**
 * Waits until the container's log, after the last occurrence of `after`, contains `line`: a
 * process that is running is not yet one that has said what it does on start.
 */
export async function waitForLogLine(docker: Docker, id: string, line: string, after: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // Multiplexed frames carry 8-byte binary headers; the text between them is searched as is.
    const log = (await docker.getContainer(id).logs({ stdout: true, stderr: true, follow: false })).toString('utf8');
    const from = log.lastIndexOf(after);
    if (from >= 0 && log.indexOf(line, from + after.length) >= 0) return;
    if (Date.now() > deadline) throw new Error(`container ${id.slice(0, 12)} did not log "${line}" after "${after}" within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export const isHealthy = (info: Docker.ContainerInspectInfo) => info.State.Running && (info.State.Health?.Status ?? 'healthy') === 'healthy';

/** Runs a command in a container directly through the engine (not through the code under test); its output, trimmed. */
export async function execOutput(docker: Docker, container: string, cmd: string[]): Promise<string> {
  const exec = await docker.getContainer(container).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => chunks.push(chunk));
  docker.modem.demuxStream(stream, sink, sink);
  await new Promise((resolve) => stream.once('end', resolve));
  return Buffer.concat(chunks).toString('utf8').trim();
}

/** The version a responder replica serves, asked on the port it took (it writes that to /tmp/port). */
export async function servedVersion(docker: Docker, container: string): Promise<string> {
  const port = await execOutput(docker, container, ['cat', '/tmp/port']);
  const response = await fetch(`http://127.0.0.1:${port}/version`, { signal: AbortSignal.timeout(3000) });
  return (await response.text()).trim();
}
