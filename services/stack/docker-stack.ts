/**
 * The Stack port over the Docker Engine API: the containers of one compose project, found by
 * compose's labels, controlled the way the runbook does with docker-compose and docker exec,
 * without shelling out.
 */
import { Readable, Writable } from 'node:stream';
import type Docker from 'dockerode';
import { CappedOutput } from '../kit/capped-output.js';
import { engineErrorText, engineStatusCode, isConnectionError, isNotFound } from '../kit/docker-engine.js';
import { COMPOSE_LABELS, DEFAULT_COMPOSE_PROJECT, replicaName, replicaNumber } from './compose-labels.js';
import { planClone, type MovedPort } from './container-clone.js';
import { DEFAULT_DOCKER_HOST, dockerClient, engineDown } from './docker-engine.js';
import { usageFromEngineStats, type EngineStatsSample } from './engine-stats.js';
import { DEFAULT_EXEC_TIMEOUT_MS, EXEC_COMMANDS, MAX_EXEC_OUTPUT_BYTES } from './exec-commands.js';
import { parseDockerLogText, selectLogLines, type TimedLine } from './log-lines.js';
import { createOperationGuard } from './operation-guard.js';
import {
  normalizeLogsOptions,
  requireExecCommand,
  requireKnownService,
  requireReplicaCount,
  requireServiceName,
  requireTimeout,
} from './stack-checks.js';
import {
  LOG_SCAN_LINES,
  StackError,
  serviceHealthOf,
  uptimeSeconds,
  type ContainerStats,
  type ExecResult,
  type RecreateReport,
  type RecreatedReplica,
  type Replica,
  type ReplicaHealth,
  type ReplicaState,
  type RestartOptions,
  type RestartReport,
  type RestartedReplica,
  type ScaleReport,
  type ServiceHealth,
  type ServiceStatus,
  type SkippedStats,
  type Stack,
} from './stack.js';

export interface DockerStackOptions {
  /** Engine address; default DOCKER_HOST, else the default socket. */
  dockerHost?: string;
  /** Compose project; default `acgs`. */
  project?: string;
  /** Grace period before a stopped container is killed (docker stop -t); default 10 s. */
  stopTimeoutSeconds?: number;
  /** How often health is polled while waiting; default 250 ms. */
  pollIntervalMs?: number;
}

const DEFAULT_WAIT_MS = 60_000;
const IMAGE_REFERENCE = /^[a-zA-Z0-9][a-zA-Z0-9._\-/:@]{0,254}$/;

