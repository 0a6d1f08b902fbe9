/**
 * The Stack port: what the bot's commands may do to the running services, whatever runs them
 * (containers of the compose project through the Docker Engine, or local supervised processes).
 * Everything that crosses it is plain data, so commands can render it for Slack, the console and
 * the CLI alike, and every failure is a StackError whose message a person can act on.
 */
import type { ExecCommandName } from './exec-commands.js';
import type { ReleaseArtifact } from './releases/release.js';

export type StackKind = 'docker' | 'local';

/** Lifecycle state of one replica; `docker ps` words, plus `backoff` for a local process waiting to be restarted. */
export type ReplicaState = 'created' | 'running' | 'restarting' | 'paused' | 'exited' | 'dead' | 'removing' | 'backoff' | 'stopped';

/** `none`: the replica has no health check and counts as up while it runs. */
export type ReplicaHealth = 'healthy' | 'unhealthy' | 'starting' | 'none';

export interface Replica {
  /** Container id (full), or `local:<service>` for a local process. */
  id: string;
  /** Container name (`acgs-policy-engine`, `acgs-web-2`) or the process's service name. */
  name: string;
  /** Compose replica number (com.docker.compose.container-number); 1 for a local process. */
  number: number;
  state: ReplicaState;
  health: ReplicaHealth;
  /** Image reference, or the command line of a local process. */
  image: string;
  /** When the current run started (ISO 8601); null when it is not running. */
  startedAt: string | null;
  uptimeSeconds: number | null;
  /** Process id of a local process (undefined for containers). */
  pid?: number;
  /**
   * Times the engine or the supervisor restarted it on its own after it exited unexpectedly (a
   * crash). Restarts, stops, starts and deploys asked through this port never count: Docker's
   * RestartCount counts only restart-policy restarts, and the local supervisor only its own.
   */
  restarts: number;
  /**
   * Stopped on purpose through this port (`stop`, a restore's hold): nothing brings it back until
   * `start`. Absent when it is not (or the driver cannot tell).
   */
  held?: true;
  /** Its last unexpected exit, when the driver knows it (the local supervisor does; Docker resets the exit code on restart). */
  lastExit?: ReplicaExit;
}

export interface ReplicaExit {
  /** ISO 8601. */
  at: string;
  /** The exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it (`SIGKILL`), or null. */
  signal: string | null;
}

export interface ServiceStatus {
  name: string;
  /** Ordered by replica number. */
  replicas: Replica[];
}

/** A service's health: `down` when no replica runs, `degraded` when some but not all are healthy. */
export type ServiceHealthStatus = 'healthy' | 'degraded' | 'unhealthy' | 'starting' | 'down';

export interface ServiceHealth {
  service: string;
  status: ServiceHealthStatus;
  replicas: Array<{ id: string; name: string; state: ReplicaState; health: ReplicaHealth; detail?: string }>;
}

export interface RestartOptions {
  /** How long to wait for each replica to be healthy again (default 60 s). */
  timeoutMs?: number;
  /** Told after each replica of several is back, before the next one restarts (a command's progress). If it throws, the restart goes on. */
  onReplicaRestarted?: (replica: RestartedReplica, position: { index: number; total: number }) => Promise<void> | void;
  /**
   * The key of the committed `execution` record this restart runs under (CommandContext.execution).
   * The local stack of another process restarts only with one its owner's audit trail holds
   * (services/stack/local/local-control.ts); the drivers that act themselves ignore it.
   */
  executionRecord?: string;
}

export interface RestartedReplica {
  name: string;
  previousId: string;
  /** Same as previousId for a container restarted in place; a local process gets a new pid. */
  id: string;
  previousStartedAt: string | null;
  startedAt: string | null;
  /** Local processes: the process ids before and after. */
  previousPid?: number;
  pid?: number;
  health: ReplicaHealth;
}

export interface RestartReport {
  service: string;
  replicas: RestartedReplica[];
  durationMs: number;
  health: ServiceHealthStatus;
}

/** A service held stopped (`stop`): its replicas, which `start` brings back. */
export interface StopReport {
  service: string;
  /** Replica names now stopped (those stopped already included). */
  stopped: string[];
  durationMs: number;
}

export interface StartOptions {
  /** How long to wait for each replica to be healthy (default 60 s). */
  timeoutMs?: number;
}

export interface StartReport {
  service: string;
  started: string[];
  durationMs: number;
  health: ServiceHealthStatus;
}

export interface ScaleOptions {
  /** How long to wait for each new replica to be healthy (default 60 s). */
  timeoutMs?: number;
}

