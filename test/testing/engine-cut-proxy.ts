/**
 * The real Docker Engine behind a unix socket the test controls, for "the engine is gone" without
 * stopping the machine's dockerd (other tests use it). Calls pass through untouched, streams
 * included, until the call the test names arrives: that one never reaches the engine, its
 * connection and every other one are cut, and the socket stops accepting, as a dead engine's
 * does. `restore()` brings it back on the same path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type RequestOptions } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TEST_DOCKER_HOST } from './docker.js';

export interface EngineCutProxy {
  /** DOCKER_HOST for the proxy: unix://<its socket>. */
  dockerHost: string;
  /**
   * From now on, the first call `when` picks cuts the engine off; resolves with that call
   * (`METHOD url`) once it is cut. A second arming replaces the first.
   */
  cutAt(when: (method: string, url: string) => boolean): Promise<string>;
  /** Whether the engine is cut off now. */
  readonly isCut: boolean;
  /** Accepts calls again, passing them to the engine. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

function engineTarget(): Pick<RequestOptions, 'socketPath' | 'host' | 'port'> {
  const url = new URL(TEST_DOCKER_HOST);
  if (url.protocol === 'unix:') return { socketPath: url.pathname };
  return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(url.port || 2375) };
}

export async function startEngineCutProxy(): Promise<EngineCutProxy> {
  const target = engineTarget();
  const dir = mkdtempSync(join(tmpdir(), 'acgs-engine-cut-'));
  const socketPath = join(dir, 'docker.sock');
  let armed: { when: (method: string, url: string) => boolean; cut: (call: string) => void } | undefined;
  let cut = false;

  const server = createServer((incoming, outgoing) => {
    const method = incoming.method ?? 'GET';
    const url = incoming.url ?? '/';
    if (cut) return incoming.socket.destroy();
    if (armed?.when(method, url)) {
      const { cut: announce } = armed;
      armed = undefined;
      cut = true;
      incoming.socket.destroy();
      server.closeAllConnections();
      server.close();
      announce(`${method} ${url}`);
      return;
    }
    const upstream = request({ ...target, method, path: url, headers: incoming.headers }, (answer: IncomingMessage) => {
      if (outgoing.destroyed) return answer.destroy();
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
    });
    // A call cut on our side (a stream of events or logs, one waiting for its answer) ends on the engine's side too.
    outgoing.once('close', () => upstream.destroy());
    upstream.on('error', (error) => outgoing.destroy(error));
    incoming.pipe(upstream);
  });
  const listen = () => new Promise<void>((resolve, reject) => server.once('error', reject).listen(socketPath, () => resolve()));
  await listen();

  return {
    dockerHost: `unix://${socketPath}`,
    cutAt(when) {
      return new Promise<string>((resolve) => {
        armed = { when, cut: resolve };
      });
    },
    get isCut() {
      return cut;
    },
    async restore() {
      if (!cut) return;
      // A socket file left by the closed server would refuse the new listen.
      rmSync(socketPath, { force: true });
      await listen();
      cut = false;
    },
    async close() {
      armed = undefined;
      if (!cut) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
