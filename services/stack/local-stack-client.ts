/**
 * The Stack port over the local stack of ANOTHER process (`npm start` or `npm run start:stack`),
 * for the CLI. Status, health and restart go to that process's supervisor through its control
 * channel (services/stack/local-control.ts): it restarts its own child with the same environment
 * and waits for health. Logs are read from the log files the supervisor writes, stats sample the
 * pids of its pid files once /proc shows that each still runs what the file says. Scale, exec and
 * recreate are refused with the in-process driver's words. No operation here sends a signal.
 */
import pidusage from 'pidusage';
import { localStatePaths, checkPid, readPidFile, type PidRecord } from '../local-state.js';
import { readLogFile } from '../local-log-file.js';
import { connectLocalControl, type ControlChannel } from './local-control-client.js';
import { fixedWidthTime, selectLogLines } from './log-lines.js';
import { localRefusals, sampleProcesses } from './local-stack.js';
import {
  StackError,
  normalizeLogsOptions,
  requireExecCommand,
  requireKnownService,
  requireServiceName,
  requireTimeout,
  type ContainerStats,
  type RestartReport,
  type ServiceHealth,
  type ServiceStatus,
  type Stack,
} from './stack.js';

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

  return {
    kind: 'local',
    description: `local processes of npm start, reached through its supervisor at ${paths.supervisorFile}`,

    async services() {
      return (await connect()).services.map((entry) => entry.name).sort();
    },

    async list() {
      return (await (await connect()).call<{ services: ServiceStatus[] }>('GET', '/v1/stack')).services;
    },

    async health(service): Promise<ServiceHealth> {
      return (await known(service)).call<ServiceHealth>('POST', '/v1/stack/health', { service });
    },

    async restart(service, restartOptions = {}): Promise<RestartReport> {
      requireServiceName(service);
      const timeoutMs = requireTimeout(restartOptions.timeoutMs, DEFAULT_WAIT_MS);
      const connected = await known(service);
      return connected.call<RestartReport>('POST', '/v1/stack/restart', { service, timeoutMs }, timeoutMs + ANSWER_MARGIN_MS);
    },

    async scale(service) {
      await known(service);
      throw localRefusals.scale(service);
    },

    async logs(service, logsOptions = {}) {
      requireServiceName(service);
      const normalized = normalizeLogsOptions(logsOptions);
      await known(service);
      const lines = (await readLogFile(paths.logFile(service))).map((line) => ({
        replica: service,
        stream: line.stream,
        sortKey: fixedWidthTime(line.time),
        text: line.text,
      }));
      return selectLogLines(service, [lines], normalized);
    },

    async stats(service): Promise<ContainerStats[]> {
      const connected = service === undefined ? await connect() : await known(service);
      const names = service === undefined ? connected.services.map((entry) => entry.name).sort() : [service];
      const chosen: Array<{ service: string; pid: number; stillRunning: () => Promise<boolean> }> = [];
      const problems: string[] = [];
      for (const name of names) {
        const record = await readPidFile(paths.pidFile(name));
        const problem = await pidFileProblem(record, name, connected);
        if (problem) problems.push(problem);
        else chosen.push({ service: name, pid: record!.pid, stillRunning: async () => (await checkPid(record!)).ok });
      }
      // One service asked for and not measurable: say why. All of them: measure those that can be.
      if (chosen.length === 0 && problems.length > 0) {
        throw new StackError('CONTAINER_MISSING', `Nothing was measured: ${problems.join('; ')}`);
      }
      return sampleProcesses(chosen, cpuSampleMs);
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

    async close() {
      pidusage.clear();
    },
  };
}
