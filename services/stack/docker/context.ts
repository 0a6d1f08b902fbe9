/**
 * What every operation of the Docker driver works from: the engine client, the compose project
 * it controls, its waiting times and the guard against two changing operations at once. Each
 * operation is a plain function of this context, so it can be read and tested on its own.
 */
import type Docker from 'dockerode';
import { isConnectionError } from '../../kit/docker-engine.js';
import { createOperationGuard, type OperationGuard } from '../operation-guard.js';
import { StackError } from '../stack.js';
import { DEFAULT_COMPOSE_PROJECT } from './compose-labels.js';
import { DEFAULT_DOCKER_HOST, dockerClient, engineDown, STORAGE_CALL_TIMEOUT_MS } from './engine-connection.js';

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

export interface DockerContext {
  readonly docker: Docker;
  /** The same engine with a long call timeout, for creating and removing containers (STORAGE_CALL_TIMEOUT_MS). */
  readonly storageDocker: Docker;
  /** The engine address, for messages. */
  readonly host: string;
  readonly project: string;
  /** Grace period before a stopped container is killed (docker stop -t). */
  readonly stopTimeout: number;
  /** How often health is polled while waiting. */
  readonly pollMs: number;
  /** The project and engine, for refusals that name the services there are. */
  readonly where: string;
  /** One changing operation per service at a time in this process. */
  readonly guard: OperationGuard;
}

/** How long a restart, scale or recreate waits for each replica to be healthy unless told. */
export const DEFAULT_WAIT_MS = 60_000;

export const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

export function createDockerContext(options: DockerStackOptions = {}): DockerContext {
  const host = options.dockerHost || process.env.DOCKER_HOST || DEFAULT_DOCKER_HOST;
  const project = options.project ?? DEFAULT_COMPOSE_PROJECT;
  return {
    docker: dockerClient(host),
    storageDocker: dockerClient(host, STORAGE_CALL_TIMEOUT_MS),
    host,
    project,
    stopTimeout: options.stopTimeoutSeconds ?? 10,
    pollMs: options.pollIntervalMs ?? 250,
    where: `compose project "${project}" on ${host}`,
    guard: createOperationGuard(),
  };
}

/** Runs an engine call; an unreachable engine becomes ENGINE_DOWN, saying what was not done. */
export async function callEngine<T>(context: Pick<DockerContext, 'host'>, call: () => Promise<T>, notDone?: string[]): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof StackError) throw error;
    if (isConnectionError(error)) throw engineDown(context.host, error, notDone);
    throw error;
  }
}
