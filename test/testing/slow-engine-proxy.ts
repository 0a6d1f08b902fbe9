/**
 * The real Docker Engine behind a loopback HTTP proxy that answers some calls late, as an engine
 * on the vfs storage driver does when it copies or deletes a container's filesystem: the call
 * succeeds, but nothing comes back for a while. Everything else passes through untouched,
 * streams (events, logs) included.
 */
import { createServer, request, type IncomingMessage, type RequestOptions } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TEST_DOCKER_HOST } from './docker.js';

export interface SlowEngineProxy {
  /** DOCKER_HOST for the proxy: tcp://127.0.0.1:<port>. */
  dockerHost: string;
  /** The calls that were held, as `METHOD path`. */
  held: string[];
  close(): Promise<void>;
}

export interface SlowEngineOptions {
  /** Which calls to hold, e.g. DELETE of a container. */
  slow: (method: string, path: string) => boolean;
  delayMs: number;
}

function engineTarget(): Pick<RequestOptions, 'socketPath' | 'host' | 'port'> {
  const url = new URL(TEST_DOCKER_HOST);
  if (url.protocol === 'unix:') return { socketPath: url.pathname };
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 2375) };
}

export async function startSlowEngineProxy(options: SlowEngineOptions): Promise<SlowEngineProxy> {
  const target = engineTarget();
  const held: string[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((incoming, outgoing) => {
    const path = (incoming.url ?? '').split('?')[0]!;
    const slow = options.slow(incoming.method ?? 'GET', path);
    if (slow) held.push(`${incoming.method} ${path}`);
    // The engine does the work at once; only its answer is held back.
    const upstream = request({ ...target, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer: IncomingMessage) => {
      const pass = () => {
        if (outgoing.destroyed) return answer.destroy();
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      };
      if (!slow) return pass();
      const timer = setTimeout(() => {
        timers.delete(timer);
        pass();
      }, options.delayMs);
      timers.add(timer);
    });
    upstream.on('error', (error) => outgoing.destroy(error));
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  return {
    dockerHost: `tcp://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
