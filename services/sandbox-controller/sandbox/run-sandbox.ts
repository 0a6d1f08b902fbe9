import type Docker from 'dockerode';
import type { DockerClients } from '../engine/docker-connection.js';
import { CappedOutput } from '../../kit/capped-output.js';
import { engineStatusCode } from '../../kit/docker-engine.js';
import { engineReportedOom } from './oom-report.js';

export interface SandboxRunOptions {
  timeoutMs: number;
  outputLimitBytes: number;
  log?: { warn(obj: object, msg: string): void };
  /** Called with the container id once it exists (for tracking active sandboxes). */
  onCreated?: (containerId: string) => void;
  /** Aborted on shutdown: the container is killed as soon as it runs, even if it had not started yet. */
  stop?: AbortSignal;
}

export interface CapturedStream {
  text: string;
  bytes: number;
  truncated: boolean;
}

export interface SandboxRun {
  containerId: string;
  exitCode: number | null;
  timedOut: boolean;
  oomKilled: boolean;
  durationMs: number;
  stdout: CapturedStream;
  stderr: CapturedStream;
}

/** How long past the timeout the engine may take to report the killed container's exit. */
const WAIT_MARGIN_MS = 30_000;

/** How long to wait for the output stream to drain after the container has exited. */
const DRAIN_MS = 2000;

/** Exit status of a process ended by SIGKILL (128 + 9): the kernel's OOM killer, or a kill. */
const SIGKILL_EXIT = 137;

function captured(output: CappedOutput): CapturedStream {
  return { text: output.text(), bytes: output.total, truncated: output.truncated };
}

function ended(stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Creates the container, attaches to its output before starting it (so nothing is missed),
 * kills it at the timeout, and removes it afterwards whatever happened.
 */
export async function runSandbox(
  docker: DockerClients,
  spec: Docker.ContainerCreateOptions,
  options: SandboxRunOptions,
): Promise<SandboxRun> {
  const created = await docker.control.createContainer(spec);
  const containerId = created.id;
  options.onCreated?.(containerId);
  const control = docker.control.getContainer(containerId);
  const streaming = docker.streams.getContainer(containerId);
  const stdout = new CappedOutput(options.outputLimitBytes);
  const stderr = new CappedOutput(options.outputLimitBytes);
  let output: NodeJS.ReadableStream | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopListener: (() => void) | undefined;
  try {
    output = (await streaming.attach({ stream: true, stdout: true, stderr: true, logs: false })) as NodeJS.ReadableStream;
    docker.streams.modem.demuxStream(output, stdout, stderr);
    const drained = ended(output);

    let timedOut = false;
    const startedAtMs = Date.now();
    await control.start();
    const startedAt = performance.now();
    // A kill sent between create and start is refused (409, not running), so a stop that came
    // early is applied only now that the container runs.
    if (options.stop) {
      stopListener = () => {
        control.kill({ signal: 'SIGKILL' }).catch((error: unknown) => {
          if (engineStatusCode(error) !== 409) options.log?.warn({ err: error, containerId }, 'could not kill a stopped sandbox');
        });
      };
      if (options.stop.aborted) stopListener();
      else options.stop.addEventListener('abort', stopListener, { once: true });
    }
    // Asked after start with the default condition (not-running): a container that already
    // exited answers at once, so a fast program cannot slip past the waiter.
    const exited = streaming.wait() as Promise<{ StatusCode: number }>;
    timer = setTimeout(() => {
      timedOut = true;
      control.kill({ signal: 'SIGKILL' }).catch((error: unknown) => {
        // 409: it exited on its own between the timer firing and the kill.
        if (engineStatusCode(error) !== 409) options.log?.warn({ err: error, containerId }, 'could not kill a timed-out sandbox');
      });
    }, options.timeoutMs);

    // A hung engine would leave the wait open forever; past the kill plus a margin, give up on it.
    let guard: NodeJS.Timeout | undefined;
    const exit = await Promise.race([
      exited,
      new Promise<never>((_, reject) => {
        guard = setTimeout(() => reject(new Error('timeout: the Docker Engine did not report the exit of a killed sandbox')), options.timeoutMs + WAIT_MARGIN_MS);
      }),
    ]).finally(() => clearTimeout(guard));
    const durationMs = Math.round(performance.now() - startedAt);
    clearTimeout(timer);
    await Promise.race([drained, delay(DRAIN_MS)]);
    const state = (await control.inspect()).State;
    const exitCode = typeof exit.StatusCode === 'number' ? exit.StatusCode : (state.ExitCode ?? null);
    // A SIGKILL we did not send is the OOM killer's or the program's own: the engine's event log says which.
    const oomKilled = state.OOMKilled === true || (exitCode === SIGKILL_EXIT && !timedOut && options.stop?.aborted !== true && (await engineReportedOom(docker.streams, containerId, startedAtMs)));
    return {
      containerId,
      exitCode,
      timedOut,
      oomKilled,
      durationMs,
      stdout: captured(stdout),
      stderr: captured(stderr),
    };
  } finally {
    if (timer) clearTimeout(timer);
    if (stopListener) options.stop?.removeEventListener('abort', stopListener);
    (output as { destroy?: () => void } | undefined)?.destroy?.();
    await control.remove({ force: true, v: true }).catch((error: unknown) => {
      if (engineStatusCode(error) !== 404) {
        options.log?.warn({ err: error, containerId }, 'could not remove a sandbox container; the orphan reaper will retry');
      }
    });
  }
}
