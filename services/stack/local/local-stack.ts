/**
 * The Stack port over the local supervised processes of `npm start` (services/stack/local/local-services.ts):
 * one process per service on its firm port. Status, health, restart, logs from each process's
 * ring buffer, CPU and memory per process. Scaling, exec and recreate need containers and are
 * refused with what to do instead.
 */
import { readFile } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { resolve } from 'node:path';
import pidusage from 'pidusage';
import type { ReleaseArtifact } from '../releases/release.js';
import { recordCurrentRelease } from './local-current-release.js';
import { launchProblem, releaseLaunch, type ServiceLaunch } from './local-launch.js';
import type { SupervisedProcess } from './local-supervisor.js';
import { EXEC_COMMANDS, type ExecCommandName } from '../exec-commands.js';
import { fixedWidthTime, selectLogLines } from '../log-lines.js';
import { createOperationGuard } from '../operation-guard.js';
import { normalizeLogsOptions, requireExecCommand, requireKnownService, requireServiceName, requireTimeout } from '../stack-checks.js';
import {
  StackError,
  serviceHealthOf,
  uptimeSeconds,
  type ContainerStats,
  type DeployReport,
  type Replica,
  type ReplicaHealth,
  type ReplicaState,
  type RestartReport,
  type ServiceHealth,
  type SkippedStats,
  type Stack,
} from '../stack.js';

export interface LocalStackOptions {
  processes: readonly SupervisedProcess[];
  /** How long one health probe may take (default 2 s). */
  probeTimeoutMs?: number;
  /** A process that does not answer yet counts as starting for this long after it started (default 30 s). */
  startGraceMs?: number;
  /** Interval of the two CPU samples stats() takes (default 500 ms). */
  cpuSampleMs?: number;
  /**
   * The state directory: a deploy is recorded in `<stateDir>/releases/current.json`, so the next
   * start runs the deployed release (local-current-release.ts). Without it a deploy lasts until the stack stops.
   */
  stateDir?: string;
}

const DEFAULT_WAIT_MS = 60_000;
const WHERE = 'the local stack';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Probe {
  health: ReplicaHealth;
  detail?: string;
}

