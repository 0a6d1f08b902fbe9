/**
 * Reaching the Docker Engine and turning its failures into StackErrors a person can act on.
 */
import { createRequire } from 'node:module';
import type Docker from 'dockerode';
import { dockerOptionsFor, engineErrorText } from '../../kit/docker-engine.js';
import { StackError } from '../stack.js';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** Short engine calls; long waits (health, exec) poll with their own deadlines. */
const CALL_TIMEOUT_MS = 15_000;

/**
 * Creating or removing a container copies or deletes its whole filesystem with the vfs storage
 * driver: tens of seconds on a busy disk, with the engine silent meanwhile (bench:deploy saw a
 * removal outlast 15 s and be taken for an engine that is down).
 */
export const STORAGE_CALL_TIMEOUT_MS = 120_000;

/** dockerode for a DOCKER_HOST value (unix:///path or tcp://host:port); a bad value is refused with an example. */
export function dockerClient(dockerHost: string, timeoutMs = CALL_TIMEOUT_MS): Docker {
  let url: URL;
  try {
    url = new URL(dockerHost);
  } catch {
    throw new StackError('INVALID_ARGUMENT', `DOCKER_HOST=${dockerHost} is not a URL; use unix:///var/run/docker.sock or tcp://127.0.0.1:2375`);
  }
  if (!['unix:', 'tcp:', 'http:'].includes(url.protocol)) {
    throw new StackError(
      'INVALID_ARGUMENT',
      `DOCKER_HOST=${dockerHost} uses ${url.protocol}, which the bot does not support; use unix:///path/to/docker.sock or tcp://host:port`,
    );
  }
  return new (loadDockerode())({ ...dockerOptionsFor(dockerHost), timeout: timeoutMs });
}

/**
 * dockerode (with its gRPC and OpenTelemetry dependencies) takes about 0.7 s of CPU to load: loaded
 * on the first engine call, not by every `npx acgs` and bot start that never reaches an engine.
 */
export function loadDockerode(): typeof Docker {
  return createRequire(import.meta.url)('dockerode') as typeof Docker;
}

export function engineDown(dockerHost: string, error: unknown, notDone?: string[]): StackError {
  return new StackError(
    'ENGINE_DOWN',
    `The Docker Engine at ${dockerHost} does not answer (${engineErrorText(error)}). Start it (scripts/provision.sh starts dockerd), ` +
      'or point DOCKER_HOST at a running one; ACGS_STACK=local controls the local processes instead.',
    { cause: error, ...(notDone ? { notDone } : {}) },
  );
}
