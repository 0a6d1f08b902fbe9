import Docker from 'dockerode';

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

export function dockerOptionsFor(dockerHost: string): Docker.DockerOptions {
  const url = new URL(dockerHost);
  if (url.protocol === 'unix:') {
    // host: undefined overrides a tcp DOCKER_HOST that docker-modem would read from the environment.
    return { socketPath: url.pathname, host: undefined };
  }
  return { host: url.hostname, port: url.port || '2375', protocol: 'http' };
}

export function connectDocker(dockerHost: string): DockerClients {
  const options = dockerOptionsFor(dockerHost);
  return {
    control: new Docker({ ...options, timeout: CONTROL_TIMEOUT_MS }),
    streams: new Docker(options),
    host: dockerHost,
  };
}

/** The HTTP status docker-modem attaches to engine errors (404 no such image/container ...). */
export function engineStatusCode(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** True when the error is about reaching the engine at all rather than about the request. */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^(ENOENT|ECONNREFUSED|ECONNRESET|EACCES|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|ESOCKETTIMEDOUT)$/.test(code)) {
    return true;
  }
  const message = error instanceof Error ? error.message : String(error);
  return /timeout|socket hang up|connect /i.test(message) && engineStatusCode(error) === undefined;
}

export function engineErrorText(error: unknown): string {
  const reply = (error as { json?: { message?: unknown } } | undefined)?.json?.message;
  if (typeof reply === 'string' && reply.trim()) return reply.trim();
  const message = error instanceof Error ? error.message : String(error);
  // docker-modem prefixes engine replies with "(HTTP code N) ... -"; the engine's own words follow.
  return message.replace(/^\(HTTP code \d+\)\s*[\w ]*-\s*/i, '').trim();
}