/** Reads /proc/<pid>/io where the platform has it; null elsewhere or when not permitted. */
async function blockIo(pid: number): Promise<ContainerStats['blockIo']> {
  try {
    const text = await readFile(`/proc/${pid}/io`, 'utf8');
    const value = (key: string) => Number(new RegExp(`^${key}:\\s*(\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return { readBytes: value('read_bytes'), writeBytes: value('write_bytes') };
  } catch {
    return null;
  }
}

const notSupported = (service: string, what: string, instead: string) =>
  new StackError('NOT_SUPPORTED', `${what} is not possible on the local stack, where ${service} runs as one local process: ${instead}`);

/**
 * What the local stack cannot do, and what to do instead: the same words whichever process asks
 * (the in-process driver of `npm start`, or the CLI's driver over the control channel).
 */
export const localRefusals = {
  scale: (service: string) =>
    notSupported(
      service,
      'Scaling',
      'it owns its firm port, so a second copy could not listen. Run the stack in Docker (docker-compose -p acgs up -d, then ACGS_STACK=docker) to scale it',
    ),
  exec: (service: string, name: ExecCommandName) =>
    notSupported(service, `Running ${name} inside ${service}`, `there is no container to run it in. Run \`${EXEC_COMMANDS[name].argv.join(' ')}\` on this machine instead`),
  recreate: (service: string) =>
    notSupported(
      service,
      'Recreating from another image',
      'local processes run the code of this checkout. Check out the version you want and run npm start again, or use the Docker stack',
    ),
  stopStart: (service: string, what: 'Stopping' | 'Starting') =>
    notSupported(service, `${what} it from this process`, 'only the process that runs npm start holds its processes; ask the bot that runs in it (a restore does)'),
};

export interface SampledProcess {
  service: string;
  pid: number;
  /** Still the same process after the samples (not exited or restarted meanwhile). */
  stillRunning(): boolean | Promise<boolean>;
}

/**
 * Samples the measurable processes and tells every one left out (`skipped`, plus any that exited
 * during the sample), sorted by service: never dropped in silence. Both local drivers use it.
 */
export async function measureProcesses(
  chosen: readonly SampledProcess[],
  skipped: SkippedStats[],
  sampleMs: number,
  onSkipped: ((entry: SkippedStats) => void) | undefined,
): Promise<ContainerStats[]> {
  const samples = await sampleProcesses(chosen, sampleMs);
  for (const { service, pid } of chosen) {
    if (!samples.some((sample) => sample.service === service)) skipped.push({ service, reason: `pid ${pid} of ${service} exited while it was measured` });
  }
  for (const entry of skipped.sort((a, b) => a.service.localeCompare(b.service))) onSkipped?.(entry);
  return samples;
}

/**
 * CPU and memory of local processes: pidusage reports CPU since its previous sample of a pid, so
 * it primes, waits `sampleMs` and samples again; memory is against the machine's memory, block
 * I/O from /proc/<pid>/io. A process that went away meanwhile is left out.
 */
export async function sampleProcesses(chosen: readonly SampledProcess[], sampleMs: number): Promise<ContainerStats[]> {
  const pids = chosen.map((process) => process.pid);
  if (pids.length === 0) return [];
  await pidusage(pids).catch(() => undefined);
  await sleep(sampleMs);
  const usage = (await pidusage(pids).catch(() => ({}))) as Record<string, { cpu: number; memory: number } | undefined>;
  const limit = totalmem();
  const results = await Promise.all(
    chosen.map(async (process): Promise<ContainerStats | undefined> => {
      const sample = usage[String(process.pid)];
      if (!sample || !(await process.stillRunning())) return undefined;
      return {
        service: process.service,
        replica: process.service,
        id: `local:${process.service}`,
        cpuPercent: Math.round(sample.cpu * 100) / 100,
        memory: { usedBytes: sample.memory, limitBytes: limit, percent: Math.round((sample.memory / limit) * 10_000) / 100 },
        network: null,
        blockIo: await blockIo(process.pid),
        pids: null,
      };
    }),
  );
  return results.filter((result): result is ContainerStats => result !== undefined);
}

/** Why a supervised process cannot be measured now, in the words of the other drivers; undefined when it can. */
function notMeasurable(process: SupervisedProcess, pid: number | undefined): string | undefined {
  const state = process.state();
  if (state === 'stopped') return `${process.name} is stopped with the local stack, not running: nothing to measure`;
  if (state === 'held') return `${process.name} is held stopped (stop), not running: nothing to measure`;
  if (state === 'backoff') {
    return `${process.name} exited and waits for the supervisor to restart it (${process.restarts()} restarts so far), not running: nothing to measure`;
  }
  if (pid === undefined) return `${process.name} has no pid, not running: nothing to measure`;
  return undefined;
}

export function createLocalStack(options: LocalStackOptions): Stack {
  const processes = new Map(options.processes.map((process) => [process.name, process]));
  const probeTimeoutMs = options.probeTimeoutMs ?? 2000;
  const startGraceMs = options.startGraceMs ?? 30_000;
  const cpuSampleMs = options.cpuSampleMs ?? 500;
  const names = () => [...processes.keys()].sort();
  const guard = createOperationGuard();

  function processOf(service: string): SupervisedProcess {
    requireKnownService(service, names(), WHERE);
    return processes.get(service)!;
  }

  const commandLine = (process: SupervisedProcess) => process.commandLine.replace(globalThis.process.execPath, 'node');

  async function probe(process: SupervisedProcess): Promise<Probe> {
    if (process.state() !== 'running') return { health: 'none' };
    try {
      const response = await fetch(process.healthUrl, { signal: AbortSignal.timeout(probeTimeoutMs) });
      await response.body?.cancel();
      if (response.status === 200) return { health: 'healthy' };
      return { health: 'unhealthy', detail: `${process.healthUrl} answered ${response.status}` };
    } catch (error) {
      const started = process.startedAt()?.getTime() ?? 0;
      const detail = `${process.healthUrl} does not answer (${(error as Error).message})`;
      return { health: Date.now() - started < startGraceMs ? 'starting' : 'unhealthy', detail };
    }
  }

  function stateOf(process: SupervisedProcess): ReplicaState {
    const state = process.state();
    return state === 'held' ? 'exited' : state;
  }

  async function replicaOf(process: SupervisedProcess, now = Date.now()): Promise<Replica & { detail?: string }> {
    const { health, detail } = await probe(process);
    const startedAt = process.startedAt()?.toISOString() ?? null;
    const pid = process.pid();
    return {
      id: `local:${process.name}`,
      name: process.name,
      number: 1,
      state: stateOf(process),
      health,
      image: commandLine(process),
      startedAt,
      uptimeSeconds: uptimeSeconds(startedAt, now),
      ...(pid !== undefined ? { pid } : {}),
      restarts: process.restarts(),
      ...(process.state() === 'held' ? { held: true as const } : {}),
      ...exitOf(process),
      ...(detail ? { detail } : {}),
    };
  }

  function exitOf(process: SupervisedProcess): Pick<Replica, 'lastExit'> {
    const exit = process.lastExit();
    return exit ? { lastExit: { at: exit.at.toISOString(), code: exit.code, signal: exit.signal } } : {};
  }

  function lastLines(process: SupervisedProcess, count = 5): string {
    const lines = process.logs().slice(-count).map((line) => line.text.trim()).filter(Boolean);
    return lines.length > 0 ? `; its last log lines: ${lines.join(' | ').slice(0, 600)}` : '';
  }

  /** Waits until the (re)started process answers healthy; `what` names what started it in the errors. */
  async function waitHealthy(service: string, process: SupervisedProcess, startedAt: number, timeoutMs: number, what: 'restart' | 'start'): Promise<Probe> {
    const deadline = startedAt + timeoutMs;
    const did = what === 'restart' ? 'restarted' : 'started';
    for (;;) {
      if (process.state() !== 'running') {
        throw new StackError('UNHEALTHY', `${service} exited again while starting after the ${what}${lastLines(process)}`, {
          done: [`${did} ${service}`],
          notDone: ['the supervisor restarts it with a growing delay; read its logs for the cause'],
        });
      }
      const last = await probe(process);
      if (last.health === 'healthy') return last;
      if (Date.now() >= deadline) {
        throw new StackError(
          'TIMEOUT',
          `${service} did not become healthy within ${Math.round(timeoutMs / 1000)} s after the ${what} (${last.detail ?? last.health})${lastLines(process)}`,
          { done: [`${did} ${service} (pid ${process.pid() ?? 'none'})`] },
        );
      }
      await sleep(250);
    }
  }

  /** The directory a process's code is in: its launch's working directory, or ours (the checkout npm start runs). */
  const directoryOf = (process: SupervisedProcess): { kind: 'directory'; directory: string } => ({ kind: 'directory', directory: resolve(process.launch().cwd ?? globalThis.process.cwd()) });

  function requireDirectoryArtifact(service: string, artifact: ReleaseArtifact): string {
    if (artifact?.kind !== 'directory') {
      const what = artifact?.kind === 'image' ? `the image ${artifact.image}` : 'that artifact';
      throw new StackError('NOT_SUPPORTED', `The local stack runs release directories, not ${what}: prepare the release for the local stack (a checkout under the state directory's releases/), or deploy the image on the Docker stack`);
    }
    const problem = typeof artifact.directory === 'string' ? launchProblem(artifact.directory, service) : 'no directory was given';
    if (problem) throw new StackError('INVALID_ARGUMENT', `${service} cannot be deployed from there: ${problem}. Nothing was changed`);
    return artifact.directory;
  }

  /**
   * Handover, since a local service owns its firm port and cannot run twice: the old child is
   * held (stopped, kept), a new one starts from the release directory and must answer healthy in
   * time; otherwise it is stopped and the old launch started again at once.
   */
  async function deployProcess(service: string, process: SupervisedProcess, directory: string, timeoutMs: number): Promise<DeployReport> {
    if (process.state() === 'stopped') throw new StackError('CONTAINER_MISSING', `${service} has been stopped with the local stack; start the stack again (npm start)`);
    if (process.state() === 'held') {
      throw new StackError('BUSY', `${service} is held stopped (a restore stops the services that write a database while it replaces it); deploy when the restore is over (\`runs\` shows the run)`);
    }
    const started = Date.now();
    const previous = directoryOf(process);
    const previousLaunch: ServiceLaunch = process.launch();
    const artifact: ReleaseArtifact = { kind: 'directory', directory };
    await process.hold();
    const downSince = Date.now();
    process.relaunch(releaseLaunch(directory, service));
    process.release();
    try {
      await waitHealthy(service, process, Date.now(), timeoutMs, 'start');
    } catch (error) {
      const why = error instanceof StackError ? error.reason : (error as Error).message;
      await process.hold();
      process.relaunch(previousLaunch);
      process.release();
      let back = `${service} runs ${previous.directory} again`;
      const notDone = [`${service} on ${directory}`];
      try {
        await waitHealthy(service, process, Date.now(), timeoutMs, 'start');
      } catch (restartError) {
        back = `${service} was started on ${previous.directory} again but is not healthy (${restartError instanceof StackError ? restartError.reason : (restartError as Error).message})`;
        notDone.push(`a healthy ${service}: restart it and read its logs`);
      }
      throw new StackError('UNHEALTHY', `The new ${service} from ${directory} did not become healthy: ${why}`, {
        done: [`stopped the new ${service}`, back],
        notDone,
        cause: error,
      });
    }
    const unavailableMs = Date.now() - downSince;
    if (options.stateDir) recordCurrentRelease(options.stateDir, service, directory);
    return { service, artifact, previous, strategy: 'handover', durationMs: Date.now() - started, unavailableMs, health: 'healthy' };
  }

  async function restartProcess(service: string, process: SupervisedProcess, timeoutMs: number): Promise<RestartReport> {
    if (process.state() === 'stopped') {
      throw new StackError('CONTAINER_MISSING', `${service} has been stopped with the local stack; start the stack again (npm start)`);
    }
    // Held by a stop (a restore keeps the writers of a database off while it replaces it): a
    // restart would let it write into a database being replaced.
    if (process.state() === 'held') {
      throw new StackError('BUSY', `${service} is held stopped (a restore stops the services that write a database while it replaces it); it starts again when the restore goes on or is aborted (\`runs\` shows the run)`);
    }
    const started = Date.now();
    const previousPid = process.pid();
    const previousStartedAt = process.startedAt()?.toISOString() ?? null;
    await process.restart();
    const last = await waitHealthy(service, process, started, timeoutMs, 'restart');
    const pid = process.pid();
    return {
      service,
      replicas: [
        {
          name: service,
          previousId: `local:${service}`,
          id: `local:${service}`,
          previousStartedAt,
          startedAt: process.startedAt()?.toISOString() ?? null,
          ...(previousPid !== undefined ? { previousPid } : {}),
          ...(pid !== undefined ? { pid } : {}),
          health: last.health,
        },
      ],
      durationMs: Date.now() - started,
      health: 'healthy',
    };
  }

  return {
    kind: 'local',
    description: 'processes supervised by npm start',

    async services() {
      return names();
    },

    async list() {
      const now = Date.now();
      return Promise.all(
        names().map(async (name) => {
          const { detail: _detail, ...replica } = await replicaOf(processes.get(name)!, now);
          return { name, replicas: [replica] };
        }),
      );
    },

    async health(service): Promise<ServiceHealth> {
      requireServiceName(service);
      const replica = await replicaOf(processOf(service));
      const entry = { id: replica.id, name: replica.name, state: replica.state, health: replica.health, ...(replica.detail ? { detail: replica.detail } : {}) };
      return { service, status: serviceHealthOf([entry]), replicas: [entry] };
    },

    async restart(service, restartOptions = {}) {
      requireServiceName(service);
      const timeoutMs = requireTimeout(restartOptions.timeoutMs, DEFAULT_WAIT_MS);
      const process = processOf(service);
      return guard.run(service, 'restart', () => restartProcess(service, process, timeoutMs));
    },

    async scale(service) {
      requireServiceName(service);
      processOf(service);
      throw localRefusals.scale(service);
    },

    async stop(service) {
      requireServiceName(service);
      const process = processOf(service);
      return guard.run(service, 'stop', async () => {
        const started = Date.now();
        if (process.state() === 'stopped') throw new StackError('CONTAINER_MISSING', `${service} has been stopped with the local stack; start the stack again (npm start)`);
        await process.hold();
        return { service, stopped: [service], durationMs: Date.now() - started };
      });
    },

    async start(service, startOptions = {}) {
      requireServiceName(service);
      const timeoutMs = requireTimeout(startOptions.timeoutMs, DEFAULT_WAIT_MS);
      const process = processOf(service);
      return guard.run(service, 'start', async () => {
        const started = Date.now();
        if (process.state() === 'stopped') throw new StackError('CONTAINER_MISSING', `${service} has been stopped with the local stack; start the stack again (npm start)`);
        process.release();
        await waitHealthy(service, process, started, timeoutMs, 'start');
        return { service, started: [service], durationMs: Date.now() - started, health: 'healthy' as const };
      });
    },

    async logs(service, logsOptions = {}) {
      requireServiceName(service);
      const normalized = normalizeLogsOptions(logsOptions);
      const process = processOf(service);
      const lines = process.logs().map((line) => ({ replica: service, stream: line.stream, sortKey: fixedWidthTime(line.time), text: line.text }));
      return selectLogLines(service, [lines], normalized);
    },

    async stats(service, statsOptions = {}) {
      if (service !== undefined) requireServiceName(service);
      const wanted = (service === undefined ? names() : [processOf(service).name]).map((name) => processes.get(name)!);
      const chosen: SampledProcess[] = [];
      const skipped: SkippedStats[] = [];
      for (const process of wanted) {
        const pid = process.pid();
        const why = notMeasurable(process, pid);
        if (why) skipped.push({ service: process.name, reason: why });
        else chosen.push({ service: process.name, pid: pid!, stillRunning: () => process.pid() === pid });
      }
      // When nothing runs the answer is still an empty list, as before, with each process named.
      return measureProcesses(chosen, skipped, cpuSampleMs, statsOptions.onSkipped);
    },

    async exec(service, command) {
      requireServiceName(service);
      const name = requireExecCommand(command);
      processOf(service);
      throw localRefusals.exec(service, name);
    },

    async recreate(service) {
      requireServiceName(service);
      processOf(service);
      throw localRefusals.recreate(service);
    },

    async deploy(service, artifact, deployOptions = {}) {
      requireServiceName(service);
      const timeoutMs = requireTimeout(deployOptions.timeoutMs, DEFAULT_WAIT_MS);
      const process = processOf(service);
      const directory = requireDirectoryArtifact(service, artifact);
      return guard.run(service, 'deploy', () => deployProcess(service, process, directory, timeoutMs));
    },

    async running(service) {
      requireServiceName(service);
      return directoryOf(processOf(service));
    },

    async close() {
      pidusage.clear();
    },
  };
}
