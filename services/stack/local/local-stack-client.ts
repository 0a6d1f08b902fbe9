/**
 * The Stack port over the local stack of ANOTHER process (`npm start` or `npm run start:stack`),
 * for the CLI. Status, health and restart go to that process's supervisor through its control
 * channel (services/stack/local/local-control.ts): it restarts its own child with the same environment
 * and waits for health, once its owner's trail shows the restart's committed execution record.
 * Logs are read from the log files the supervisor writes, also after it stopped or crashed (when
 * an SRE needs them most), and say so; stats sample the pids of its pid files once /proc shows
 * that each still runs what the file says, and name each service they could not. Scale, exec and recreate are refused with the in-process driver's words. No
 * operation here sends a signal.
 */
import pidusage from 'pidusage';
import { localStatePaths, checkPid, readPidFile, type PidRecord } from './local-state.js';
import { loggedServices, logFileLastWrite, readLogFile } from './local-log-file.js';
import { fixedWidthTime, selectLogLines } from '../log-lines.js';
import { connectLocalControl, LocalStackNotRunningError, type ControlChannel } from './local-control-client.js';
import type { ReleaseArtifact } from '../releases/release.js';
import { CONTROL_ROUTES, type DeployRequest, type HealthRequest, type ListAnswer, type RestartRequest, type RunningRequest } from './local-control-protocol.js';
import { localRefusals, measureProcesses } from './local-stack.js';
import {
  normalizeLogsOptions,
  requireExecCommand,
  requireKnownService,
  requireServiceName,
  requireTimeout,
  type NormalizedLogsOptions,
} from '../stack-checks.js';
import {
  StackError,
  type ContainerStats,
  type DeployReport,
  type LogsResult,
  type RestartReport,
  type ServiceHealth,
  type ServiceStatus,
  type SkippedStats,
  type Stack,
} from '../stack.js';

export interface LocalStackClientOptions {
  /** The state directory `npm start` uses (ACGS_STATE_DIR, default `.acgs`), resolved. */
  stateDir: string;
  /** Interval of the two CPU samples (default 500 ms). */
  cpuSampleMs?: number;
}

const DEFAULT_WAIT_MS = 60_000;
/** Beyond the restart's own wait: the supervisor's answer travelling back. */
const ANSWER_MARGIN_MS = 15_000;
const WHERE = 'the local stack';

/** Why a pid file cannot be used for a sample; undefined when it can. */
async function pidFileProblem(record: PidRecord | undefined, service: string, channel: ControlChannel): Promise<string | undefined> {
  if (!record) return `${service} has no pid file, so it is not running (the supervisor may be waiting to restart it; \`status ${service}\` shows it)`;
  const published = channel.services.find((entry) => entry.name === service)!;
  if (record.service !== service || record.supervisorPid !== channel.supervisorPid || record.argv.join('\0') !== published.argv.join('\0')) {
    return `the pid file of ${service} was not written by the running supervisor (pid ${channel.supervisorPid}) for this service: it is stale`;
  }
  const check = await checkPid(record);
  return check.ok ? undefined : check.detail;
}

