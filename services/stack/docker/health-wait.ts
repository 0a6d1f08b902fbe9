/**
 * Waiting for a container to be healthy after a restart, a new replica or a recreate: woken by
 * the engine's events about it, polled at least every poll interval, and stopped early, with the
 * reason, when it exits or is removed.
 */
import type Docker from 'dockerode';
import { StackError } from '../stack.js';
import { lastLogLines } from './container-logs.js';
import { inspectContainer, lastHealthOutput } from './containers.js';
import { seconds, type DockerContext } from './context.js';

interface ContainerEvents {
  next(ms: number): Promise<void>;
  close(): void;
}

/**
 * Wakes on the engine's next event about the container (health change, start, exit, removal)
 * or after `ms`, whichever comes first: a wait then ends as soon as the engine knows, instead of
 * up to one poll interval later. Without an event stream it is a plain sleep.
 */
async function containerEvents(docker: Docker, id: string): Promise<ContainerEvents> {
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
export async function waitUntilHealthy(context: DockerContext, id: string, name: string, timeoutMs: number): Promise<Docker.ContainerInspectInfo> {
  const events = await containerEvents(context.docker, id);
  try {
    return await pollUntilHealthy(context, id, name, timeoutMs, events);
  } finally {
    events.close();
  }
}

async function pollUntilHealthy(
  context: DockerContext,
  id: string,
  name: string,
  timeoutMs: number,
  events: Pick<ContainerEvents, 'next'>,
): Promise<Docker.ContainerInspectInfo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await inspectContainer(context, id);
    if (!info) {
      throw new StackError('CONTAINER_MISSING', `${name} was removed while waiting for it to become healthy; check \`docker ps -a\` for who removed it`);
    }
    const state = info.State;
    if (state.Status === 'exited' || state.Status === 'dead') {
      throw new StackError(
        'UNHEALTHY',
        `${name} stopped (exit code ${state.ExitCode}${state.OOMKilled ? ', killed for running out of memory' : ''}) instead of becoming healthy${await lastLogLines(context, info)}`,
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
    await events.next(Math.min(context.pollMs, Math.max(0, deadline - Date.now())));
  }
}