const nameOf = (info: { Name: string }) => info.Name.replace(/^\//, '');
const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

function stateOf(info: Docker.ContainerInspectInfo): ReplicaState {
  const status = info.State.Status as ReplicaState;
  return ['created', 'running', 'restarting', 'paused', 'exited', 'dead', 'removing'].includes(status) ? status : 'exited';
}

function healthOf(info: Docker.ContainerInspectInfo): ReplicaHealth {
  if (!info.State.Running) return 'none';
  const status = info.State.Health?.Status;
  return status === 'healthy' || status === 'unhealthy' || status === 'starting' ? status : 'none';
}

function lastHealthOutput(info: Docker.ContainerInspectInfo): string {
  const log = info.State.Health?.Log ?? [];
  const last = log[log.length - 1];
  if (!last) return '';
  const output = last.Output.trim().replace(/\s+/g, ' ').slice(0, 300);
  return `; last health check exited ${last.ExitCode}${output ? `: ${output}` : ''}`;
}

function replicaOf(info: Docker.ContainerInspectInfo, now: number): Replica {
  const running = info.State.Running;
  const startedAt = running ? new Date(info.State.StartedAt).toISOString() : null;
  return {
    id: info.Id,
    name: nameOf(info),
    number: replicaNumber(info.Config.Labels),
    state: stateOf(info),
    health: healthOf(info),
    image: info.Config.Image,
    startedAt,
    uptimeSeconds: uptimeSeconds(startedAt, now),
    restarts: info.RestartCount,
  };
}

/** Oldest replica first: by compose number, then creation time. */
function byNumber(a: Docker.ContainerInspectInfo, b: Docker.ContainerInspectInfo): number {
  return replicaNumber(a.Config.Labels) - replicaNumber(b.Config.Labels) || Date.parse(a.Created) - Date.parse(b.Created);
}

/**
 * Tells the caller a replica is back. Its failure is the caller's (a command's progress reports its
 * own and never throws): the restart goes on with the next replica, as it would with no callback.
 */
async function tellReplicaRestarted(
  callback: RestartOptions['onReplicaRestarted'],
  replica: RestartedReplica,
  position: { index: number; total: number },
): Promise<void> {
  try {
    await callback?.(replica, position);
  } catch {
    // Deliberately dropped: see above.
  }
}

/** Demultiplexes a non-TTY log or exec body into its two streams. */
async function demux(docker: Docker, body: Buffer): Promise<{ stdout: string; stderr: string }> {
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  const sink = (into: Buffer[]) =>
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        into.push(Buffer.from(chunk));
        callback();
      },
    });
  const source = Readable.from([body]);
  const ended = new Promise<void>((resolve, reject) => source.once('end', resolve).once('error', reject));
  docker.modem.demuxStream(source, sink(chunks.stdout), sink(chunks.stderr));
  await ended;
  return { stdout: Buffer.concat(chunks.stdout).toString('utf8'), stderr: Buffer.concat(chunks.stderr).toString('utf8') };
}

