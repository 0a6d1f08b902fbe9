import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { ServiceLaunch } from './local-launch.js';
import { openLogFile, type LogFileWriter } from './local-log-file.js';
import { removePidFile, writePidFile } from './local-state.js';

export interface SupervisedProcessOptions {
  name: string;
  command: string;
  args: string[];
  /** The child's working directory (default: this process's). */
  cwd?: string;
  env: Record<string, string | undefined>;
  healthUrl: string;
  /** Output lines kept for the local Stack driver's logs (default 2000). */
  logCapacity?: number;
  /** Copy output to this process's stdout/stderr with a name prefix (default true). */
  echo?: boolean;
  /** Publish the running child's pid here (services/stack/local/local-state.ts), removed when it exits. */
  pidFile?: string;
  /** Also write every output line to this capped, rotating file (services/stack/local/local-log-file.ts). */
  logFile?: string;
  /** The log file's cap before it rotates (default 4 MiB). */
  logFileBytes?: number;
}

export interface ProcessLogLine {
  /** ISO 8601, when the line was read. */
  time: string;
  stream: 'stdout' | 'stderr';
  text: string;
}

export interface SupervisedExit {
  at: Date;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** running: a child is up; backoff: it exited and waits to be restarted; held: hold() ended it until release(); stopped: stop() was called. */
export type SupervisedState = 'running' | 'backoff' | 'held' | 'stopped';

export interface SupervisedProcess {
  name: string;
  healthUrl: string;
  /** The command line, for listings. */
  readonly commandLine: string;
  /** The child's argv (command first), as its pid file publishes it. */
  readonly argv: string[];
  /** What the next child is started with (command, args, working directory). */
  launch(): ServiceLaunch;
  /**
   * Changes what every later child is started with (a deploy's release directory); the running
   * child, if any, is not touched. Listeners of onLaunchChanged are told.
   */
  relaunch(launch: ServiceLaunch): void;
  /** Told after each relaunch (the control channel republishes the argv). */
  onLaunchChanged(listener: () => void): void;
  pid(): number | undefined;
  /** Restarts after an unexpected exit; restart(), hold() and release() never count. */
  restarts(): number;
  /** The last unexpected exit, if there was one. */
  lastExit(): SupervisedExit | undefined;
  state(): SupervisedState;
  /** When the current child started; undefined while none runs. */
  startedAt(): Date | undefined;
  /** The most recent output lines, oldest first. */
  logs(): ProcessLogLine[];
  /** Stops the current child (SIGTERM and SIGCONT, SIGKILL after 10 s) and starts a new one at once. */
  restart(): Promise<void>;
  waitUntilHealthy(timeoutMs: number): Promise<boolean>;
  /** Ends the child and keeps it ended (no restart) until release(): a restore's writers are held so. */
  hold(): Promise<void>;
  /** Starts a held child again; does nothing to one that runs. */
  release(): void;
  stop(): Promise<void>;
  /**
   * Ends the child and whatever it started at once (SIGKILL to its process group), synchronously,
   * and restarts nothing: for a supervisor that exits now (a second Ctrl-C) and cannot wait for a
   * graceful stop. Without it a child hung in its shutdown outlives its parent until its own
   * grace period ends it.
   */
  killNow(): void;
}

/** The last `capacity` items, in a fixed array: output of a chatty child costs bounded memory. */
class RingBuffer<T> {
  private readonly items: T[] = [];
  private next = 0;

  constructor(private readonly capacity: number) {}

  push(item: T): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }

  toArray(): T[] {
    return this.items.length < this.capacity ? [...this.items] : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }
}

const MAX_BACKOFF_MS = 30_000;
/** A process that stayed up this long is considered recovered; its backoff starts over. */
const STABLE_AFTER_MS = 60_000;

/**
 * Runs one service as a child process, prefixes its output with its name, and restarts it with
 * exponential backoff when it exits unexpectedly. Keeps its recent output and can be restarted on
 * request, for the local Stack driver (services/stack/local/local-stack.ts).
 */
