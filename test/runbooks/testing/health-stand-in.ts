/**
 * Four services' /health on one loopback server, each under its own path
 * (`<url>/<service>/health`), with the status each one reports set by the test. Only the health
 * documents the `health-check` runbook reads; nothing else answers.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SERVICE_NAMES, type ServiceName } from '../../../services/kit/service-ports.js';

export interface HealthStandIn {
  endpoints: Record<ServiceName, string>;
  /** What each service says now: healthy, degraded, unhealthy. */
  status: Record<ServiceName, string>;
  /** GET /health requests seen, by service. */
  asked: Record<ServiceName, number>;
  close(): Promise<void>;
}

export async function startHealthStandIn(): Promise<HealthStandIn> {
  const status = Object.fromEntries(SERVICE_NAMES.map((name) => [name, 'healthy'])) as Record<ServiceName, string>;
  const asked = Object.fromEntries(SERVICE_NAMES.map((name) => [name, 0])) as Record<ServiceName, number>;
  const server: Server = createServer((request, response) => {
    const match = /^\/([a-z-]+)\/health$/.exec(request.url ?? '');
    const service = match?.[1] as ServiceName | undefined;
    if (request.method !== 'GET' || !service || !(service in status)) {
      response.writeHead(404).end();
      return;
    }
    asked[service] += 1;
    const body = JSON.stringify({ status: status[service], service });
    response.writeHead(status[service] === 'healthy' ? 200 : 503, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoints: Object.fromEntries(SERVICE_NAMES.map((name) => [name, `${base}/${name}`])) as Record<ServiceName, string>,
    status,
    asked,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
