/**
 * Failures of the stack's services as a person on call reads them: which service, at which
 * address, what is wrong and what to try. Only failures that describe the stack's state become
 * CommandErrors; anything else (a contract drift, a bug) stays an internal error.
 */
import { ServiceCallError } from '../services/clients/http.js';
import type { ServiceName } from '../services/kit/service-ports.js';
import { CommandError } from './command.js';
import type { CommandDependencies } from './dependencies.js';

export const SERVICE_LABELS: Record<ServiceName, string> = {
  'policy-engine': 'Policy Engine',
  'audit-engine': 'Audit Engine',
  'evolution-oversight': 'Evolution Oversight',
  'sandbox-controller': 'Sandbox Controller',
};

export function restartHint(service: ServiceName): string {
  return `Run \`health\` to see what else is down. The runbook's fix: \`docker-compose restart ${service}\` (or \`npm start\` for the local stack).`;
}

const TOKEN_HINT = 'Set ACGS_ADMIN_TOKEN to the stack\'s admin token; `npm start` writes it to .acgs/admin-token.';
const SERVICE_TOKEN_HINT = 'Set ACGS_SERVICE_TOKEN to the stack\'s service token (the same value the services have); `npm start` writes it to .acgs/service-token.';

/** The CommandError for a failed call, or undefined when the failure is not about the stack's state. */
export function explainServiceFailure(service: ServiceName, services: CommandDependencies, error: unknown): CommandError | undefined {
  if (!(error instanceof ServiceCallError)) return undefined;
  const label = SERVICE_LABELS[service];
  const url = services.endpoints[service];
  if (error.code === 'UNREACHABLE') {
    const what = /timed out$/.test(error.message) ? 'did not answer in time' : 'does not answer (nothing accepts connections there)';
    return new CommandError(`The ${label} at ${url} ${what}.`, restartHint(service), 'unavailable');
  }
  // The write endpoints' token, not the admin token: say which one, so the right one gets fixed.
  if (error.code === 'SERVICE_UNAUTHORIZED') {
    return new CommandError(`The ${label} refused to write without the stack's service token: ${error.message}`, SERVICE_TOKEN_HINT, 'unavailable');
  }
  if (error.status === 401 || error.status === 403) {
    return new CommandError(`The ${label} refused the admin token: ${error.message}`, TOKEN_HINT, 'unavailable');
  }
  if (error.status === 503 || error.status === 502 || error.status === 504) {
    return new CommandError(`The ${label} cannot answer right now: ${error.message}`, restartHint(service), 'unavailable');
  }
  return undefined;
}

/** Runs one call of a service client, turning an outage into a CommandError a person can act on. */
export async function callServiceClient<T>(service: ServiceName, services: CommandDependencies, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw explainServiceFailure(service, services, error) ?? error;
  }
}