export function superviseProcess(options: SupervisedProcessOptions): SupervisedProcess {
  let child: ChildProcess | undefined;
  let stopping = false;
  let restartCount = 0;
  let lastExit: SupervisedExit | undefined;
  let backoffMs = 1000;
  let restartTimer: NodeJS.Timeout | undefined;
  let childStartedAt: Date | undefined;
  /** Set while restart() replaces the child, so its exit is not treated as a crash. */
  let replacing = false;
  /** Set while held: an exit is expected and nothing is restarted. */
  let held = false;
  const output = new RingBuffer<ProcessLogLine>(Math.max(1, options.logCapacity ?? 2000));
  const echo = options.echo ?? true;
  let launch: ServiceLaunch = { command: options.command, args: [...options.args], ...(options.cwd !== undefined ? { cwd: options.cwd } : {}) };
  const launchListeners: Array<() => void> = [];
  const argvOf = () => [launch.command, ...launch.args];
  const logFile: LogFileWriter | undefined = options.logFile
    ? openLogFile(options.logFile, {
        ...(options.logFileBytes !== undefined ? { maxBytes: options.logFileBytes } : {}),
        onError: (error) => process.stderr.write(`[${options.name}] cannot write its log file ${options.logFile} (${error.message}); logs stay in memory only\n`),
      })
    : undefined;

  /** A line of the child's output: into the ring buffer, the log file and, when echoing, our own output. */
  function keep(kind: ProcessLogLine['stream'], text: string, out: NodeJS.WriteStream): void {
    const line = { time: new Date().toISOString(), stream: kind, text };
    output.push(line);
    logFile?.write(line);
    if (echo) out.write(`[${options.name}] ${text}\n`);
  }

  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(options.env)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }

  function pipe(stream: NodeJS.ReadableStream | null, out: NodeJS.WriteStream, kind: ProcessLogLine['stream']): void {
    if (!stream) return;
    createInterface({ input: stream }).on('line', (line) => keep(kind, line, out));
  }

  function start(): void {
    const startedAt = Date.now();
    childStartedAt = new Date(startedAt);
    // The IPC channel is how the child learns that the supervisor died (kit/run.ts exitWithSupervisor).
    // Its own process group: a terminal's Ctrl-C (SIGINT to the whole foreground group) reaches only
    // the supervisor, which stops its children in its own order, after what still needs them (the
    // bot's governance outbox delivers to the Audit Engine before that stops), never as a crash to restart.
    const spawned = spawn(launch.command, launch.args, { env, cwd: launch.cwd, stdio: ['ignore', 'pipe', 'pipe', 'ipc'], detached: true });
    child = spawned;
    pipe(spawned.stdout, process.stdout, 'stdout');
    pipe(spawned.stderr, process.stderr, 'stderr');
    const pid = spawned.pid;
    if (options.pidFile && pid !== undefined) {
      try {
        writePidFile(options.pidFile, { service: options.name, pid, argv: argvOf(), startedAt: childStartedAt.toISOString(), supervisorPid: process.pid });
      } catch (error) {
        process.stderr.write(`[${options.name}] cannot write its pid file ${options.pidFile} (${(error as Error).message})\n`);
      }
    }
    spawned.on('exit', (code, signal) => {
      if (options.pidFile && pid !== undefined) removePidFile(options.pidFile, pid);
      child = undefined;
      childStartedAt = undefined;
      if (stopping || replacing || held) return;
      lastExit = { at: new Date(), code, signal };
      if (Date.now() - startedAt > STABLE_AFTER_MS) backoffMs = 1000;
      const note = `exited (${signal ?? `code ${code}`}); restarting in ${backoffMs} ms`;
      // In the file (for whoever reads it later), not in the ring buffer, which holds the child's own output.
      logFile?.write({ time: new Date().toISOString(), stream: 'stderr', text: `[supervisor] ${note}` });
      process.stderr.write(`[${options.name}] ${note}\n`);
      // A one-off restart with a doubling back-off, not a periodic job: it is armed by each exit.
      restartTimer = setTimeout(() => {
        restartCount += 1;
        start();
      }, backoffMs);
      backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    });
  }
  start();

  /** Ends the running child, if any: SIGTERM (and SIGCONT), then SIGKILL after 10 s. */
  function endChild(): Promise<void> {
    const running = child;
    if (!running) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const kill = setTimeout(() => running.kill('SIGKILL'), 10_000);
      running.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      running.kill('SIGTERM');
      // A stopped child (SIGSTOP, a frozen service Level 1 restarts) keeps SIGTERM pending and would
      // wait out the 10 s for SIGKILL; continued after it, it shuts down gracefully at once. Sent
      // after SIGTERM, so that it runs nothing before seeing it; a running child ignores SIGCONT.
      running.kill('SIGCONT');
    });
  }

  return {
    name: options.name,
    healthUrl: options.healthUrl,
    get commandLine() {
      return argvOf().join(' ');
    },
    get argv() {
      return argvOf();
    },
    launch: () => ({ ...launch, args: [...launch.args] }),
    relaunch(next) {
      launch = { command: next.command, args: [...next.args], ...(next.cwd !== undefined ? { cwd: next.cwd } : {}) };
      for (const listener of launchListeners) listener();
    },
    onLaunchChanged(listener) {
      launchListeners.push(listener);
    },
    pid: () => child?.pid,
    restarts: () => restartCount,
    lastExit: () => (lastExit ? { ...lastExit } : undefined),
    state: () => (stopping ? 'stopped' : held && !child ? 'held' : child ? 'running' : 'backoff'),
    startedAt: () => childStartedAt,
    logs: () => output.toArray(),
    async restart() {
      if (stopping) throw new Error(`${options.name} is stopped; it cannot be restarted`);
      held = false;
      if (restartTimer) clearTimeout(restartTimer);
      replacing = true;
      try {
        await endChild();
      } finally {
        replacing = false;
      }
      if (stopping) return;
      // A deliberate restart starts over: no backoff left from earlier crashes.
      backoffMs = 1000;
      start();
    },
    async waitUntilHealthy(timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        try {
          const response = await fetch(options.healthUrl, { signal: AbortSignal.timeout(1000) });
          if (response.status < 500 || response.status === 503) {
            // 503 means "up but unhealthy" (e.g. no container runtime): the process itself is serving.
            return true;
          }
        } catch {
          // not listening yet
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      return false;
    },
    async hold() {
      if (stopping) return;
      held = true;
      if (restartTimer) clearTimeout(restartTimer);
      await endChild();
    },
    release() {
      if (stopping || !held) return;
      held = false;
      backoffMs = 1000;
      if (!child) start();
    },
    async stop() {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      await endChild();
      logFile?.close();
    },
    killNow() {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      const pid = child?.pid;
      if (pid === undefined) return;
      try {
        // Detached: the child leads its own process group, so -pid is it and its children.
        process.kill(-pid, 'SIGKILL');
      } catch {
        child?.kill('SIGKILL');
      }
    },
  };
}
