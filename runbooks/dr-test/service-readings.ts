/**
 * Each service's /health as the DR test's failover judges it: `healthy`, `degraded` (it answers,
 * but a dependency is missing: Evolution Oversight while the Policy Engine is stopped), `late` (no
 * answer within the deadline: a busy Sandbox Controller asking its container engine has taken
 * longer than 2 s, runbooks/README.md "The post-deploy watch") or `down` (`unhealthy`, an error
 * status, the connection refused). A degraded neighbour is what stopping a dependency means, so
 * only a neighbour that goes down (or stays late) stops the test.
 */
import { probeJson } from '../../commands/health-probes.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import type { StepPorts } from '../engine/ports.js';

export type ServiceCondition = 'healthy' | 'degraded' | 'late' | 'down';

export interface ServiceReading {
  service: ServiceName;
  condition: ServiceCondition;
  /** What the service said, or why it said nothing: `unhealthy`, `HTTP 503`, `connection refused`. */
  detail: string;
}

const PROBE_TIMEOUT_MS = 2000;

export function endpointsOf(ports: StepPorts): Readonly<Record<ServiceName, string>> {
  const endpoints = ports.commands?.endpoints;
  if (!endpoints) throw new Error('this process has no service endpoints to check (StepPorts.commands.endpoints is missing)');
  return endpoints;
}

export async function readService(ports: StepPorts, service: ServiceName, signal: AbortSignal): Promise<ServiceReading> {
  const result = await probeJson(`${endpointsOf(ports)[service]}/health`, PROBE_TIMEOUT_MS, signal);
  if (!result.ok) return { service, condition: result.latencyMs >= PROBE_TIMEOUT_MS ? 'late' : 'down', detail: result.problem };
  const status = (result.value.body as { status?: unknown } | undefined)?.status;
  if (status === 'healthy' && result.value.status < 400) return { service, condition: 'healthy', detail: 'healthy' };
  if (status === 'degraded' && result.value.status < 500) return { service, condition: 'degraded', detail: 'degraded' };
  return { service, condition: 'down', detail: typeof status === 'string' ? `${status} (HTTP ${result.value.status})` : `HTTP ${result.value.status}` };
}

export async function readServices(ports: StepPorts, signal: AbortSignal, services: readonly ServiceName[] = SERVICE_NAMES): Promise<ServiceReading[]> {
  return Promise.all(services.map((service) => readService(ports, service, signal)));
}

export const describeReadings = (readings: readonly ServiceReading[]) => readings.map((reading) => `${reading.service} ${reading.detail}`).join(', ');