export interface ScaleReport {
  service: string;
  from: number;
  to: number;
  created: string[];
  removed: string[];
  /** Things the person should know, e.g. a published port moved to an ephemeral one. */
  notes: string[];
  durationMs: number;
}

/** The most lines one logs call returns; commands show fewer. */
export const MAX_LOG_LINES = 1000;
export const DEFAULT_LOG_LINES = 100;
/** A longer line is cut (and marked) so one runaway line cannot fill a message. */
export const MAX_LOG_LINE_CHARS = 2000;
/** With a filter, how many recent lines per replica are searched for matches. */
export const LOG_SCAN_LINES = 10_000;
export const MAX_GREP_CHARS = 200;

export interface LogsOptions {
  /** Lines to return, 1..MAX_LOG_LINES (default DEFAULT_LOG_LINES): the last ones (after filtering). */
  tail?: number;
  /** Only lines written at or after this instant. */
  since?: Date;
  /** Plain text, matched case-insensitively as a substring; never a pattern, never a shell word. */
  grep?: string;
}

export interface LogLine {
  /** Replica (container or process) name. */
  replica: string;
  stream: 'stdout' | 'stderr';
  /** ISO 8601, when the line was written. */
  time: string;
  text: string;
}

export interface LogsResult {
  service: string;
  /** Oldest first, replicas interleaved by time. */
  lines: LogLine[];
  /** Lines looked at (per the window) before the filter and the tail were applied. */
  scanned: number;
  /** True when more lines matched than were returned, or a line was cut. */
  truncated: boolean;
  /**
   * Set when the stack is not running and these are the last lines it wrote (the CLI's local
   * driver reads the log files a stopped or crashed supervisor left).
   */
  stackStopped?: StoppedStackLogs;
}

export interface StoppedStackLogs {
  /** Why the stack counts as not running, e.g. its supervisor's pid is gone. */
  why: string;
  /** The log file the lines were read from (its `.1` before it). */
  logFile: string;
  /** ISO 8601: when that file was last written, so the reader knows how old "last" is. */
  lastWrittenAt: string;
}

export interface ContainerStats {
  service: string;
  replica: string;
  id: string;
  cpuPercent: number;
  memory: { usedBytes: number; limitBytes: number; percent: number };
  /** null where the driver cannot tell per replica (host networking, local processes). */
  network: { rxBytes: number; txBytes: number } | null;
  blockIo: { readBytes: number; writeBytes: number } | null;
  pids: number | null;
}

/** A service `stats` of every service could not measure, and why (the words `stats <service>` would fail with). */
export interface SkippedStats {
  service: string;
  /** The replica left out, when the service has several (Docker); otherwise the service is it. */
  replica?: string;
  reason: string;
}

export interface StatsOptions {
  /** Told each service that was left out of the samples; drivers that never skip one never call it. */
  onSkipped?(skipped: SkippedStats): void;
}

export interface ExecOptions {
  /** Replica number to run in (default: the lowest-numbered running one). */
  replica?: number;
  timeoutMs?: number;
}

export interface ExecResult {
  service: string;
  replica: string;
  command: ExecCommandName;
  /** The argv that ran, for the record. */
  argv: readonly string[];
  exitCode: number;
  output: string;
  truncated: boolean;
  durationMs: number;
}

export interface RecreateOptions {
  /** How long to wait for each new replica to be healthy (default 60 s). */
  timeoutMs?: number;
}

export interface RecreatedReplica {
  name: string;
  previousId: string;
  id: string;
  previousImage: string;
  /** side-by-side: old ran until the new was healthy; handover: old was stopped (kept) while the new one started on its port. */
  strategy: 'side-by-side' | 'handover';
  /** How long this replica's service had no healthy replica of it: 0 side by side; from stopping the old to the new one healthy in a handover. */
  unavailableMs: number;
}

export interface RecreateReport {
  service: string;
  image: string;
  replicas: RecreatedReplica[];
  durationMs: number;
}

export interface DeployOptions {
  /** How long to wait for each new replica to be healthy (default 60 s). */
  timeoutMs?: number;
  /** The committed `execution` record the deploy runs under, as for restart (RestartOptions.executionRecord). */
  executionRecord?: string;
}

export interface DeployReport {
  service: string;
  artifact: ReleaseArtifact;
  previous: ReleaseArtifact;
  /** side-by-side: the old ran until the new was healthy; handover: the old was stopped (kept) while the new one started. */
  strategy: 'side-by-side' | 'handover';
  durationMs: number;
  /** The longest time with no healthy replica. */
  unavailableMs: number;
  health: ServiceHealthStatus;
}