export function createDockerStack(options: DockerStackOptions = {}): Stack {
  const host = options.dockerHost || process.env.DOCKER_HOST || DEFAULT_DOCKER_HOST;
  const docker = dockerClient(host);
  const project = options.project ?? DEFAULT_COMPOSE_PROJECT;
  const stopTimeout = options.stopTimeoutSeconds ?? 10;
  const pollMs = options.pollIntervalMs ?? 250;
  const where = `compose project "${project}" on ${host}`;
  const guard = createOperationGuard();

  /** Runs an engine call; an unreachable engine becomes ENGINE_DOWN, saying what was not done. */
  async function engine<T>(call: () => Promise<T>, notDone?: string[]): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof StackError) throw error;
      if (isConnectionError(error)) throw engineDown(host, error, notDone);
      throw error;
    }
  }

  async function projectContainers(): Promise<Docker.ContainerInfo[]> {
    const containers = await engine(() =>
      docker.listContainers({ all: true, filters: { label: [`${COMPOSE_LABELS.project}=${project}`] } }),
    );
    // `docker-compose run` one-off containers are not replicas.
    return containers.filter((container) => container.Labels[COMPOSE_LABELS.oneoff] !== 'True' && container.Labels[COMPOSE_LABELS.service]);
  }

  const serviceNames = (containers: Docker.ContainerInfo[]) =>
    [...new Set(containers.map((container) => container.Labels[COMPOSE_LABELS.service]!))].sort();

  async function inspect(id: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await engine(() => docker.getContainer(id).inspect());
    } catch (error) {
      if (isNotFound(error)) return undefined; // removed between listing and inspecting
      throw error;
    }
  }

  /** The service's replicas, inspected, oldest first; refuses a service the project does not have. */
  async function serviceReplicas(service: string): Promise<Docker.ContainerInspectInfo[]> {
    requireServiceName(service);
    const containers = await projectContainers();
    requireKnownService(service, serviceNames(containers), where);
    const mine = containers.filter((container) => container.Labels[COMPOSE_LABELS.service] === service);
    const inspected = await Promise.all(mine.map((container) => inspect(container.Id)));
    return inspected.filter((info): info is Docker.ContainerInspectInfo => info !== undefined).sort(byNumber);
  }

  /** The replica's own words, for a failure message; empty when they cannot be read. */
  async function lastLogLines(info: Docker.ContainerInspectInfo, count = 5): Promise<string> {
    try {
      const lines = (await replicaLogLines(info, count, undefined)).slice(-count).map((line) => line.text.trim()).filter(Boolean);
      return lines.length > 0 ? `; its last log lines: ${lines.join(' | ').slice(0, 600)}` : '';
    } catch {
      return '';
    }
  }

  /** The last `tail` lines of each stream of one replica, with their times, in time order. */
  async function replicaLogLines(info: Docker.ContainerInspectInfo, tail: number, since: string | undefined): Promise<TimedLine[]> {
    const name = nameOf(info);
    const body = (await engine(() =>
      docker.getContainer(info.Id).logs({
        stdout: true,
        stderr: true,
        timestamps: true,
        follow: false,
        tail,
        // The engine takes fractional seconds ("1700000000.250"); the typings say number.
        ...(since ? { since: since as unknown as number } : {}),
      }),
    )) as unknown as Buffer;
    if (info.Config.Tty) return parseDockerLogText(body.toString('utf8'), name, 'stdout');
    const { stdout, stderr } = await demux(docker, body);
    return [...parseDockerLogText(stdout, name, 'stdout'), ...parseDockerLogText(stderr, name, 'stderr')].sort((a, b) =>
      a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0,
    );
  }

  /**
   * Wakes on the engine's next event about the container (health change, start, exit, removal)
   * or after `ms`, whichever comes first: a wait then ends as soon as the engine knows, instead of
   * up to one poll interval later. Without an event stream it is a plain sleep.
   */
  async function containerEvents(id: string): Promise<{ next(ms: number): Promise<void>; close(): void }> {
    let wake: (() => void) | undefined;
    let stream: (NodeJS.ReadableStream & { destroy(): void }) | undefined;
    try {
      stream = (await docker.getEvents({
        filters: { type: ['container'], container: [id], event: ['health_status', 'start', 'die', 'destroy', 'oom'] },
      })) as NodeJS.ReadableStream & { destroy(): void };
      stream.on('data', () => wake?.());
      stream.on('error', () => undefined);
    } catch {
      stream = undefined; // polling alone still gets there
    }
    return {
      next: (ms) =>
        new Promise<void>((resolve) => {
          const timer = setTimeout(done, ms);
          function done() {
            clearTimeout(timer);
            wake = undefined;
            resolve();
          }
          wake = done;
        }),
      close: () => stream?.destroy(),
    };
  }

  /**
   * Waits until the container is running and healthy (or just running when it has no health
   * check), looking again on each engine event about it and at least every poll interval. Stops
   * early, with the reason, when it exits or is removed.
   */
  async function waitUntilHealthy(id: string, name: string, timeoutMs: number): Promise<Docker.ContainerInspectInfo> {
    const events = await containerEvents(id);
    try {
      return await pollUntilHealthy(id, name, timeoutMs, events);
    } finally {
      events.close();
    }
  }

  async function pollUntilHealthy(
    id: string,
    name: string,
    timeoutMs: number,
    events: { next(ms: number): Promise<void> },
  ): Promise<Docker.ContainerInspectInfo> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = await inspect(id);
      if (!info) {
        throw new StackError('CONTAINER_MISSING', `${name} was removed while waiting for it to become healthy; check \`docker ps -a\` for who removed it`);
      }
      const state = info.State;
      if (state.Status === 'exited' || state.Status === 'dead') {
        throw new StackError(
          'UNHEALTHY',
          `${name} stopped (exit code ${state.ExitCode}${state.OOMKilled ? ', killed for running out of memory' : ''}) instead of becoming healthy${await lastLogLines(info)}`,
        );
      }
      const health = state.Health?.Status;
      if (state.Running && !state.Restarting && !state.Paused && (!health || health === 'none' || health === 'healthy')) return info;
      if (Date.now() >= deadline) {
        // "unhealthy" is not final before the deadline: without a start period a slow starter is
        // marked unhealthy first and healthy a moment later.
        if (health === 'unhealthy') {
          throw new StackError('UNHEALTHY', `${name} is running but its health check still fails after ${seconds(timeoutMs)}${lastHealthOutput(info)}`);
        }
        throw new StackError(
          'TIMEOUT',
          `${name} did not become healthy within ${seconds(timeoutMs)} (state ${state.Status}, health ${health ?? 'none'}${lastHealthOutput(info)})`,
        );
      }
      await events.next(Math.min(pollMs, Math.max(0, deadline - Date.now())));
    }
  }

  /**
   * Re-raises the failure of one replica's step with what happened to the replicas before it
   * (`done`, which makes it PARTIAL) and after it (`notDone`).
   */
  function stoppedHalfWay(error: unknown, done: string[], notDone: string[]): unknown {
    if (!(error instanceof StackError)) return error;
    return new StackError(done.length > 0 ? 'PARTIAL' : error.code, error.reason, {
      done: [...done, ...error.done],
      notDone: [...error.notDone, ...notDone],
      cause: error,
    });
  }

  async function stopAndRemove(id: string): Promise<void> {
    try {
      await engine(() => docker.getContainer(id).stop({ t: stopTimeout }));
    } catch (error) {
      // 304: already stopped; 404: already gone. Either way removal below settles it.
      if (engineStatusCode(error) !== 304 && !isNotFound(error)) throw error;
    }
    try {
      await engine(() => docker.getContainer(id).remove({ force: true }));
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }

  async function imageConfig(imageId: string): Promise<Docker.ImageInspectInfo['Config'] | undefined> {
    try {
      return (await engine(() => docker.getImage(imageId).inspect())).Config;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Creates (not starts) a replica copied from `source`, connected to all of its networks. */
  async function createReplica(
    source: Docker.ContainerInspectInfo,
    fields: { name: string; image: string; number: number; ephemeralHostPorts: boolean },
  ): Promise<{ container: Docker.Container; movedPorts: MovedPort[] }> {
    const plan = planClone({ source, sourceImage: await imageConfig(source.Image), ...fields });
    let container: Docker.Container;
    try {
      container = await engine(() => docker.createContainer(plan.options));
    } catch (error) {
      if (isNotFound(error)) {
        throw new StackError(
          'IMAGE_MISSING',
          `The image ${fields.image} is not in the Docker Engine at ${host} (${engineErrorText(error)}); build or pull it there first`,
          { cause: error },
        );
      }
      throw error;
    }
    try {
      for (const network of plan.extraNetworks) {
        await engine(() => docker.getNetwork(network.name).connect({ Container: container.id, EndpointConfig: { Aliases: network.aliases } }));
      }
    } catch (error) {
      await container.remove({ force: true }).catch(() => undefined);
      throw error;
    }
    return { container, movedPorts: plan.movedPorts };
  }

  const stack: Stack = {
    kind: 'docker',
    description: `Docker Engine at ${host}, compose project ${project}`,

    async services() {
      return serviceNames(await projectContainers());
    },

    async list(): Promise<ServiceStatus[]> {
      const containers = await projectContainers();
      const inspected = (await Promise.all(containers.map((container) => inspect(container.Id)))).filter(
        (info): info is Docker.ContainerInspectInfo => info !== undefined,
      );
      const now = Date.now();
      return serviceNames(containers).map((name) => ({
        name,
        replicas: inspected
          .filter((info) => info.Config.Labels[COMPOSE_LABELS.service] === name)
          .sort(byNumber)
          .map((info) => replicaOf(info, now)),
      }));
    },

    async health(service): Promise<ServiceHealth> {
      const replicas = await serviceReplicas(service);
      const described = replicas.map((info) => {
        const replica = replicaOf(info, Date.now());
        let detail: string | undefined;
        if (!info.State.Running) detail = `${info.State.Status}, exit code ${info.State.ExitCode}`;
        else if (replica.health === 'unhealthy') detail = lastHealthOutput(info).replace(/^; /, '');
        return { id: replica.id, name: replica.name, state: replica.state, health: replica.health, ...(detail ? { detail } : {}) };
      });
      return { service, status: serviceHealthOf(described), replicas: described };
    },

    async restart(service, restartOptions = {}): Promise<RestartReport> {
      requireServiceName(service);
      const timeoutMs = requireTimeout(restartOptions.timeoutMs, DEFAULT_WAIT_MS);
      return guard.run(service, 'restart', async () => {
        const started = Date.now();
        const replicas = await serviceReplicas(service);
        const restarted: RestartedReplica[] = [];
        for (const [index, before] of replicas.entries()) {
          const name = nameOf(before);
          const notDone = replicas.slice(index + 1).map((info) => `${nameOf(info)} was not restarted`);
          let replica: RestartedReplica;
          try {
            try {
              await engine(() => docker.getContainer(before.Id).restart({ t: stopTimeout }), [`${name} was not restarted`]);
            } catch (error) {
              if (isNotFound(error)) throw new StackError('CONTAINER_MISSING', `${name} was removed before it could be restarted; list the service again`);
              throw error;
            }
            const after = await waitUntilHealthy(before.Id, name, timeoutMs);
            replica = {
              name,
              previousId: before.Id,
              id: after.Id,
              previousStartedAt: before.State.Running ? new Date(before.State.StartedAt).toISOString() : null,
              startedAt: new Date(after.State.StartedAt).toISOString(),
              health: healthOf(after),
            };
            restarted.push(replica);
          } catch (error) {
            throw stoppedHalfWay(error, restarted.map((replica) => `restarted ${replica.name} (${replica.health})`), notDone);
          }
          // Outside the try above: telling someone a replica is back is not part of restarting it, so a
          // callback that fails neither stops the remaining replicas nor reads as a Docker failure.
          if (replicas.length > 1) await tellReplicaRestarted(restartOptions.onReplicaRestarted, replica, { index, total: replicas.length });
        }
        const health = serviceHealthOf((await serviceReplicas(service)).map((info) => ({ state: stateOf(info), health: healthOf(info) })));
        return { service, replicas: restarted, durationMs: Date.now() - started, health };
      });
    },

    async scale(service, replicas, scaleOptions = {}): Promise<ScaleReport> {
      requireServiceName(service);
      requireReplicaCount(replicas);
      const timeoutMs = requireTimeout(scaleOptions.timeoutMs, DEFAULT_WAIT_MS);
      return guard.run(service, 'scale', async () => {
        const started = Date.now();
        const current = await serviceReplicas(service);
        const report: ScaleReport = { service, from: current.length, to: replicas, created: [], removed: [], notes: [], durationMs: 0 };

        if (replicas > current.length) {
          const template = current[current.length - 1]!;
          const allNames = (await engine(() => docker.listContainers({ all: true }))).flatMap((container) => container.Names.map((name) => name.replace(/^\//, '')));
          const serviceNamesInUse = current.map(nameOf);
          let number = Math.max(...current.map((info) => replicaNumber(info.Config.Labels)));
          for (let made = current.length; made < replicas; made += 1) {
            let name: string;
            do {
              number += 1;
              name = replicaName(project, service, number, serviceNamesInUse);
            } while (allNames.includes(name));
            const remaining = replicas - made - 1;
            const notDone = [`${name} was not created`, ...(remaining > 0 ? [`${remaining} more replica(s) were not created`] : [])];
            let container: Docker.Container | undefined;
            try {
              const created = await createReplica(template, { name, image: template.Config.Image, number, ephemeralHostPorts: true });
              container = created.container;
              await engine(() => container!.start());
              const running = await waitUntilHealthy(container.id, name, timeoutMs);
              for (const moved of created.movedPorts) {
                const bindings = running.NetworkSettings.Ports?.[moved.containerPort] ?? [];
                const assigned = bindings.find((binding) => binding.HostIp === moved.hostIp) ?? bindings[0];
                report.notes.push(
                  `${name} publishes ${moved.containerPort} on ${assigned ? `${assigned.HostIp}:${assigned.HostPort}` : 'an ephemeral port'}, ` +
                    `because ${moved.hostIp}:${moved.hostPort} is held by the first replica`,
                );
              }
              report.created.push(name);
              allNames.push(name);
            } catch (error) {
              // A replica that never became healthy is removed, so the count the person sees is the count that serves.
              if (container) await container.remove({ force: true }).catch(() => undefined);
              const failed = error instanceof StackError ? error : new StackError('UNHEALTHY', `${name} could not be started: ${engineErrorText(error)}`, { cause: error });
              throw stoppedHalfWay(
                new StackError(failed.code, `Scaling ${service} to ${replicas} stopped at ${current.length + report.created.length}: ${failed.reason}`, {
                  done: container ? [`removed the failed ${name}`] : [],
                  notDone,
                  cause: failed,
                }),
                report.created.map((created) => `created ${created}`),
                [],
              );
            }
          }
        } else if (replicas < current.length) {
          // The newest go first, as compose does.
          const victims = current.slice(replicas).reverse();
          for (const [index, victim] of victims.entries()) {
            const name = nameOf(victim);
            try {
              await stopAndRemove(victim.Id);
              report.removed.push(name);
            } catch (error) {
              if (!(error instanceof StackError) && report.removed.length === 0) throw error;
              const rest = victims.slice(index).map((info) => `${nameOf(info)} was not removed`);
              throw stoppedHalfWay(
                error instanceof StackError ? error : new StackError('PARTIAL', `Removing ${name} failed: ${engineErrorText(error)}`, { cause: error }),
                report.removed.map((removed) => `removed ${removed}`),
                rest,
              );
            }
          }
        }
        report.durationMs = Date.now() - started;
        return report;
      });
    },

    async logs(service, logsOptions = {}) {
      requireServiceName(service);
      const normalized = normalizeLogsOptions(logsOptions);
      const replicas = await serviceReplicas(service);
      const since = normalized.since ? (normalized.since.getTime() / 1000).toFixed(3) : undefined;
      const perReplica: TimedLine[][] = await Promise.all(
        replicas.map(async (info) => {
          try {
            return await replicaLogLines(info, normalized.grep ? LOG_SCAN_LINES : normalized.tail, since);
          } catch (error) {
            if (isNotFound(error)) return []; // removed since the listing: it has no logs any more
            if (engineStatusCode(error) === 501) {
              throw new StackError(
                'NOT_SUPPORTED',
                `${nameOf(info)} logs with the "${info.HostConfig.LogConfig?.Type ?? 'unknown'}" driver, which the engine cannot read back; read them where that driver sends them`,
              );
            }
            throw error;
          }
        }),
      );
      return selectLogLines(service, perReplica, normalized);
    },

    async stats(service, statsOptions = {}) {
      if (service !== undefined) requireServiceName(service);
      const all = await projectContainers();
      if (service !== undefined) requireKnownService(service, serviceNames(all), where);
      const wanted = all.filter((container) => service === undefined || container.Labels[COMPOSE_LABELS.service] === service);
      const serviceOf = (container: Docker.ContainerInfo) => container.Labels[COMPOSE_LABELS.service]!;
      const replicaName = (container: Docker.ContainerInfo) => (container.Names[0] ?? container.Id).replace(/^\//, '');
      const skipped: SkippedStats[] = wanted
        .filter((container) => container.State !== 'running')
        .map((container) => ({ service: serviceOf(container), replica: replicaName(container), reason: `${replicaName(container)} is ${container.State}, not running: nothing to measure` }));
      const samples = await Promise.all(
        wanted
          .filter((container) => container.State === 'running')
          .map(async (container): Promise<ContainerStats | undefined> => {
            const replica = replicaName(container);
            let sample: EngineStatsSample;
            try {
              sample = (await engine(() => docker.getContainer(container.Id).stats({ stream: false }))) as unknown as EngineStatsSample;
            } catch (error) {
              if (!isNotFound(error)) throw error;
              skipped.push({ service: serviceOf(container), replica, reason: `${replica} was removed while it was measured` });
              return undefined;
            }
            // The engine answers a container that stopped since the listing with an empty sample, not an error.
            if (sample.memory_stats?.usage === undefined) {
              skipped.push({ service: serviceOf(container), replica, reason: `${replica} stopped while it was measured, not running: nothing to measure` });
              return undefined;
            }
            return { service: serviceOf(container), replica, id: container.Id, ...usageFromEngineStats(sample) };
          }),
      );
      const byService = (a: { service: string }, b: { service: string }) => a.service.localeCompare(b.service);
      // Told, never left out in silence; when nothing runs the answer is still an empty list, as before.
      // Each reason begins with its replica's name, so sorting by it keeps the replicas in order.
      const told = skipped.sort((a, b) => byService(a, b) || a.reason.localeCompare(b.reason, undefined, { numeric: true }));
      for (const entry of told) statsOptions.onSkipped?.(entry);
      return samples
        .filter((sample): sample is ContainerStats => sample !== undefined)
        .sort((a, b) => byService(a, b) || a.replica.localeCompare(b.replica, undefined, { numeric: true }));
    },

    async exec(service, command, execOptions = {}): Promise<ExecResult> {
      requireServiceName(service);
      const name = requireExecCommand(command);
      const timeoutMs = requireTimeout(execOptions.timeoutMs, DEFAULT_EXEC_TIMEOUT_MS);
      if (execOptions.replica !== undefined && (!Number.isInteger(execOptions.replica) || execOptions.replica < 1 || execOptions.replica > 10_000)) {
        throw new StackError('INVALID_ARGUMENT', `replica must be a replica number such as 1 (got ${String(execOptions.replica)})`);
      }
      const replicas = await serviceReplicas(service);
      const running = replicas.filter((info) => info.State.Running);
      const target =
        execOptions.replica === undefined ? running[0] : running.find((info) => replicaNumber(info.Config.Labels) === execOptions.replica);
      if (!target) {
        const numbers = running.map((info) => replicaNumber(info.Config.Labels));
        throw new StackError(
          'CONTAINER_MISSING',
          execOptions.replica === undefined
            ? `No replica of ${service} is running to run ${name} in; restart ${service} first`
            : `${service} has no running replica ${execOptions.replica}; running replicas: ${numbers.join(', ') || 'none'}`,
        );
      }
      const argv = EXEC_COMMANDS[name].argv;
      const started = Date.now();
      const exec = await engine(() =>
        docker.getContainer(target.Id).exec({ Cmd: [...argv], AttachStdout: true, AttachStderr: true, AttachStdin: false, Tty: false }),
      );
      const stream = await engine(() => exec.start({ hijack: true, stdin: false }));
      const output = new CappedOutput(MAX_EXEC_OUTPUT_BYTES);
      docker.modem.demuxStream(stream, output, output);
      const finished = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        const done = () => {
          clearTimeout(timer);
          resolve(true);
        };
        stream.once('end', done);
        stream.once('close', done);
        stream.once('error', done);
      });
      if (!finished) {
        stream.destroy();
        throw new StackError(
          'TIMEOUT',
          `${name} did not finish within ${seconds(timeoutMs)} in ${nameOf(target)}; it may still be running there (docker exec cannot stop it)`,
        );
      }
      const result = await engine(() => exec.inspect());
      return {
        service,
        replica: nameOf(target),
        command: name,
        argv,
        exitCode: result.ExitCode ?? -1,
        output: output.text(),
        truncated: output.truncated,
        durationMs: Date.now() - started,
      };
    },

    async recreate(service, image, recreateOptions = {}): Promise<RecreateReport> {
      requireServiceName(service);
      if (typeof image !== 'string' || !IMAGE_REFERENCE.test(image)) {
        throw new StackError('INVALID_ARGUMENT', `"${String(image).slice(0, 80)}" is not an image reference such as acgs/stack:1.2.0`);
      }
      const timeoutMs = requireTimeout(recreateOptions.timeoutMs, DEFAULT_WAIT_MS);
      return guard.run(service, 'recreate', async () => {
        const started = Date.now();
        const replicas = await serviceReplicas(service);
        try {
          await engine(() => docker.getImage(image).inspect());
        } catch (error) {
          if (isNotFound(error)) {
            throw new StackError(
              'IMAGE_MISSING',
              `The image ${image} is not in the Docker Engine at ${host}; build or pull it there first. Nothing was changed: ${replicas.map(nameOf).join(', ')} still run ${[...new Set(replicas.map((info) => info.Config.Image))].join(', ')}`,
            );
          }
          throw error;
        }

        const replaced: RecreatedReplica[] = [];
        const doneSteps = () => replaced.map((replica) => `${replica.name} now runs ${image}`);
        for (const [index, old] of replicas.entries()) {
          // The failing replica's own state is in the error's message (replaceReplica says it).
          const untouched = replicas.slice(index + 1).map((info) => `${nameOf(info)} still runs ${info.Config.Image}`);
          try {
            replaced.push(await replaceReplica(old, image, timeoutMs));
          } catch (error) {
            throw stoppedHalfWay(error, doneSteps(), untouched);
          }
        }
        return { service, image, replicas: replaced, durationMs: Date.now() - started };
      });
    },

    async close() {
      // dockerode keeps no connection open between calls.
    },
  };

  /**
   * One replica onto `image`: the new container starts beside the old (under a temporary name)
   * and takes over the name once healthy. When the engine refuses because the old one holds a
   * published host port, the old is stopped (not removed) for the handover and started again if
   * the new one fails.
   */
  async function replaceReplica(old: Docker.ContainerInspectInfo, image: string, timeoutMs: number): Promise<RecreatedReplica> {
    const name = nameOf(old);
    const nextName = `${name}-next`;
    const stale = await inspect(nextName);
    if (stale) await stopAndRemove(stale.Id); // left by an interrupted recreate; it never served
    const { container } = await createReplica(old, { name: nextName, image, number: replicaNumber(old.Config.Labels), ephemeralHostPorts: false });
    let strategy = 'side-by-side' as RecreatedReplica['strategy'];
    const keepOld = `${name} still runs ${old.Config.Image} and was not changed`;
    try {
      try {
        await engine(() => container.start());
      } catch (error) {
        if (!/port is already allocated|address already in use/i.test(engineErrorText(error))) throw error;
        strategy = 'handover';
        await engine(() => docker.getContainer(old.Id).stop({ t: stopTimeout }));
        await engine(() => container.start());
      }
      await waitUntilHealthy(container.id, `the new ${name} (${image})`, timeoutMs);
    } catch (error) {
      await container.remove({ force: true }).catch(() => undefined);
      let oldState = keepOld;
      if (strategy === 'handover') {
        try {
          await engine(() => docker.getContainer(old.Id).start());
          await waitUntilHealthy(old.Id, name, timeoutMs);
          oldState = `${name} was stopped for the handover and runs ${old.Config.Image} again`;
        } catch (restartError) {
          oldState = `${name} was stopped for the handover and could not be started again (${(restartError as Error).message}); restart ${name} now`;
        }
      }
      const failure = error instanceof StackError ? error : new StackError('UNHEALTHY', `${engineErrorText(error)}`, { cause: error });
      throw new StackError(failure.code, `The new ${name} from ${image} did not take over: ${failure.reason}. ${oldState}.`, {
        done: [`removed the new container`],
        cause: failure,
      });
    }
    await stopAndRemove(old.Id);
    await engine(() => container.rename({ name }));
    return { name, previousId: old.Id, id: container.id, previousImage: old.Config.Image, strategy };
  }

  return stack;
}