export function createLocalStackClient(options: LocalStackClientOptions): Stack {
  const paths = localStatePaths(options.stateDir);
  const cpuSampleMs = options.cpuSampleMs ?? 500;
  let channel: Promise<ControlChannel> | undefined;

  /** Connected once per driver; a failure is not kept, so the next operation looks again. */
  function connect(): Promise<ControlChannel> {
    channel ??= connectLocalControl(options.stateDir).catch((error: unknown) => {
      channel = undefined;
      throw error;
    });
    return channel;
  }

  async function known(service: string): Promise<ControlChannel> {
    requireServiceName(service);
    const connected = await connect();
    requireKnownService(
      service,
      connected.services.map((entry) => entry.name).sort(),
      WHERE,
    );
    return connected;
  }

  async function readServiceLogs(service: string, normalized: NormalizedLogsOptions): Promise<LogsResult> {
    const lines = (await readLogFile(paths.logFile(service))).map((line) => ({
      replica: service,
      stream: line.stream,
      sortKey: fixedWidthTime(line.time),
      text: line.text,
    }));
    return selectLogLines(service, [lines], normalized);
  }

  /** The last lines a stack that is not running wrote, with when its file was last written; the name is checked against the files. */
  async function stoppedStackLogs(service: string, normalized: NormalizedLogsOptions, why: string): Promise<LogsResult> {
    let logged: string[];
    try {
      logged = await loggedServices(paths.logDir);
    } catch (error) {
      throw new LocalStackNotRunningError(`${why}, and its log files in ${paths.logDir} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; only the user who ran npm start can read them)`);
    }
    if (logged.length === 0) {
      throw new LocalStackNotRunningError(`${why}, and there are no log files in ${paths.logDir} to read either (it never ran with this state directory, or they were removed)`);
    }
    if (!logged.includes(service)) {
      throw new StackError(
        'SERVICE_UNKNOWN',
        `The local stack is not running (${why}), and it left no log file of "${service}" in ${paths.logDir}; it left log files of: ${logged.join(', ')}`,
      );
    }
    const logFile = paths.logFile(service);
    const [result, lastWrite] = await Promise.all([readServiceLogs(service, normalized), logFileLastWrite(logFile)]);
    // Listed a moment ago, so both files missing now were removed in between: the lines read are still the last ones.
    return { ...result, stackStopped: { why, logFile: lastWrite?.file ?? logFile, lastWrittenAt: (lastWrite?.time ?? new Date()).toISOString() } };
  }

  return {
    kind: 'local',
    description: `local processes of npm start, reached through its supervisor at ${paths.supervisorFile}`,

    async services() {
      return (await connect()).services.map((entry) => entry.name).sort();
    },

    async list() {
      return (await (await connect()).call<ListAnswer>('GET', CONTROL_ROUTES.list)).services;
    },

    async health(service): Promise<ServiceHealth> {
      return (await known(service)).call<ServiceHealth>('POST', CONTROL_ROUTES.health, { service } satisfies HealthRequest);
    },

    async restart(service, restartOptions = {}): Promise<RestartReport> {
      requireServiceName(service);
      const timeoutMs = requireTimeout(restartOptions.timeoutMs, DEFAULT_WAIT_MS);
      const connected = await known(service);
      // The supervisor restarts only under an execution record its owner's trail holds; without one it refuses.
      const execution = restartOptions.executionRecord;
      const request: RestartRequest = { service, timeoutMs, ...(execution ? { execution } : {}) };
      return connected.call<RestartReport>('POST', CONTROL_ROUTES.restart, request, timeoutMs + ANSWER_MARGIN_MS);
    },

    async scale(service) {
      await known(service);
      throw localRefusals.scale(service);
    },

    async logs(service, logsOptions = {}) {
      requireServiceName(service);
      const normalized = normalizeLogsOptions(logsOptions);
      let connected: ControlChannel;
      try {
        connected = await connect();
      } catch (error) {
        // Right after a crash is when the files are wanted most: read what the stack left.
        if (error instanceof LocalStackNotRunningError) return stoppedStackLogs(service, normalized, error.why);
        throw error;
      }
      requireKnownService(service, connected.services.map((entry) => entry.name).sort(), WHERE);
      return readServiceLogs(service, normalized);
    },

    async stats(service, statsOptions = {}): Promise<ContainerStats[]> {
      const connected = service === undefined ? await connect() : await known(service);
      const names = service === undefined ? connected.services.map((entry) => entry.name).sort() : [service];
      const chosen: Array<{ service: string; pid: number; stillRunning: () => Promise<boolean> }> = [];
      const skipped: SkippedStats[] = [];
      for (const name of names) {
        const record = await readPidFile(paths.pidFile(name));
        const problem = await pidFileProblem(record, name, connected);
        if (problem) skipped.push({ service: name, reason: problem });
        else chosen.push({ service: name, pid: record!.pid, stillRunning: async () => (await checkPid(record!)).ok });
      }
      // One service asked for and not measurable: say why. All of them: measure those that can be, and name the rest.
      if (chosen.length === 0 && skipped.length > 0) {
        throw new StackError('CONTAINER_MISSING', `Nothing was measured: ${skipped.map((entry) => entry.reason).join('; ')}`);
      }
      return measureProcesses(chosen, skipped, cpuSampleMs, statsOptions.onSkipped);
    },

    async exec(service, command) {
      requireServiceName(service);
      const name = requireExecCommand(command);
      await known(service);
      throw localRefusals.exec(service, name);
    },

    async recreate(service) {
      await known(service);
      throw localRefusals.recreate(service);
    },

    async running(service) {
      return (await known(service)).call<ReleaseArtifact>('POST', CONTROL_ROUTES.running, { service } satisfies RunningRequest);
    },

    async deploy(service, artifact, deployOptions = {}): Promise<DeployReport> {
      requireServiceName(service);
      const timeoutMs = requireTimeout(deployOptions.timeoutMs, DEFAULT_WAIT_MS);
      const connected = await known(service);
      // Like a restart: the supervisor deploys only under an execution record its owner's trail holds.
      const execution = deployOptions.executionRecord;
      const request: DeployRequest = { service, artifact, timeoutMs, ...(execution ? { execution } : {}) };
      try {
        // A failed handover waits for the new process and then the old one: up to twice the timeout.
        return await connected.call<DeployReport>('POST', CONTROL_ROUTES.deploy, request, 2 * timeoutMs + ANSWER_MARGIN_MS);
      } finally {
        // The supervisor republished the service's argv; the next operation reads it, or pid files would look stale.
        channel = undefined;
      }
    },

    async stop(service) {
      await known(service);
      throw localRefusals.stopStart(service, 'Stopping');
    },

    async start(service) {
      await known(service);
      throw localRefusals.stopStart(service, 'Starting');
    },

    async close() {
      pidusage.clear();
    },
  };
}
