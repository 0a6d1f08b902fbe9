/**
 * The command path for tests whose commands must not reach a service: every client points at a
 * loopback port where nothing listens, with short timeouts, so a command that reached for one
 * fails at once instead of passing or hanging.
 */
import { createCommandPathDependencies, type CommandPathDependencies, type CommandPathDependenciesOptions } from '../../bot/command-path/index.js';
import { SERVICE_NAMES, type ServiceName } from '../../services/kit/service-ports.js';
import { unusedLoopbackUrl } from './loopback.js';

/** Every service's base URL, all on one loopback port where nothing listens. */
export async function endpointsNowhere(): Promise<Record<ServiceName, string>> {
  const nowhere = await unusedLoopbackUrl();
  return Object.fromEntries(SERVICE_NAMES.map((name) => [name, nowhere])) as Record<ServiceName, string>;
}

export async function servicesNowhere(options: Omit<CommandPathDependenciesOptions, 'endpoints'> = {}): Promise<CommandPathDependencies> {
  return createCommandPathDependencies({ endpoints: await endpointsNowhere(), checkTimeoutMs: 500, callTimeoutMs: 500, ...options });
}