export interface Stack {
  readonly kind: StackKind;
  /** Where it runs, for messages: the engine address and project, or "local processes". */
  readonly description: string;
  /** Names of the services in the stack, sorted. */
  services(): Promise<string[]>;
  list(): Promise<ServiceStatus[]>;
  health(service: string): Promise<ServiceHealth>;
  /** Restarts every replica of the service one after another, each waiting until it is healthy again. */
  restart(service: string, options?: RestartOptions): Promise<RestartReport>;
  scale(service: string, replicas: number, options?: ScaleOptions): Promise<ScaleReport>;
  /**
   * Stops every replica of the service and keeps it stopped (no restart policy, no supervisor
   * brings it back) until `start`: what a restore needs from the services that write a database.
   */
  stop(service: string): Promise<StopReport>;
  /** Starts the replicas of a stopped service again, each waited for until healthy; a running one is left as it is. */
  start(service: string, options?: StartOptions): Promise<StartReport>;
  logs(service: string, options?: LogsOptions): Promise<LogsResult>;
  /** One sample per running replica of every service (or of one service). */
  stats(service?: string, options?: StatsOptions): Promise<ContainerStats[]>;
  exec(service: string, command: ExecCommandName, options?: ExecOptions): Promise<ExecResult>;
  /** Replaces each replica with one from `image`, one at a time, keeping the old until the new is healthy. */
  recreate(service: string, image: string, options?: RecreateOptions): Promise<RecreateReport>;
  /**
   * Replaces the service's replicas with ones running `artifact`: side by side where the service
   * can run twice, else handover (stop old, start new). A new replica not healthy in time is
   * removed and the old one put back at once; then a StackError('UNHEALTHY', ..., { done, notDone }).
   */
  deploy(service: string, artifact: ReleaseArtifact, options?: DeployOptions): Promise<DeployReport>;
  /** What each service runs now (image or directory), from the driver's own state. */
  running(service: string): Promise<ReleaseArtifact>;
  /** Releases connections; does not stop the stack. */
  close(): Promise<void>;
}

export const STACK_ERROR_CODES = [
  'ENGINE_DOWN',
  'SERVICE_UNKNOWN',
  'CONTAINER_MISSING',
  'IMAGE_MISSING',
  'TIMEOUT',
  'UNHEALTHY',
  'NOT_SUPPORTED',
  'PARTIAL',
  'INVALID_ARGUMENT',
  'BUSY',
  'NOT_RUNNING',
] as const;

export type StackErrorCode = (typeof STACK_ERROR_CODES)[number];

export interface StackErrorOptions {
  /** Steps that were carried out before the failure (shown to the person). */
  done?: string[];
  /** Steps that were not carried out. */
  notDone?: string[];
  cause?: unknown;
}

/**
 * A failure of a stack operation whose message is safe to show and says what to do. When an
 * operation stopped half way the message ends with what was done and what was not; the same
 * lists are on `done`/`notDone` for renderers.
 */
export class StackError extends Error {
  /** The message without the done / not done lists, for wrapping into a larger operation's error. */
  readonly reason: string;
  readonly done: string[];
  readonly notDone: string[];

  constructor(
    readonly code: StackErrorCode,
    message: string,
    options: StackErrorOptions = {},
  ) {
    const done = options.done ?? [];
    const notDone = options.notDone ?? [];
    const parts = [message];
    if (done.length > 0) parts.push(`Done: ${done.join('; ')}.`);
    if (notDone.length > 0) parts.push(`Not done: ${notDone.join('; ')}.`);
    super(parts.join(' '), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StackError';
    this.reason = message;
    this.done = done;
    this.notDone = notDone;
  }
}

export function isStackError(value: unknown, code?: StackErrorCode): value is StackError {
  return value instanceof StackError && (code === undefined || value.code === code);
}

/** Replica counts a scale may ask for. 0 is refused: the Docker driver clones a running replica's configuration. */
export const MAX_REPLICAS = 10;

/** The overall health of a service from its replicas. */
export function serviceHealthOf(replicas: ReadonlyArray<{ state: ReplicaState; health: ReplicaHealth }>): ServiceHealthStatus {
  const running = replicas.filter((replica) => replica.state === 'running');
  if (running.length === 0) return 'down';
  const healthy = running.filter((replica) => replica.health === 'healthy' || replica.health === 'none').length;
  if (healthy === replicas.length) return 'healthy';
  if (healthy > 0) return 'degraded';
  return running.some((replica) => replica.health === 'starting') ? 'starting' : 'unhealthy';
}

export function uptimeSeconds(startedAt: string | null, now = Date.now()): number | null {
  if (!startedAt) return null;
  return Math.max(0, Math.round((now - Date.parse(startedAt)) / 1000));
}
