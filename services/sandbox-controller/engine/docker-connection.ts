import Docker from 'dockerode';
import { dockerOptionsFor } from '../../kit/docker-engine.js';

/**
 * Two clients to the same engine: `control` for short calls, with a timeout so that a hung engine
 * turns into a clear 503; `streams` for attach and wait, which legitimately last as long as the
 * sandboxed code runs (up to the 600 s limit) and must not be cut by that timeout.
 */
export interface DockerClients {
  control: Docker;
  streams: Docker;
  /** The engine address as configured, for messages (never contains secrets: no TLS material). */
  host: string;
}

const CONTROL_TIMEOUT_MS = 15_000;

export function connectDocker(dockerHost: string): DockerClients {
  const options = dockerOptionsFor(dockerHost);
  return {
    control: new Docker({ ...options, timeout: CONTROL_TIMEOUT_MS }),
    streams: new Docker(options),
    host: dockerHost,
  };
}
