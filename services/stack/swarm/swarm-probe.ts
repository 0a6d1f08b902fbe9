/**
 * Whether an engine can be the Swarm driver's: a manager of an active swarm (only managers answer
 * the services API), and how many services of the stack it has.
 */
import type Docker from 'dockerode';
import { engineErrorText, engineStatusCode } from '../../kit/docker-engine.js';
import { STACK_NAMESPACE_LABEL } from './stack-labels.js';

export type SwarmProbe = { manager: true; services: number } | { manager: false; why: string };

export async function probeSwarm(docker: Docker, stack: string): Promise<SwarmProbe> {
  const swarm = ((await docker.info()) as { Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean } }).Swarm;
  const state = swarm?.LocalNodeState || 'inactive';
  if (state !== 'active') return { manager: false, why: `its swarm state is ${state}` };
  if (!swarm?.ControlAvailable) return { manager: false, why: 'it is a worker node; only managers control services' };
  try {
    const services = await docker.listServices({ filters: { label: [`${STACK_NAMESPACE_LABEL}=${stack}`] } });
    return { manager: true, services: services.length };
  } catch (error) {
    // A manager that cannot answer for the swarm (no leader, no quorum) controls nothing now.
    if (engineStatusCode(error) === 503) return { manager: false, why: engineErrorText(error) };
    throw error;
  }
}
