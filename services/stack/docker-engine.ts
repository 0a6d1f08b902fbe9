/**
 * Reaching the Docker Engine and turning its failures into StackErrors a person can act on.
 */
import Docker from 'dockerode';
import { engineErrorText, engineStatusCode, isConnectionError } from '../sandbox-controller/engine/docker-connection.js';
import { StackError } from './stack.js';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';

/** Short engine calls; long waits (health, exec) poll with their own deadlines. */
const CALL_TIMEOUT_MS = 15_000;

/** dockerode for a DOCKER_HOST value (unix:///path or tcp://host:port); a bad value is refused with an example. */
export function dockerClient(dockerHost: string, timeoutMs = CALL_TIMEOUT_MS): Docker {
  let url: URL;
  try {
    url = new URL(dockerHost);
  } catch {
    throw new StackError('INVALID_ARGUMENT', `DOCKER_HOST=${dockerHost} is not a URL; use unix:///var/run/docker.sock or tcp://127.0.0.1:2375`);
  }
  if (url.protocol === 'unix:') {
    // host: undefined stops docker-modem from reading a tcp DOCKER_HOST from the environment instead.
    return new Docker({ socketPath: url.pathname, host: undefined, timeout: timeoutMs });
  }
  if (url.protocol === 'tcp:' || url.protocol === 'http:') {
    // URL keeps the brackets of an IPv6 host; the socket layer wants the bare address.
    return new Docker({ host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port || '2375', protocol: 'http', timeout: timeoutMs });
  }
  throw new StackError(
    'INVALID_ARGUMENT',
    `DOCKER_HOST=${dockerHost} uses ${url.protocol}, which the bot does not support; use unix:///path/to/docker.sock or tcp://host:port`,
  );
}

export function engineDown(dockerHost: string, error: unknown, notDone?: string[]): StackError {
  return new StackError(
    'ENGINE_DOWN',
    `The Docker Engine at ${dockerHost} does not answer (${engineErrorText(error)}). Start it (scripts/provision.sh starts dockerd), ` +
      'or point DOCKER_HOST at a running one; ACGS_STACK=local controls the local processes instead.',
    { cause: error, ...(notDone ? { notDone } : {}) },
  );
}

export { engineErrorText, engineStatusCode, isConnectionError };

export const isNotFound = (error: unknown) => engineStatusCode(error) === 404;
