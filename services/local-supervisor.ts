import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface SupervisedProcessOptions {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string | undefined>;
  healthUrl: string;
}

export interface SupervisedProcess {
  name: string;
  pid(): number | undefined;
  restarts(): number;
  waitUntilHealthy(timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 30_000;
/** A process that stayed up this long is considered recovered; its backoff starts over. */
const STABLE_AFTER_MS = 60_000;

/**
 * Runs one service as a child process, prefixes its output with its name, and restarts it with
 * exponential backoff when it exits unexpectedly. (Issue 4 grows this into the local Stack driver.)
 */
export function superviseProcess(options: SupervisedProcessOptions): SupervisedProcess {
  let child: ChildProcess | undefined;
  let stopping = false;
  let restartCount = 0;
  let backoffMs = 1000;
  let restartTimer: NodeJS.Timeout | undefined;

  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(options.env)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }

  function pipe(stream: NodeJS.ReadableStream | null, out: NodeJS.WriteStream): void {
    if (!stream) return;
    createInterface({ input: stream }).on('line', (line) => out.write(`[${options.name}] ${line}\n`));
  }

  function start(): void {
    const startedAt = Date.now();
    child = spawn(options.command, options.args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    pipe(child.stdout, process.stdout);
    pipe(child.stderr, process.stderr);
    child.on('exit', (code, signal) => {
      child = undefined;
      if (stopping) return;
      if (Date.now() - startedAt > STABLE_AFTER_MS) backoffMs = 1000;
      process.stderr.write(`[${options.name}] exited (${signal ?? `code ${code}`}); restarting in ${backoffMs} ms\n`);
      restartTimer = setTimeout(() => {
        restartCount += 1;
        start();
      }, backoffMs);
      backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
    });
  }
  start();

  return {
    name: options.name,
    pid: () => child?.pid,
    restarts: () => restartCount,
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
    async stop() {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      const running = child;
      if (!running) return;
      await new Promise<void>((resolve) => {
        const kill = setTimeout(() => running.kill('SIGKILL'), 10_000);
        running.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        running.kill('SIGTERM');
      });
    },
  };
}
