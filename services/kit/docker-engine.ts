/**
 * What every part that talks to the Docker Engine shares (the Sandbox Controller, the stack's
 * Docker driver): dockerode options for a DOCKER_HOST value, and reading the engine's failures.
 */
import type Docker from 'dockerode';

/**
 * dockerode options for `unix:///path`, `tcp://host:port` or `http://host:port`. Throws a plain
 * Error for anything else; callers that take DOCKER_HOST from a person check it first.
 */
export function dockerOptionsFor(dockerHost: string): Docker.DockerOptions {
  const url = new URL(dockerHost);
  if (url.protocol === 'unix:') {
    // host: undefined stops docker-modem from reading a tcp DOCKER_HOST from the environment instead.
    return { socketPath: url.pathname, host: undefined };
  }
  if (url.protocol === 'tcp:' || url.protocol === 'http:') {
    // URL keeps the brackets of an IPv6 host; the socket layer wants the bare address.
    return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port || '2375', protocol: 'http' };
  }
  throw new Error(`DOCKER_HOST=${dockerHost}: ${url.protocol} is not supported; use unix:///path/to/docker.sock or tcp://host:port`);
}

/** The HTTP status docker-modem attaches to engine errors (404 no such image/container ...). */
export function engineStatusCode(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

export const isNotFound = (error: unknown): boolean => engineStatusCode(error) === 404;

/** True when the error is about reaching the engine at all rather than about the request. */
export function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && /^(ENOENT|ECONNREFUSED|ECONNRESET|EACCES|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|ESOCKETTIMEDOUT)$/.test(code)) {
    return true;
  }
  const message = error instanceof Error ? error.message : String(error);
  return /timeout|socket hang up|connect /i.test(message) && engineStatusCode(error) === undefined;
}

/** The engine's own words for a failure, without docker-modem's "(HTTP code N) ..." prefix. */
export function engineErrorText(error: unknown): string {
  const reply = (error as { json?: { message?: unknown } } | undefined)?.json?.message;
  if (typeof reply === 'string' && reply.trim()) return reply.trim();
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^\(HTTP code \d+\)\s*[\w ]*-\s*/i, '').trim();
}
